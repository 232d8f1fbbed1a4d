// The gRPC port's listening socket, owned by tg-control rather than by
// libgrpc: tg-control binds and accepts, and hands every accepted connection
// to the gRPC server (grpc::AddInsecureChannelFromFd; the server has no
// listening port of its own). What libgrpc 1.51 cannot do itself:
//
// * a connection cap: at most max_connections connections are open at once;
//   one accepted beyond is closed at once and counted (refused());
// * an accept that survives descriptor exhaustion: when accept fails for lack
//   of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) the acceptor waits
//   accept_backoff_initial, doubling up to accept_backoff_max, and tries
//   again (counted in accept_errors(), logged at most once a second), as the
//   HTTP ports do (common/netio/http_server).
//
// Knowing when gRPC is done with a connection: the acceptor keeps a dup() of
// every descriptor it hands over, in an epoll set that listens for nothing
// but what epoll always reports (EPOLLHUP, EPOLLERR). libgrpc 1.51 shuts a
// socket down (SHUT_RDWR) before it closes it, whoever ended the connection
// (the peer closed it, max-connection-idle, keepalive, server shutdown; a
// reset or a timed-out connection is shut down by the kernel), and a socket
// shut down both ways reports EPOLLHUP on every descriptor of it; then the
// dup is closed and the connection no longer counts. The count is exact:
// one entry per dup, removed on its EPOLLHUP (tested with the real gRPC
// server: the client closing and the idle timeout bring it back to 0).
// Each connection therefore costs two descriptors.
//
// Runs on a thread and io_context of its own; never on the owner loop.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace grpc {
class ServerContextBase;
}

namespace tg::control {

struct GrpcAcceptorOptions {
  std::size_t max_connections = 2048;
  std::chrono::milliseconds accept_backoff_initial{50};
  std::chrono::milliseconds accept_backoff_max{1'000};
  std::string log_prefix = "tg-control";
};

// Descriptors the process keeps for itself besides the gRPC connections
// (database files, logs, io_contexts, gRPC's own, the HTTP port and its
// connections, the self-probe): the cap leaves this many free.
inline constexpr std::uint64_t grpc_reserved_descriptors = 256;
// Descriptors per gRPC connection: gRPC's and the acceptor's dup.
inline constexpr std::uint64_t grpc_descriptors_per_connection = 2;
inline constexpr std::size_t grpc_default_max_connections = 2048;

// The most connections an open-files limit leaves room for (0 when it leaves
// none).
std::size_t grpc_max_connections_for(std::uint64_t open_files_limit);

// The peer of a call: gRPC names a connection handed to it "fd:N"; this
// gives what gRPC gives for connections it accepts itself,
// "ipv4:127.0.0.1:54321" or "ipv6:[::1]:54321", while the connection is open
// (else gRPC's own text). Any thread.
std::string grpc_peer(const grpc::ServerContextBase& context);

class GrpcAcceptor {
 public:
  // Takes an accepted, connected, non-blocking socket; owns it from then on.
  using HandOver = std::function<void(int fd)>;

  // Binds (SO_REUSEADDR, never SO_REUSEPORT) and listens at once (throws
  // boost::system::system_error); accepts nothing before start().
  GrpcAcceptor(const boost::asio::ip::tcp::endpoint& endpoint, GrpcAcceptorOptions options, HandOver hand_over);
  ~GrpcAcceptor();
  GrpcAcceptor(const GrpcAcceptor&) = delete;
  GrpcAcceptor& operator=(const GrpcAcceptor&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts the thread that accepts and tracks connections.
  void start();
  // Stops accepting, joins the thread and closes the tracking dups (the
  // connections themselves stay gRPC's). Idempotent.
  void stop();

  // Any thread.
  std::uint64_t connections() const;    // handed over and not yet ended by gRPC
  std::uint64_t accepted() const;       // handed over in all
  std::uint64_t refused() const;        // closed at once: max_connections were open
  std::uint64_t accept_errors() const;  // accepts that failed for lack of resources
  std::uint64_t accept_attempts() const;
  // Prometheus text of the above (appended to /metrics).
  std::string render_metrics() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tg::control
