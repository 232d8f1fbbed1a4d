// A scripted upstream for protocol tests: listens on 127.0.0.1:0 and runs a
// test-supplied function on each accepted connection, on that connection's
// own thread, with the raw socket. Used where the fake Backend is too polite:
// malformed responses, interim 1xx responses, 101 upgrades and tunnels.
//
// The script must not use Catch2 macros (not thread-safe); it reports through
// the atomics or strings it captures. SocketError thrown by a script ends
// that connection quietly (the peer closing is normal in these tests).
#pragma once

#include "support/tcp_socket.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tg::itest {

class RawServer {
 public:
  using Script = std::function<void(TcpSocket& connection)>;

  explicit RawServer(Script script);
  ~RawServer();  // stop()
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  std::uint16_t port() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  std::uint64_t connections() const;  // accepted so far

  // Closes the listener and every connection, joins the threads (idempotent).
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Reads from `connection` until "\r\n\r\n" has arrived; returns everything
// read (the head and any bytes after it). Throws SocketError on EOF/timeout.
std::string read_head(TcpSocket& connection, std::chrono::milliseconds timeout);

}  // namespace tg::itest
