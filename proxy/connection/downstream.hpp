// One client (downstream) connection and the requests on it, driven as a
// callback state machine on its worker's thread (docs/life-of-a-request.md).
//
// The connection owns the I/O of phase 1 (read head), of the body kept whole
// before a try (receive_body), of locally generated answers, and phase 8
// (keep-alive, idle, linger, close). It runs phases 2-5 through the driver
// (pipeline/phases.hpp) and acts on the step it returns: respond, suspend, or
// forward — one try at a time (UpstreamTry, upstream_try.hpp), which may hand
// the connection to a Tunnel (tunnel.hpp) after a 101.
//
// Lifetime: every pending operation holds a LocalPtr to the connection; it
// dies when the last one completes after close(). While idle between requests
// it holds no RequestContext (no buffers, no parser state).
#pragma once

#include "balancing/ip_address.hpp"
#include "pipeline/exchange.hpp"
#include "pipeline/phases.hpp"
#include "pipeline/request_body.hpp"
#include "runtime/connection.hpp"
#include "core/socket.hpp"

#include <cstdint>

namespace tg::proxy {

class Worker;

class Downstream final : public Connection {
 public:
  // `peer` is the client's address as accept() returned it.
  Downstream(Worker& worker, Socket socket, const tcp::endpoint& peer);
  ~Downstream() override;
  // Connections come from a per-thread slab (runtime/slab.hpp): dense, away
  // from the churn of asio's operations.
  static void* operator new(std::size_t size);
  static void operator delete(void* p);

  // Worker::OnAccept: a new connection starts reading its first request.
  static void accept(Worker& worker, Socket socket, const tcp::endpoint& peer);

  void start();
  void drain() override;
  void abort() override { close(); }
  void on_deadline() override;
  void on_watch_event() override;

 private:
  friend class UpstreamTry;
  friend class Tunnel;

  enum class State : std::uint8_t {
    idle,           // 8. keep-alive, no buffers: the IdleWatcher waits for readability
    buffered_idle,  // 8. keep-alive, buffers kept for a short grace period
    read_head,      // 1.
    receive_body,   // a body kept whole arrives before the first try
    suspended,      // a phase waits for an event (pipeline/wait_list.hpp)
    forward,        // 6. a try is under way (UpstreamTry)
    tunnel,         // 6. after a 101 (Tunnel)
    respond,        // a locally generated response is being written
    linger,         // response sent, discarding what the client still sends
    closed,
  };

  // 1. read head
  void read_head();
  void on_head_bytes(const boost::system::error_code& ec, std::size_t n);
  void parse_head();
  // 2.-5. through the driver, and what its step says
  void begin_request();
  void run(PhaseId first);
  void act(const PhaseOutcome& outcome);
  // A body of at most limits.buffer_body is received whole before the first try.
  bool wants_body_kept_whole();
  void receive_body();
  void on_body_bytes(const boost::system::error_code& ec, std::size_t n);
  // A request body's framing refused (400) or its chunks past max_body (413).
  void refuse_body(BodyScan scan, PhaseId phase);
  // Suspension: no snapshot reference, no socket read, the client watched for closing.
  void suspend();
  static void wake(void* self);
  void resume();
  void leave_suspension();
  // After a failed try that may be retried: phase 5 again.
  void retry();
  // A locally generated answer (any phase).
  void respond(std::uint16_t status, ErrorKind kind);
  // 7. record, 8. keep-alive or close
  void finish_request();
  void next_request();
  void wait_idle();
  void drop_idle_reference();
  void close();
  void linger_close();
  void linger_read();
  void release_context();
  void set_deadline_in(std::uint64_t ms);
  PhaseInput phase_input();
  // The matched route's service (after phase 3).
  const ServiceDef& service() const { return *ctx_->exchange.service_def; }

  // Writes `buffers` fully: at once when the socket takes them, else asynchronously.
  template <typename Buffers, typename Handler>
  void write_all(Socket& socket, const Buffers& buffers, Handler&& handler);

  static constexpr std::uint64_t kLingerMs = 2000;

  Worker& worker_;
  Socket socket_;
  RequestContext* ctx_ = nullptr;
  State state_ = State::read_head;
  bool timed_out_ = false;
  bool release_on_abort_ = false;
  bool request_active_ = false;
  bool draining_ = false;
  std::uint64_t idle_since_ms_ = 0;
  // While idle the descriptor is out of asio, watched by the IdleWatcher;
  // the connection then holds a reference to itself (nothing else would).
  int idle_fd_ = -1;
  bool watch_registered_ = false;  // the descriptor is in the watcher's epoll set
  bool idle_reference_ = false;
  bool family_v6_ = false;         // the socket's address family, for assign()
  std::uint16_t peer_port_ = 0;
  balancing::IpAddress peer_;
};

}  // namespace tg::proxy
