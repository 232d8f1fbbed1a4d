// The pending queue (docs/life-of-a-request.md, "Pending queue"): a request
// that finds its instance at limits.max_connections_per_instance waits, FIFO,
// at most limits.max_pending_per_instance of them, at most
// limits.pending_timeout, for a connection; else 503 overflow with fate
// pending_timeout.
//
// The upstream is a RawServer that records the order in which request heads
// arrive and how many it is answering at once; "/slow" requests are held
// until the test releases them, others are answered after a delay.
#include "proxy_test_helpers.hpp"
#include "support/config_yaml.hpp"
#include "support/raw_server.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

using namespace tg::itest;
using namespace std::chrono_literals;

namespace {

class SlowUpstream {
 public:
  explicit SlowUpstream(std::chrono::milliseconds delay)
      : delay_(delay), server_([this](TcpSocket& connection) { serve(connection); }) {}
  ~SlowUpstream() {
    release = true;
    server_.stop();
  }

  std::string address() const { return server_.address(); }
  std::uint64_t connections() const { return server_.connections(); }
  int heads() const { return heads_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

  std::atomic<bool> release{false};  // lets held "/slow" requests be answered

 private:
  void serve(TcpSocket& connection) {
    for (;;) {
      const std::string head = read_head(connection, 20s);
      const std::size_t start = head.find(' ') + 1;
      const std::string target = head.substr(start, head.find(' ', start) - start);
      const int now = ++concurrent_;
      int seen = max_concurrent_.load();
      while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
      }
      {
        std::lock_guard lock(mutex_);
        targets_.push_back(target);
      }
      ++heads_;
      if (target.rfind("/slow", 0) == 0) {
        poll_for(20s, [&] { return release.load(); });
      } else {
        std::this_thread::sleep_for(delay_);  // the backend's delay, not a wait of the test
      }
      --concurrent_;
      connection.send_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 5s);
    }
  }

  std::chrono::milliseconds delay_;
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> heads_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  RawServer server_;
};

std::string config_for(const SlowUpstream& upstream, const std::string& limits) {
  return single_service_config({upstream.address()}, {"limits: { " + limits + " }", "retry: { attempts: 1 }"});
}

ProxyOptions with_access_log() {
  ProxyOptions options;
  options.access_log = true;
  return options;
}

double waiting(const ProxyProcess& proxy) {
  return proxy.metrics().sum("tg_upstream_pending_requests", {{"service", "svc"}});
}

// Waits until `n` requests wait in the queue.
bool waiting_settles(const ProxyProcess& proxy, double n) {
  return poll_for(5s, [&] { return waiting(proxy) == n; }, 10ms);
}

HttpRequest get(std::string target) {
  HttpRequest request;
  request.target = std::move(target);
  return request;
}

// The access-log lines whose path is `path`, once there are `count` of them.
std::vector<std::string> log_lines(const ProxyProcess& proxy, const std::string& path, std::size_t count) {
  std::vector<std::string> lines;
  poll_for(5s, [&] {
    lines.clear();
    const std::string log = read_file(proxy.access_log_path());
    std::size_t from = 0;
    while (from < log.size()) {
      const std::size_t end = std::min(log.find('\n', from), log.size());
      const std::string line = log.substr(from, end - from);
      if (line.find("\"path\":\"" + path + "\"") != std::string::npos) lines.push_back(line);
      from = end + 1;
    }
    return lines.size() >= count;
  });
  return lines;
}

}  // namespace

TEST_CASE("requests beyond the connection limit wait and are served in arrival order", "[proxy][pending]") {
  SlowUpstream upstream(150ms);
  ProxyProcess proxy(config_for(upstream, "max_connections_per_instance: 2, pending_timeout: 10s"));
  constexpr int kRequests = 10;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.push_back(std::make_unique<HttpClient>(proxy.port(), 15s));
    clients.back()->send_request(get("/r" + std::to_string(i)));
    // Arrival order made certain: the first two reach the upstream, the rest
    // are seen waiting before the next is sent.
    if (i < 2) {
      REQUIRE(poll_for(5s, [&] { return upstream.heads() == i + 1; }, 5ms));
    } else {
      REQUIRE(poll_for(5s, [&] { return waiting(proxy) == i - 1 || upstream.heads() > 2; }, 5ms));
    }
  }
  for (auto& client : clients) {
    const HttpResponse response = client->read_response();
    CHECK(response.status == 200);
  }
  // Served in arrival order. Two requests go out at once on the two
  // connections (each when the one before it on its connection is answered),
  // and the upstream's two threads may record those two heads either way
  // round: each request comes at its place or next to it.
  const std::vector<std::string> targets = upstream.targets();
  REQUIRE(targets.size() == static_cast<std::size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    const auto at = std::find(targets.begin(), targets.end(), "/r" + std::to_string(i)) - targets.begin();
    INFO("/r" << i << " reached the upstream in place " << at);
    CHECK(std::abs(static_cast<int>(at) - i) <= 1);
  }
  CHECK(upstream.max_concurrent() <= 2);
  CHECK(upstream.connections() <= 2);
  CHECK(metric_settles(proxy, "tg_upstream_pending_requests", {{"service", "svc"}}, 0) == 0);
  CHECK(metric_settles(proxy, "tg_upstream_pending_waits_total", {{"service", "svc"}}, kRequests - 2) ==
        kRequests - 2);
  CHECK(metric_settles(proxy, "tg_request_fates_total", {{"fate", "ok"}}, kRequests) == kRequests);
}

