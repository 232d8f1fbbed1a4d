// tg_client against a scripted HTTP server on loopback: events are batched,
// 429/503 and refused connections are retried with back-off, other 4xx are
// final, a full queue drops the oldest, and report calls never wait for the
// network.
#include "tg_client.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

namespace tg::client {
namespace {

using namespace std::chrono_literals;

struct Received {
  std::string path, authorization, body;
};

// Answers each request with the next scripted status (then 200), records it.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::deque<int> statuses = {}, std::chrono::milliseconds delay = 0ms)
      : statuses_(std::move(statuses)), delay_(delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      serve(client);
      ::close(client);
    }
  }
  void serve(int client) {
    std::string raw;
    char buffer[8192];
    std::size_t head_end = std::string::npos, length = 0;
    while (true) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      raw.append(buffer, static_cast<std::size_t>(n));
      if (head_end == std::string::npos && (head_end = raw.find("\r\n\r\n")) != std::string::npos) {
        const auto at = raw.find("Content-Length: ");
        length = at == std::string::npos ? 0 : std::stoul(raw.substr(at + 16));
      }
      if (head_end != std::string::npos && raw.size() >= head_end + 4 + length) break;
    }
    Received r;
    r.path = raw.substr(5, raw.find(' ', 5) - 5);
    if (const auto at = raw.find("Authorization: "); at != std::string::npos)
      r.authorization = raw.substr(at + 15, raw.find("\r\n", at) - at - 15);
    r.body = raw.substr(head_end + 4, length);
    int status = 200;
    {
      std::lock_guard lock(mutex_);
      received_.push_back(r);
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
    }
    std::this_thread::sleep_for(delay_);
    const std::string body = status == 200 ? "{\"accepted\":1}" : "{\"error\":\"x\"}";
    const std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::deque<int> statuses_;
  std::chrono::milliseconds delay_;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

ClientOptions options_for(const std::string& address) {
  ClientOptions options;
  options.address = address;
  options.token = "tg_secret";
  options.backoff_initial = 5ms;
  options.backoff_max = 20ms;
  options.timeout = 2000ms;
  return options;
}

Event event(int i) {
  Event e;
  e.service = "web";
  e.kind = "OrderFailed";
  e.message = "order " + std::to_string(i) + " failed";
  return e;
}

}  // namespace

TEST_CASE("tg_client: post_json sends the bearer token and reads the answer", "[client]") {
  ScriptedServer server({403});
  const PostResult refused = post_json(server.address(), "/v1/ingest/events", "tg_x", "{}", 2s);
  CHECK(refused.status == 403);
  CHECK_FALSE(refused.retryable());
  CHECK(refused.body == "{\"error\":\"x\"}");
  const PostResult ok = post_json(server.address(), "/v1/ingest/status", "tg_x", "{\"a\":1}", 2s);
  CHECK(ok.ok());
  const auto got = server.received();
  REQUIRE(got.size() == 2);
  CHECK(got[1].path == "/v1/ingest/status");
  CHECK(got[1].authorization == "Bearer tg_x");
  CHECK(got[1].body == "{\"a\":1}");
}

TEST_CASE("tg_client: post_json to a closed port fails fast with an error, status 0", "[client]") {
  int port = 0;
  {
    ScriptedServer gone;  // bound then closed: nothing listens there now
    port = std::stoi(gone.address().substr(10));
  }
  const PostResult result = post_json("127.0.0.1:" + std::to_string(port), "/x", "", "{}", 2s);
  CHECK(result.status == 0);
  CHECK(result.retryable());
  CHECK_FALSE(result.error.empty());
}

TEST_CASE("tg_client: events are batched, status and heartbeats go one by one", "[client]") {
  // Each answer takes 200 ms, so whatever the sender took first (one event
  // or more), the rest is queued meanwhile and goes in full batches.
  ScriptedServer server({}, 200ms);
  {
    auto options = options_for(server.address());
    options.max_batch = 100;
    Client client(options);
    for (int i = 0; i < 250; ++i) client.report_event(event(i));
    client.report_status({"web/1", 0.5, 1024, 0, 1.0, "{\"k\":\"v\"}"});
    client.heartbeat("web/1");
    REQUIRE(client.flush(5s));
    const ClientStats stats = client.stats();
    CHECK(stats.sent == 252);
    CHECK(stats.dropped_queue_full == 0);
    CHECK(stats.requests <= 6);  // the first request, then 3 batches of at most 100, status, heartbeat
  }
  const auto got = server.received();
  std::size_t events = 0;
  for (const auto& r : got) {
    CHECK(r.authorization == "Bearer tg_secret");
    if (r.path == "/v1/ingest/events") {
      CHECK(r.body.rfind("{\"events\":[", 0) == 0);
      std::size_t at = 0, in_request = 0;
      while ((at = r.body.find("\"kind\":", at)) != std::string::npos) ++in_request, ++at;
      CHECK(in_request <= 100);
      events += in_request;
    }
  }
  CHECK(events == 250);
  CHECK(got.back().path == "/v1/ingest/heartbeat");
  CHECK(got.back().body == "{\"instance\":\"web/1\"}");
  CHECK(got[got.size() - 2].body == "{\"instance\":\"web/1\",\"cpu\":0.5,\"memory_bytes\":1024,\"restarts\":0,\"load\":1,"
                                    "\"detail\":{\"k\":\"v\"}}");
}

TEST_CASE("tg_client: 429 and 503 are retried with back-off, a 400 is final", "[client]") {
  ScriptedServer server({503, 429, 200, 400});
  Client client(options_for(server.address()));
  client.report_event(event(1));
  REQUIRE(client.flush(5s));
  client.report_event(event(2));
  REQUIRE(client.flush(5s));
  const ClientStats stats = client.stats();
  CHECK(stats.sent == 1);
  CHECK(stats.retries == 2);
  CHECK(stats.rejected == 1);
  CHECK(stats.requests == 4);
  CHECK(server.received().size() == 4);
}

TEST_CASE("tg_client: gives up after max_attempts when nobody answers", "[client]") {
  int port = 0;
  {
    ScriptedServer gone;
    port = std::stoi(gone.address().substr(10));
  }
  auto options = options_for("127.0.0.1:" + std::to_string(port));
  options.max_attempts = 3;
  Client client(options);
  client.heartbeat("w1");
  REQUIRE(client.flush(5s));
  const ClientStats stats = client.stats();
  CHECK(stats.failed == 1);
  CHECK(stats.requests == 3);
  CHECK(stats.retries == 2);
}

TEST_CASE("tg_client: a full queue drops the oldest, and reporting never waits for the server", "[client]") {
  ScriptedServer server({}, 500ms);  // a slow tg-control
  auto options = options_for(server.address());
  options.queue_capacity = 10;
  options.max_batch = 5;
  Client client(options);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) client.report_event(event(i));
  CHECK(std::chrono::steady_clock::now() - start < 400ms);  // less than one answer takes
  REQUIRE(client.flush(10s));
  const ClientStats stats = client.stats();
  CHECK(stats.queued == 1000);
  CHECK(stats.dropped_queue_full >= 980);
  CHECK(stats.sent + stats.dropped_queue_full == 1000);
  // The newest reports are the ones kept.
  const auto got = server.received();
  REQUIRE_FALSE(got.empty());
  CHECK(got.back().body.find("order 999 failed") != std::string::npos);
}

}  // namespace tg::client
