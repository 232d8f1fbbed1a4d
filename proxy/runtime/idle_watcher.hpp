// Waits for idle keep-alive client connections without asio (docs/life-of-a-request.md,
// phase 8: an idle connection holds no parser or buffers — here, not even
// asio's per-descriptor state or a pending operation).
//
// A connection idle past its buffer grace period hands its descriptor to the
// worker's IdleWatcher: the socket is released from asio (its reactor state
// goes back to asio's pool) and registered, one-shot, in a separate epoll set
// that asio watches as a single descriptor. When the client sends its next
// request (or closes), the connection takes the descriptor back into asio.
// What an idle connection then costs in user space is the Downstream
// object alone; the epoll entry lives in the kernel.
//
// Cost: about four system calls per idle period (release, arm, assign,
// non-blocking flag), paid only by connections idle for longer than the grace
// period, never on a busy connection.
//
// The same set also watches suspended requests for their client going away
// (watch_close).
//
// Lifetime: the watcher does not own connections. A connection is registered
// only while it is alive; closing its descriptor removes it from the epoll
// set, so events are only ever reported for live connections.
#pragma once

#include "core/socket.hpp"
#include "runtime/connection.hpp"

#include <boost/asio/posix/basic_stream_descriptor.hpp>

namespace tg::proxy {

class IdleWatcher {
 public:
  explicit IdleWatcher(asio::io_context& io);
  ~IdleWatcher();
  IdleWatcher(const IdleWatcher&) = delete;
  IdleWatcher& operator=(const IdleWatcher&) = delete;

  // Starts waiting for events (worker thread, before run()).
  void start();
  // Stops: the pending wait completes as aborted.
  void close();

  // Arms a one-shot readability watch on `fd` for `connection`. `registered`
  // says whether `fd` is already in the set (from an earlier watch); it is
  // set on success. False on failure (the caller closes).
  bool watch(int fd, Connection& connection, bool& registered);
  // Arms a one-shot watch for the peer closing or resetting only (EPOLLRDHUP,
  // not readability): a suspended request's descriptor stays in asio, whose
  // epoll set this does not touch, and body bytes do not wake it.
  bool watch_close(int fd, Connection& connection, bool& registered);
  // Removes `fd` from the set (a watch that has not fired is disarmed).
  void unwatch(int fd, bool& registered);

 private:
  void wait();
  void on_ready();

  int epoll_fd_ = -1;
  asio::posix::basic_stream_descriptor<Executor> descriptor_;
  bool closed_ = false;
};

}  // namespace tg::proxy