TEST_CASE("waiters past pending_timeout get 503 overflow with fate pending_timeout", "[proxy][pending]") {
  SlowUpstream upstream(0ms);
  ProxyProcess proxy(config_for(upstream, "max_connections_per_instance: 1, pending_timeout: 300ms"),
                     with_access_log());
  HttpClient busy(proxy.port(), 15s);
  busy.send_request(get("/slow"));
  REQUIRE(poll_for(5s, [&] { return upstream.heads() == 1; }));

  constexpr int kWaiters = 3;
  std::vector<std::unique_ptr<HttpClient>> waiters;
  const auto start = Clock::now();
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(std::make_unique<HttpClient>(proxy.port(), 5s));
    waiters.back()->send_request(get("/w"));
  }
  for (auto& client : waiters) check_error_response(client->read_response(), 503, "overflow");
  CHECK(elapsed_ms(start) >= 250);  // they waited (the deadline wheel has a few ms of grain)
  CHECK(upstream.heads() == 1);  // none of them reached the upstream
  const auto lines = log_lines(proxy, "/w", kWaiters);
  REQUIRE(lines.size() == kWaiters);
  for (const std::string& line : lines) {
    INFO(line);
    CHECK(line.find("\"fate\":\"pending_timeout\"") != std::string::npos);
    CHECK(line.find("\"status\":503") != std::string::npos);
  }
  CHECK(metric_settles(proxy, "tg_upstream_pending_overflows_total", {{"reason", "timeout"}}, kWaiters) == kWaiters);
  CHECK(metric_settles(proxy, "tg_request_fates_total", {{"fate", "pending_timeout"}}, kWaiters) == kWaiters);
  CHECK(metric_settles(proxy, "tg_upstream_pending_requests", {{"service", "svc"}}, 0) == 0);
  upstream.release = true;
  CHECK(busy.read_response().status == 200);
}

TEST_CASE("a full pending queue answers the excess 503 overflow at once", "[proxy][pending]") {
  SlowUpstream upstream(0ms);
  ProxyProcess proxy(
      config_for(upstream, "max_connections_per_instance: 1, max_pending_per_instance: 2, pending_timeout: 10s"),
      with_access_log());
  HttpClient busy(proxy.port(), 15s);
  busy.send_request(get("/slow"));
  REQUIRE(poll_for(5s, [&] { return upstream.heads() == 1; }));
  HttpClient first(proxy.port(), 15s), second(proxy.port(), 15s);
  first.send_request(get("/w1"));
  second.send_request(get("/w2"));
  REQUIRE(waiting_settles(proxy, 2));

  // The queue is full: answered while /slow is still held, without waiting.
  HttpClient excess(proxy.port(), 5s);
  const auto start = Clock::now();
  check_error_response(excess.request(get("/excess")), 503, "overflow");
  CHECK(elapsed_ms(start) < 2000);
  CHECK(upstream.heads() == 1);
  const auto lines = log_lines(proxy, "/excess", 1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"fate\":\"pending_timeout\"") != std::string::npos);
  CHECK(metric_settles(proxy, "tg_upstream_pending_overflows_total", {{"reason", "full"}}, 1) == 1);

  // The waiters are served once the connection is free, in order.
  upstream.release = true;
  CHECK(busy.read_response().status == 200);
  CHECK(first.read_response().status == 200);
  CHECK(second.read_response().status == 200);
  CHECK(upstream.targets() == std::vector<std::string>{"/slow", "/w1", "/w2"});
  CHECK(metric_settles(proxy, "tg_upstream_pending_requests", {{"service", "svc"}}, 0) == 0);
}

TEST_CASE("a client gone while waiting frees its place in the pending queue", "[proxy][pending]") {
  SlowUpstream upstream(0ms);
  ProxyProcess proxy(
      config_for(upstream, "max_connections_per_instance: 1, max_pending_per_instance: 1, pending_timeout: 10s"),
      with_access_log());
  HttpClient busy(proxy.port(), 15s);
  busy.send_request(get("/slow"));
  REQUIRE(poll_for(5s, [&] { return upstream.heads() == 1; }));

  {
    HttpClient gone(proxy.port(), 5s);
    gone.send_request(get("/gone"));
    REQUIRE(waiting_settles(proxy, 1));
    check_error_response(HttpClient(proxy.port()).request(get("/full")), 503, "overflow");
    gone.close();
  }
  // Its place is free at once, not at its deadline.
  CHECK(waiting_settles(proxy, 0));
  HttpClient next(proxy.port(), 15s);
  next.send_request(get("/next"));
  REQUIRE(waiting_settles(proxy, 1));

  upstream.release = true;
  CHECK(busy.read_response().status == 200);
  CHECK(next.read_response().status == 200);
  CHECK(upstream.targets() == std::vector<std::string>{"/slow", "/next"});
  CHECK(metric_settles(proxy, "tg_upstream_pending_requests", {{"service", "svc"}}, 0) == 0);
  const auto lines = log_lines(proxy, "/gone", 1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"fate\":\"client_closed\"") != std::string::npos);
}
