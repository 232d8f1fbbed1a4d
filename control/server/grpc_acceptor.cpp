#include "server/grpc_acceptor.hpp"

#include "netio/endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <grpcpp/server_context.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

namespace tg::control {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Failures that leave the connection in the backlog and would repeat at once.
bool out_of_resources(int e) { return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM; }

std::string errno_text(int e) { return std::strerror(e); }

// The peer as gRPC writes it for connections it accepts itself:
// "ipv4:127.0.0.1:54321", "ipv6:[::1]:54321" (a v4-mapped address as ipv4).
std::string peer_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return std::string("ipv4:") + text + ":" + std::to_string(ntohs(v4.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      ::inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], text, sizeof text);
      return std::string("ipv4:") + text + ":" + std::to_string(ntohs(v6.sin6_port));
    }
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    return std::string("ipv6:[") + text + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  return "unknown";
}

// gRPC names a handed-over connection "fd:N" (N: the descriptor it was
// given). Descriptor numbers are the process's, so one table serves every
// acceptor: N -> (the acceptor's dup of it, the peer). An entry is removed
// only by its own dup's hang-up, so a number reused by a newer connection
// keeps the newer entry.
struct PeerTable {
  std::mutex mutex;
  std::unordered_map<int, std::pair<int, std::string>> by_fd;
};

PeerTable& peer_table() {
  static PeerTable table;
  return table;
}

void forget_peer(int fd, int dup) {
  PeerTable& table = peer_table();
  std::lock_guard lock(table.mutex);
  const auto it = table.by_fd.find(fd);
  if (it != table.by_fd.end() && it->second.first == dup) table.by_fd.erase(it);
}

}  // namespace

std::string grpc_peer(const grpc::ServerContextBase& context) {
  std::string peer = context.peer();
  if (peer.rfind("fd:", 0) != 0) return peer;
  int fd = -1;
  try {
    fd = std::stoi(peer.substr(3));
  } catch (const std::exception&) {
    return peer;
  }
  PeerTable& table = peer_table();
  std::lock_guard lock(table.mutex);
  const auto it = table.by_fd.find(fd);
  return it == table.by_fd.end() ? peer : it->second.second;
}

std::size_t grpc_max_connections_for(std::uint64_t open_files_limit) {
  if (open_files_limit <= grpc_reserved_descriptors) return 0;
  return static_cast<std::size_t>((open_files_limit - grpc_reserved_descriptors) / grpc_descriptors_per_connection);
}

// One thread runs an epoll loop of its own over the listening socket, an
// eventfd that asks it to stop, and the dups of the connections handed to
// gRPC (registered for no event, edge-triggered: epoll reports EPOLLHUP and
// EPOLLERR always; data arriving for gRPC does not wake this thread).
// Everything below `thread` is touched by that thread only (and by stop()
// once it has joined), except the atomics.
struct GrpcAcceptor::State {
  State(GrpcAcceptorOptions o, HandOver h)
      : options(std::move(o)), hand_over(std::move(h)), acceptor(io), backoff(options.accept_backoff_initial) {}
  ~State() {
    for (const auto& [dup, fd] : dups) {
      forget_peer(fd, dup);
      ::close(dup);
    }
    if (held_fd >= 0) ::close(held_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (stop_fd >= 0) ::close(stop_fd);
  }

  GrpcAcceptorOptions options;
  HandOver hand_over;
  asio::io_context io;  // never run: the acceptor object only binds and listens
  tcp::acceptor acceptor;
  std::string where;
  int listen_fd = -1;
  int epoll_fd = -1;
  int stop_fd = -1;
  std::thread thread;
  std::once_flag stopped;

  std::unordered_map<int, int> dups;  // dup -> the descriptor handed to gRPC
  // An accepted connection whose dup could not be made (no descriptor left):
  // kept until the back-off ends rather than closed (its client would see a
  // reset). -1: none.
  int held_fd = -1;
  sockaddr_storage held_peer{};
  bool listening = false;  // EPOLLIN armed on the listening socket (off while backing off)
  std::chrono::milliseconds backoff;
  std::optional<std::chrono::steady_clock::time_point> retry_at;
  std::optional<std::chrono::steady_clock::time_point> last_error_log, last_refusal_log;
  std::uint64_t errors_not_logged = 0, refusals_not_logged = 0;

  std::atomic<std::uint64_t> connections{0}, accepted{0}, refused{0}, accept_errors{0}, accept_attempts{0};

  void run();
  void arm_listener(bool on);
  void accept_ready();
  // False when the connection could not be taken for lack of resources: it
  // is held (not dropped) and taken after the back-off.
  bool take(int fd, const sockaddr_storage& peer);
  void accept_failed(int error_number);
  void reap();
};

void GrpcAcceptor::State::arm_listener(bool on) {
  epoll_event event{};
  event.events = on ? static_cast<std::uint32_t>(EPOLLIN) : 0u;
  event.data.fd = listen_fd;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &event);
  listening = on;
}

