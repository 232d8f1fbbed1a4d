#include "session_harness.hpp"

#include "connection/downstream.hpp"
#include "observability/access_log.hpp"

#include "../table/config_builders.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tg::proxy::session {

namespace {

using Clock = std::chrono::steady_clock;

// ---- one socket, driven by a script --------------------------------------------

// A non-blocking socket with a buffer of received, not yet consumed bytes.
// Every wait is bounded by `timeout` and gives up early when `stop` is set.
class Endpoint {
 public:
  Endpoint(int fd, std::chrono::milliseconds timeout, const std::atomic<bool>* stop)
      : fd_(fd), timeout_(timeout), stop_(stop) {}
  ~Endpoint() { close_fd(); }

  // "" when sent, else how it ended ("reset", "timeout").
  std::string send_all(std::string_view bytes) {
    const auto deadline = Clock::now() + timeout_;
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(POLLOUT, deadline)) return "timeout";
        continue;
      }
      return "reset";  // EPIPE, ECONNRESET: the other side is gone
    }
    return "";
  }

  // Reads more into the buffer: "" when bytes came, else "eof", "reset", "timeout".
  std::string fill(Clock::time_point deadline) {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        pending_.append(chunk, static_cast<std::size_t>(n));
        received_.append(chunk, static_cast<std::size_t>(n));
        return "";
      }
      if (n == 0) return "eof";
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return "reset";
      if (!wait(POLLIN, deadline)) return "timeout";
    }
  }

  // Until `delimiter` is in the buffer; consumes through it.
  std::string read_until(std::string_view delimiter, std::string* consumed = nullptr) {
    const auto deadline = Clock::now() + timeout_;
    for (;;) {
      const std::size_t at = pending_.find(delimiter);
      if (at != std::string::npos) {
        if (consumed) *consumed = pending_.substr(0, at + delimiter.size());
        pending_.erase(0, at + delimiter.size());
        return "";
      }
      std::string why = fill(deadline);
      if (!why.empty()) return why;
    }
  }

  std::string read_count(std::size_t count) {
    const auto deadline = Clock::now() + timeout_;
    while (pending_.size() < count) {
      std::string why = fill(deadline);
      if (!why.empty()) return why;
    }
    pending_.erase(0, count);
    return "";
  }

  // Reads until the other side closes: "eof" / "reset", or "timeout".
  std::string read_to_end() {
    const auto deadline = Clock::now() + timeout_;
    for (;;) {
      std::string why = fill(deadline);
      if (!why.empty()) return why;
      pending_.clear();
    }
  }

  // Until `predicate` holds ("") or bytes or a close can be read from the
  // other side ("" too: the next operation sees them), else "timeout".
  std::string wait_until(const std::function<bool()>& predicate) {
    const auto deadline = Clock::now() + timeout_;
    while (!predicate()) {
      if (!pending_.empty()) return "";
      pollfd entry{fd_, POLLIN, 0};
      if (::poll(&entry, 1, 2) > 0) return "";
      if (Clock::now() >= deadline) return "timeout";
    }
    return "";
  }
  void half_close() { ::shutdown(fd_, SHUT_WR); }
  void reset() {
    if (fd_ < 0) return;
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close_fd();
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::string& pending() { return pending_; }
  const std::string& received() const { return received_; }
  Clock::time_point deadline() const { return Clock::now() + timeout_; }

 private:
  bool wait(short events, Clock::time_point deadline) {
    for (;;) {
      if (stop_ && stop_->load()) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd entry{fd_, events, 0};
      const int r = ::poll(&entry, 1, static_cast<int>(std::min<long>(left, stop_ ? 20 : left)));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  int fd_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* stop_;
  std::string pending_;
  std::string received_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct ParsedHead {
  int status = 0;
  long long content_length = -1;
  bool chunked = false;
  bool close = false;
};

ParsedHead parse_head(const std::string& head) {
  ParsedHead out;
  // "HTTP/1.1 200 OK"
  if (head.size() > 12 && head.compare(0, 5, "HTTP/") == 0) out.status = std::atoi(head.c_str() + 9);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = lower(line.substr(0, colon));
    std::string value = lower(line.substr(colon + 1));
    value.erase(0, value.find_first_not_of(' '));
    if (name == "content-length") out.content_length = std::atoll(value.c_str());
    if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) out.chunked = true;
    if (name == "connection" && value.find("close") != std::string::npos) out.close = true;
  }
  return out;
}

// Client: one response. Records its status as soon as its head is read.
std::string read_one_response(Endpoint& e, Transcript& t, bool& connection_close) {
  std::string head;
  std::string why = e.read_until("\r\n\r\n", &head);
  if (!why.empty()) return why;
  const ParsedHead h = parse_head(head);
  t.statuses.push_back(h.status);
  if (h.status < 200 || h.status == 204 || h.status == 304) return "";
  connection_close = h.close;
  if (h.chunked) return e.read_until("0\r\n\r\n");
  if (h.content_length >= 0) return e.read_count(static_cast<std::size_t>(h.content_length));
  std::string end = e.read_to_end();  // until close
  return end == "eof" ? "" : end;
}

// Runs `script` on `e`; `client` selects the client's reading of responses.
void run_script(Endpoint& e, const Script& script, FailAt fail, Transcript& t, bool client,
                std::atomic<int>* requests, std::atomic<int>* ops_done) {
  for (std::size_t i = 0; i < script.size(); ++i) {
    const Op& op = script[i];
    if (i == fail.op) {
      // A read fails once what it wanted has arrived, and an `until` once it
      // has waited: the proxy has then done everything up to this point, so
      // the outcome does not depend on thread timing. A send or a stall fails
      // at once. (A request head read so far counts as seen.)
      std::string ignored;
      bool unused = false;
      switch (op.kind) {
        case Op::Kind::read_until: (void)e.read_until(op.bytes); break;
        case Op::Kind::read_count: (void)e.read_count(op.count); break;
        case Op::Kind::read_head:
          if (e.read_until("\r\n\r\n").empty()) {
            ++t.requests;
            if (requests) ++*requests;
          }
          break;
        case Op::Kind::read_response: (void)read_one_response(e, t, unused); break;
        case Op::Kind::until: (void)e.wait_until(op.predicate); break;
        default: break;
      }
      if (fail.fault == Fault::reset) {
        e.reset();
      } else {
        e.close_fd();
      }
      t.end = "fault";
      return;
    }
    std::string why;
    bool connection_close = false;
    switch (op.kind) {
      case Op::Kind::send:
        why = e.send_all(op.bytes);
        break;
      case Op::Kind::read_until:
        why = e.read_until(op.bytes);
        break;
      case Op::Kind::read_count:
        why = e.read_count(op.count);
        break;
      case Op::Kind::read_head:
        why = e.read_until("\r\n\r\n");
        if (why.empty()) {
          ++t.requests;
          if (requests) ++*requests;
        }
        break;
      case Op::Kind::read_response:
        why = read_one_response(e, t, connection_close);
        break;
      case Op::Kind::stall:
        why = e.read_to_end();
        if (why == "eof" || why == "reset") {
          // What the stall waited for: the other side gave up.
          ++t.ops_done;
          t.end = why;
          return;
        }
        break;
      case Op::Kind::half_close:
        e.half_close();
        break;
      case Op::Kind::reset:
        e.reset();
        break;
      case Op::Kind::close:
        e.close_fd();
        break;
      case Op::Kind::until:
        why = e.wait_until(op.predicate);
        break;
    }
    if (!why.empty()) {
      t.end = why;
      return;
    }
    ++t.ops_done;
    if (ops_done) ++*ops_done;
    if (client && connection_close) {
      // The proxy said it closes: a client stops here.
      t.end = "connection_close";
      e.close_fd();
      return;
    }
  }
  t.end = "done";
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::string field(const std::string& line, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\":\"";
  const auto at = line.find(key);
  if (at == std::string::npos) return "?";
  const auto start = at + key.size();
  return line.substr(start, line.find('"', start) - start);
}

}  // namespace

// ---- scripts -------------------------------------------------------------------

Op send(std::string bytes) { return {Op::Kind::send, std::move(bytes), 0, {}}; }
Op read_until(std::string delimiter) { return {Op::Kind::read_until, std::move(delimiter), 0, {}}; }
Op read_count(std::size_t count) { return {Op::Kind::read_count, {}, count, {}}; }
Op read_head() { return {Op::Kind::read_head, {}, 0, {}}; }
Op read_response() { return {Op::Kind::read_response, {}, 0, {}}; }
Op stall() { return {Op::Kind::stall, {}, 0, {}}; }
Op half_close() { return {Op::Kind::half_close, {}, 0, {}}; }
Op reset() { return {Op::Kind::reset, {}, 0, {}}; }
Op close() { return {Op::Kind::close, {}, 0, {}}; }
Op until(std::function<bool()> predicate) { return {Op::Kind::until, {}, 0, std::move(predicate)}; }

std::string Op::describe() const {
  switch (kind) {
    case Kind::send: return "send " + std::to_string(bytes.size()) + " bytes";
    case Kind::read_until: return "read until a delimiter";
    case Kind::read_count: return "read " + std::to_string(count) + " bytes";
    case Kind::read_head: return "read a request head";
    case Kind::read_response: return "read a response";
    case Kind::stall: return "stall";
    case Kind::half_close: return "half-close";
    case Kind::reset: return "reset";
    case Kind::close: return "close";
    case Kind::until: return "wait for the other peer";
  }
  return "?";
}

std::string_view to_string(Fault fault) { return fault == Fault::reset ? "reset" : "close"; }

std::string Transcript::summary() const {
  std::string out;
  for (int s : statuses) out += std::to_string(s) + " ";
  return out + end;
}

Transcript run_client(std::uint16_t port, const Script& script, FailAt fail, std::chrono::milliseconds io_timeout) {
  Transcript t;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  const sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to the worker failed");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  Endpoint e(fd, io_timeout, nullptr);
  run_script(e, script, fail, t, true, nullptr, nullptr);
  t.received = e.received();
  return t;
}

// ---- the upstream peer ------------------------------------------------------------

UpstreamPeer::UpstreamPeer(std::vector<Script> scripts, FailAt fail, std::size_t fail_connection)
    : scripts_(std::move(scripts)), fail_(fail), fail_connection_(fail_connection) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a = loopback(0);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("upstream peer: cannot listen");
  socklen_t length = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &length);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

