// One client (downstream) connection and the requests on it, driven as a
// callback state machine on its worker's thread. The phases are the named
// phases of docs/life-of-a-request.md.
//
// Lifetime: every pending operation holds a LocalPtr to the session; the
// session dies when the last one completes after close(). While idle between
// requests it holds no RequestContext (no buffers, no parser state).
#pragma once

#include "core/ref_counted.hpp"
#include "core/socket.hpp"
#include "core/timer_wheel.hpp"
#include "runtime/request_context.hpp"
#include "upstream/upstream.hpp"

#include <boost/intrusive/list_hook.hpp>

#include <array>
#include <cstdint>

namespace tg::proxy {

class Worker;
struct ServiceDef;
using SessionHook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

class ClientSession final : public LocalRefCounted<ClientSession>, public DeadlineEntry, public SessionHook {
 public:
  // `peer` is the client's address as accept() returned it.
  ClientSession(Worker& worker, Socket socket, const tcp::endpoint& peer);
  ~ClientSession();
  // Sessions come from a per-thread slab (runtime/slab.hpp): dense, away
  // from the churn of asio's operations.
  static void* operator new(std::size_t size);
  static void operator delete(void* p);

  void start();
  // The worker is draining: close now if idle, else after this response.
  void drain();
  // The worker is stopping: close now, whatever is in progress.
  void abort() { close(); }
  void on_deadline() override;
  // The IdleWatcher saw the idle connection readable (a request, or a close).
  void on_idle_readable();

 private:
  enum class Phase : std::uint8_t {
    idle,               // 8. keep-alive, no buffers: waiting for readability
    buffered_idle,      // 8. keep-alive, buffers kept for a short grace period
    read_header,        // 1.
    connect,            // 6. connecting to the upstream
    send_request,       // 6. request head (+ first body bytes) to the upstream
    stream_request,     // 6. rest of the request body
    await_response,     // 6. waiting for the upstream response head
    send_response,      // 6. response head (+ first body bytes) to the client
    stream_response,    // 6. rest of the response body
    tunnel,             // 6. after a 101: bytes relayed both ways (tunnel.cpp)
    send_error,         // a locally generated response
    linger,             // response sent, discarding what the client still sends
    closed,
  };

  // 1. read header
  void read_header();
  void on_header_bytes(const boost::system::error_code& ec, std::size_t n);
  void parse_header();
  void wait_idle();
  // 2.–5. normalise and validate, match route, tenant checks, pick instance
  void handle_request();
  void pick_instance();
  // 6. forward
  void connect_upstream();
  void on_connected(const boost::system::error_code& ec);
  void send_request_head();
  void on_request_head_sent(const boost::system::error_code& ec);
  void read_request_body();
  void on_request_body_read(const boost::system::error_code& ec, std::size_t n);
  void on_request_body_sent(const boost::system::error_code& ec, std::size_t n);
  void await_response();
  void read_response_head();
  void on_response_bytes(const boost::system::error_code& ec, std::size_t n);
  void parse_response_head();
  void response_head_read_failed();
  void final_response_head();
  // Early responses while the request body streams.
  void watch_upstream();
  void on_early_response_bytes(const boost::system::error_code& ec, std::size_t n);
  void stop_request_body();
  void relay_interim_response();
  void handle_response_head();
  void on_response_head_sent(const boost::system::error_code& ec);
  void read_response_body();
  void on_response_body_read(const boost::system::error_code& ec, std::size_t n);
  void on_response_body_sent(const boost::system::error_code& ec, std::size_t n);
  // Upgrade tunnel (tunnel.cpp)
  void start_tunnel();
  void on_tunnel_head_sent(const boost::system::error_code& ec);
  void tunnel_read_client();
  void on_tunnel_client_read(const boost::system::error_code& ec, std::size_t n);
  void tunnel_read_upstream();
  void on_tunnel_upstream_read(const boost::system::error_code& ec, std::size_t n);
  void tunnel_side_done(bool client_side);
  void end_tunnel(ErrorKind error);
  void on_tunnel_deadline();
  // Failure of the current try: retried on another instance when safe, else answered.
  void try_failed(ErrorKind kind, bool nothing_sent);
  bool can_retry(ErrorKind kind, bool nothing_sent) const;
  void count_upstream_error(UpstreamError kind);
  // Accounts for the response-body bytes at data[0, size): returns how many
  // belong to this response; `send` is how many of data[0, …) to write to the
  // client (fewer when the chunked framing is removed in place).
  std::size_t take_response_body(char* data, std::size_t size, std::size_t& send);
  void end_try(bool reusable);
  // 7. record, 8. keep-alive or close
  void finish_request();
  void record();
  void next_request();

  void send_error(std::uint16_t status, ErrorKind kind);
  void close();
  void linger_close();
  void linger_read();
  void release_context();
  void drop_idle_reference();
  void set_deadline_in(std::uint64_t ms);
  const ServiceDef& service() const;

  // Writes `buffers` fully: at once when the socket takes them, else asynchronously.
  template <typename Buffers, typename Handler>
  void write_all(Socket& socket, const Buffers& buffers, Handler&& handler);

  static constexpr std::uint64_t kLingerMs = 2000;

  Worker& worker_;
  Socket socket_;
  RequestContext* ctx_ = nullptr;
  Phase phase_ = Phase::read_header;
  bool timed_out_ = false;
  bool release_on_abort_ = false;
  bool request_active_ = false;
  bool try_active_ = false;
  bool draining_ = false;
  std::uint64_t idle_since_ms_ = 0;
  // While idle the descriptor is out of asio, watched by the IdleWatcher;
  // the session then holds a reference to itself (nothing else would).
  int idle_fd_ = -1;
  bool idle_registered_ = false;  // idle_fd_ is in the watcher's epoll set
  bool idle_reference_ = false;
  bool family_v6_ = false;        // the socket's address family, for assign()
  // Peer address kept compactly; formatted per request into the context.
  std::array<std::uint8_t, 16> peer_address_{};
  std::uint16_t peer_port_ = 0;
  bool peer_v6_ = false;
};

}  // namespace tg::proxy