void GrpcAcceptor::State::run() {
  epoll_event events[64];
  for (;;) {
    int timeout_ms = -1;
    if (retry_at) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*retry_at - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    const int n = ::epoll_wait(epoll_fd, events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::critical("{}: gRPC acceptor: epoll_wait: {}; no more gRPC connections are accepted",
                       options.log_prefix, errno_text(errno));
      return;
    }
    bool ready = false;
    bool hung_up = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd) return;
      if (fd == listen_fd) {
        ready = true;
        continue;
      }
      // A dup. EPOLLHUP: both directions are shut (gRPC's shutdown, or the
      // connection was reset or timed out): gRPC is done with it. EPOLLERR
      // alone (a pending socket error, the error queue) does not end a
      // connection: gRPC reads it and, when it is fatal, shuts down.
      if (!(events[i].events & EPOLLHUP)) continue;
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
      if (const auto it = dups.find(fd); it != dups.end()) {
        forget_peer(it->second, fd);
        dups.erase(it);
      }
      ::close(fd);
      hung_up = true;
    }
    if (hung_up) connections.store(dups.size(), std::memory_order_relaxed);
    if (retry_at && std::chrono::steady_clock::now() >= *retry_at) {
      retry_at.reset();
      arm_listener(true);
      ready = true;  // try at once; level-triggered EPOLLIN would report it next round anyway
    }
    if (ready && listening) accept_ready();
  }
}

void GrpcAcceptor::State::accept_ready() {
  if (held_fd >= 0) {
    const int fd = std::exchange(held_fd, -1);
    if (!take(fd, held_peer)) return;
    backoff = options.accept_backoff_initial;
  }
  // Level-triggered: what is left in the backlog is reported again; take a
  // bounded batch so hang-ups are not starved under a flood of connects.
  for (int batch = 0; batch < 64; ++batch) {
    accept_attempts.fetch_add(1, std::memory_order_relaxed);
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    const int fd =
        ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return;
      if (out_of_resources(e)) {
        accept_failed(e);
        return;
      }
      continue;  // EINTR, ECONNABORTED (the peer reset first), ...: that connection only
    }
    if (!take(fd, peer)) return;
    backoff = options.accept_backoff_initial;
  }
}

bool GrpcAcceptor::State::take(int fd, const sockaddr_storage& peer) {
  if (dups.size() >= options.max_connections) {
    ::close(fd);
    refused.fetch_add(1, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (!last_refusal_log || now - *last_refusal_log >= std::chrono::seconds(1)) {
      spdlog::warn("{}: gRPC connection on {} closed at once: {} connections are open (--grpc-max-connections); "
                   "{} more refused since the last message",
                   options.log_prefix, where, dups.size(), refusals_not_logged);
      last_refusal_log = now;
      refusals_not_logged = 0;
    } else {
      ++refusals_not_logged;
    }
    return true;
  }
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) {
    const int e = errno;  // EMFILE/ENFILE: the other descriptor a connection needs is missing
    held_fd = fd;
    held_peer = peer;
    accept_failed(e);
    return false;
  }
  epoll_event event{};
  // No event asked for: epoll reports EPOLLHUP and EPOLLERR always.
  // Edge-triggered, so an EPOLLERR that stays (ignored above) is reported
  // once, not in a loop; the shutdown wakes the entry again.
  event.events = EPOLLET;
  event.data.fd = dup;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, dup, &event) != 0) {
    const int e = errno;  // ENOMEM, ENOSPC (max_user_watches)
    ::close(dup);
    held_fd = fd;
    held_peer = peer;
    accept_failed(e == ENOSPC ? ENOMEM : e);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  dups.emplace(dup, fd);
  {
    PeerTable& table = peer_table();
    std::lock_guard lock(table.mutex);
    table.by_fd[fd] = {dup, peer_text(peer)};
  }
  connections.store(dups.size(), std::memory_order_relaxed);
  accepted.fetch_add(1, std::memory_order_relaxed);
  hand_over(fd);
  return true;
}