UpstreamPeer::~UpstreamPeer() {
  stop_ = true;
  acceptor_.join();
  for (auto& t : threads_) t.join();
  ::close(listen_fd_);
}

void UpstreamPeer::accept_loop() {
  std::size_t index = 0;
  while (!stop_) {
    pollfd entry{listen_fd_, POLLIN, 0};
    if (::poll(&entry, 1, 20) <= 0) continue;
    accepting_ = true;  // until running_ counts the connection
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      accepting_ = false;
      continue;
    }
    ++accepted_;
    ++running_;
    accepting_ = false;
    std::lock_guard lock(mutex_);
    transcripts_.emplace_back();
    threads_.emplace_back([this, fd, i = index++] { serve(fd, i); });
  }
}

void UpstreamPeer::serve(int fd, std::size_t index) {
  Transcript t;
  {
    Endpoint e(fd, 3s, &stop_);
    const Script& script = scripts_[std::min(index, scripts_.size() - 1)];
    run_script(e, script, index == fail_connection_ ? fail_ : FailAt{}, t, false, &requests_, &ops_done_);
    t.received = e.received();
  }
  {
    std::lock_guard lock(mutex_);
    transcripts_[index] = std::move(t);
  }
  --running_;
}

bool UpstreamPeer::wait_running_at_most(int n, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const auto queued = [this] {
    pollfd entry{listen_fd_, POLLIN, 0};
    return ::poll(&entry, 1, 0) > 0;
  };
  // In this order: a connection leaves the queue only after accepting_ is set.
  while (queued() || accepting_.load() || running_.load() > n) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::vector<Transcript> UpstreamPeer::transcripts() {
  std::lock_guard lock(mutex_);
  return transcripts_;
}

// ---- the worker ----------------------------------------------------------------------

std::string LogLine::summary() const {
  return std::to_string(status) + "/" + (error.empty() ? "-" : error) + "/" + (phase.empty() ? "-" : phase);
}

config::Config one_service(const std::vector<std::uint16_t>& ports, Timeouts timeouts, std::uint64_t buffer_body,
                           std::uint64_t max_body) {
  std::vector<test::InstanceSpec> specs;
  for (std::size_t i = 0; i < ports.size(); ++i)
    specs.push_back({std::string(1, static_cast<char>('a' + i)), 1, "127.0.0.1", ports[i]});
  config::Config config;
  config::Service service = test::make_service("web", config::LbPolicy::round_robin, specs);
  service.timeouts.connect = timeouts.connect;
  service.timeouts.response_headers = timeouts.response_headers;
  service.timeouts.idle = timeouts.idle;
  service.limits.buffer_body = buffer_body;
  service.limits.max_body = max_body;
  config.services.push_back(std::move(service));
  config.routes.push_back(test::make_route("main", "web", "/"));
  return config;
}

std::shared_ptr<const Snapshot> snapshot_of(const config::Config& config, std::uint64_t version) {
  std::string error;
  auto s = Snapshot::build(config, version, "", error);
  if (!s) throw std::runtime_error("snapshot: " + error);
  return s;
}

ProxySettings WorkerUnderTest::small_settings() {
  ProxySettings s;
  s.header_timeout = 500ms;
  s.keepalive_timeout = 2000ms;
  s.buffer_grace = 20ms;
  s.body_buffer_bytes = 16 * 1024;
  return s;
}

WorkerUnderTest::WorkerUnderTest(const config::Config& config, ProxySettings settings)
    : settings_(std::move(settings)) {
  char path[] = "/tmp/tg-session-log-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  log_path_ = path;
  writer_ = std::make_unique<AccessLogWriter>(log_path_);
  worker_ = std::make_unique<Worker>(0, settings_, writer_.get(), &Downstream::accept);
  worker_->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = worker_->local_endpoint().port();
  worker_->start(snapshot_of(config, 1));
}

WorkerUnderTest::~WorkerUnderTest() {
  worker_->post([this] { worker_->stop(); });
  worker_->join();
  worker_.reset();
  writer_.reset();
  ::unlink(log_path_.c_str());
}

WorkerStatsCopy WorkerUnderTest::collect() {
  return on_worker([this] { return worker_->collect(); });
}

std::vector<LogLine> WorkerUnderTest::log() {
  on_worker([this] {
    if (auto* log = worker_->access_log()) log->flush();
    return 0;
  });
  writer_->flush();
  std::ifstream in(log_path_);
  std::vector<LogLine> lines;
  std::string line;
  while (std::getline(in, line)) {
    LogLine l;
    const auto at = line.find("\"status\":");
    l.status = at == std::string::npos ? -1 : std::atoi(line.c_str() + at + 9);
    l.error = field(line, "error");
    l.phase = field(line, "phase");
    lines.push_back(std::move(l));
  }
  return lines;
}

std::string WorkerUnderTest::log_summary() {
  std::string out;
  for (const LogLine& l : log()) {
    if (!out.empty()) out += ' ';
    out += l.summary();
  }
  return out.empty() ? "none" : out;
}

bool WorkerUnderTest::settled(std::uint64_t accepted, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const WorkerStatsCopy c = collect();
    bool quiet = c.stats.connections_accepted >= accepted && c.stats.downstream_connections == 0 && c.stats.tunnels_active == 0 && c.stats.suspended == 0 &&
                 c.stats.idle_connections == 0;
    std::uint64_t parked = 0;
    for (const auto& i : c.instances) {
      quiet = quiet && i.open_connections == i.idle_connections && i.in_flight == 0;
      parked += i.idle_connections;
    }
    quiet = quiet && c.stats.upstream_connections == parked;
    if (quiet) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

std::uint64_t WorkerUnderTest::parked() {
  std::uint64_t n = 0;
  for (const auto& i : collect().instances) n += i.idle_connections;
  return n;
}

// ---- canonical messages -----------------------------------------------------------------

std::string response(int status, std::string_view body, std::string_view extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

std::string chunked_response(int status, const std::vector<std::string>& chunks) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[32];
  for (const std::string& c : chunks) {
    std::snprintf(size, sizeof size, "%zx\r\n", c.size());
    out += size + c + "\r\n";
  }
  return out + "0\r\n\r\n";
}

}  // namespace tg::proxy::session