void GrpcAcceptor::State::accept_failed(int error_number) {
  accept_errors.fetch_add(1, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (!last_error_log || now - *last_error_log >= std::chrono::seconds(1)) {
    spdlog::warn("{}: cannot accept on {}: {}; next try in {} ms ({} more such failures since the last message)",
                 options.log_prefix, where, errno_text(error_number), backoff.count(), errors_not_logged);
    last_error_log = now;
    errors_not_logged = 0;
  } else {
    ++errors_not_logged;
  }
  arm_listener(false);
  retry_at = now + backoff;
  backoff = std::min(backoff * 2, options.accept_backoff_max);
}

GrpcAcceptor::GrpcAcceptor(const tcp::endpoint& endpoint, GrpcAcceptorOptions options, HandOver hand_over)
    : state_(std::make_shared<State>(std::move(options), std::move(hand_over))) {
  State& s = *state_;
  s.acceptor.open(endpoint.protocol());
  // SO_REUSEADDR only (a restart may bind while old connections linger in
  // TIME_WAIT); never SO_REUSEPORT, so a second process on a listening port
  // gets EADDRINUSE instead of half of the connections.
  s.acceptor.set_option(asio::socket_base::reuse_address(true));
  s.acceptor.bind(endpoint);
  s.acceptor.listen(asio::socket_base::max_listen_connections);
  s.acceptor.native_non_blocking(true);
  s.where = net::endpoint_text(s.acceptor.local_endpoint());
  s.listen_fd = s.acceptor.native_handle();
  s.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  s.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s.epoll_fd < 0 || s.stop_fd < 0)
    throw std::runtime_error("gRPC acceptor: epoll_create1/eventfd: " + errno_text(errno));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = s.stop_fd;
  if (::epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.stop_fd, &event) != 0)
    throw std::runtime_error("gRPC acceptor: epoll_ctl: " + errno_text(errno));
  event.events = 0;  // armed by start()
  event.data.fd = s.listen_fd;
  if (::epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.listen_fd, &event) != 0)
    throw std::runtime_error("gRPC acceptor: epoll_ctl: " + errno_text(errno));
}

GrpcAcceptor::~GrpcAcceptor() { stop(); }

tcp::endpoint GrpcAcceptor::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void GrpcAcceptor::start() {
  State& s = *state_;
  if (s.thread.joinable()) return;
  s.arm_listener(true);
  s.thread = std::thread([&s] { s.run(); });
}

void GrpcAcceptor::stop() {
  State& s = *state_;
  std::call_once(s.stopped, [&s] {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(s.stop_fd, &one, sizeof one);
    if (s.thread.joinable()) s.thread.join();
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    for (const auto& [dup, fd] : s.dups) {
      forget_peer(fd, dup);
      ::close(dup);
    }
    s.dups.clear();
    if (s.held_fd >= 0) ::close(std::exchange(s.held_fd, -1));
    s.connections.store(0, std::memory_order_relaxed);
  });
}

std::uint64_t GrpcAcceptor::connections() const { return state_->connections.load(std::memory_order_relaxed); }
std::uint64_t GrpcAcceptor::accepted() const { return state_->accepted.load(std::memory_order_relaxed); }
std::uint64_t GrpcAcceptor::refused() const { return state_->refused.load(std::memory_order_relaxed); }
std::uint64_t GrpcAcceptor::accept_errors() const { return state_->accept_errors.load(std::memory_order_relaxed); }
std::uint64_t GrpcAcceptor::accept_attempts() const {
  return state_->accept_attempts.load(std::memory_order_relaxed);
}

std::string GrpcAcceptor::render_metrics() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("tg_control_grpc_connections", "gauge", "gRPC connections open now (accepted and not yet closed by gRPC).",
         connections());
  metric("tg_control_grpc_max_connections", "gauge", "--grpc-max-connections in effect.",
         state_->options.max_connections);
  metric("tg_control_grpc_connections_accepted_total", "counter", "gRPC connections accepted and handed to gRPC.",
         accepted());
  metric("tg_control_grpc_connections_refused_total", "counter",
         "gRPC connections closed at once because --grpc-max-connections were open.", refused());
  metric("tg_control_grpc_accept_errors_total", "counter",
         "Accepts on the gRPC port that failed for lack of descriptors or memory (then it backs off).",
         accept_errors());
  return out;
}

}  // namespace tg::control
