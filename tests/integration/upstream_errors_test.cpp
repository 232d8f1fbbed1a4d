// Upstream failures and timeouts (docs/life-of-a-request.md, Deadlines and Retries): each maps to its
// status and error kind, and to tg_upstream_errors_total{kind}.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/body_pattern.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"
#include "support/tcp_socket.hpp"

#include <atomic>

using namespace tg::itest;

namespace {

// No retries, so each request is exactly one try and one upstream error.
std::string config_for(const std::string& address, const std::string& timeouts = "") {
  std::vector<std::string> settings{"retry: { attempts: 1 }"};
  if (!timeouts.empty()) settings.push_back("timeouts: { " + timeouts + " }");
  return single_service_config({address}, settings);
}

}  // namespace

TEST_CASE("an instance that refuses connections gives 502 connect_failure", "[proxy][upstream]") {
  ClosedPort closed;
  ProxyProcess proxy(config_for(closed.address(), "connect: 1s"));
  HttpClient client(proxy.port());
  const auto start = Clock::now();
  check_error_response(client.get("/x"), 502, "connect_failure");
  CHECK(elapsed_ms(start) < 1000);  // refused at once, not a connect timeout
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {{"service", "svc"}, {"kind", "connect_failure"}}, 1) ==
        1);
  // The client connection survives a gateway error.
  check_error_response(client.get("/y"), 502, "connect_failure");
}

TEST_CASE("a backend that never answers gives 504 timeout after response_headers", "[proxy][upstream][timeouts]") {
  Backend backend("silent", Behaviour::of(BackendMode::never_answer));
  ProxyProcess proxy(config_for(backend.address(), "response_headers: 300ms"));
  HttpClient client(proxy.port());
  const auto start = Clock::now();
  const HttpResponse response = client.get("/x");
  const double elapsed = elapsed_ms(start);
  check_error_response(response, 504, "timeout");
  CHECK(elapsed >= 280);
  CHECK(elapsed < 2000);
  CHECK(backend.requests() == 1);
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {{"service", "svc"}, {"kind", "timeout"}}, 1) == 1);
  // The proxy gave up on that upstream connection.
  CHECK(poll_for(2s, [&] { return backend.active_connections() == 0; }));
}

TEST_CASE("a stalled response body is cut after the idle timeout", "[proxy][upstream][timeouts]") {
  Behaviour stall = Behaviour::of(BackendMode::stall_body);
  stall.size = 100'000;
  stall.stall_after = 1000;
  Backend backend("staller", stall);
  ProxyProcess proxy(config_for(backend.address(), "idle: 300ms"));
  HttpClient client(proxy.port(), 5s);

  const auto start = Clock::now();
  ReadOptions options;
  options.allow_truncated = true;
  HttpRequest request;
  request.target = "/stall";
  const HttpResponse response = client.request(request, options);
  const double elapsed = elapsed_ms(start);
  INFO(response.describe());
  // The head was already sent: the only way to tell the client is to close.
  CHECK(response.status == 200);
  CHECK_FALSE(response.complete);
  CHECK(response.truncation != "timeout");  // closed by the proxy, not by our 5 s
  CHECK(response.body_size == 1000);
  CHECK(elapsed >= 280);
  CHECK(elapsed < 3000);
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {{"service", "svc"}, {"kind", "timeout"}}, 1) == 1);
}

TEST_CASE("a long response body that keeps moving is not cut by the idle timeout",
          "[proxy][upstream][timeouts]") {
  // idle is "no byte either way" and there is no total timeout (docs/life-of-a-request.md, Deadlines):
  // ten 100-byte chunks 100 ms apart take a second, over three idle periods.
  Behaviour trickle = Behaviour::of(BackendMode::large);
  trickle.size = 1000;
  trickle.chunked = true;
  trickle.block_size = 100;
  trickle.block_interval = 100ms;
  Backend backend("trickler", trickle);
  ProxyProcess proxy(config_for(backend.address(), "idle: 300ms, response_headers: 2s"));
  HttpClient client(proxy.port());
  const auto start = Clock::now();
  const HttpResponse response = client.get("/x");
  CHECK(response.status == 200);
  CHECK(response.complete);
  CHECK(response.body == pattern_string(0, 1000));
  CHECK(elapsed_ms(start) >= 900);
}

TEST_CASE("a backend reset gives 502 upstream_reset", "[proxy][upstream]") {
  Backend backend("resetter", Behaviour::of(BackendMode::reset));
  ProxyProcess proxy(config_for(backend.address()));
  HttpClient client(proxy.port());
  check_error_response(client.get("/x"), 502, "upstream_reset");
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {{"service", "svc"}, {"kind", "reset"}}, 1) == 1);
}

TEST_CASE("a backend closing without an answer gives 502 upstream_reset", "[proxy][upstream]") {
  Backend backend("closer", Behaviour::of(BackendMode::close_without_answer));
  ProxyProcess proxy(config_for(backend.address()));
  HttpClient client(proxy.port());
  check_error_response(client.get("/x"), 502, "upstream_reset");
}

TEST_CASE("a backend answering garbage gives 502 bad_upstream_response", "[proxy][upstream]") {
  Backend backend("garbler", Behaviour::of(BackendMode::garbage));
  ProxyProcess proxy(config_for(backend.address()));
  HttpClient client(proxy.port());
  check_error_response(client.get("/x"), 502, "bad_upstream_response");
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {{"service", "svc"}, {"kind", "protocol"}}, 1) == 1);
}

TEST_CASE("a service with no instances gives 503 no_instance", "[proxy][upstream]") {
  ProxyProcess proxy(single_service_config({}));
  HttpClient client(proxy.port());
  check_error_response(client.get("/x"), 503, "no_instance");
  check_error_response(client.get("/y"), 503, "no_instance");
}

TEST_CASE("retries: a connect failure moves to another instance", "[proxy][upstream][retry]") {
  // A try that never reached the upstream may be retried whatever the method
  // (retry rule (a), docs/life-of-a-request.md).
  ClosedPort closed;
  Backend good("good");
  ProxyProcess proxy(single_service_config({closed.address(), good.address()},
                                           {"retry: { attempts: 2, on: [connect_failure] }"}));
  HttpClient client(proxy.port());
  for (int i = 0; i < 6; ++i) {
    const HttpResponse response = client.post("/p", "body");
    REQUIRE(response.status == 200);
    CHECK(response.header("x-backend-name") == "good");
    CHECK(parse_echo(response).body == "body");
  }
  CHECK(good.requests() == 6);
}

TEST_CASE("a full instance with no pending slots gives 503 overflow", "[proxy][upstream][limits]") {
  // max_pending_per_instance 0 = fail at once with 503 overflow when every
  // allowed connection to the instance is busy (docs/configuration.md).
  // The slow request is held at the upstream until the test releases it, so
  // the 503 provably came while the only connection was busy, and the
  // upstream's counts show the second request never reached it.
  std::atomic<bool> release{false};
  std::atomic<int> heads{0};
  RawServer upstream([&](TcpSocket& connection) {
    for (;;) {
      const std::string head = read_head(connection, 10s);  // GETs: the head is the request
      ++heads;
      if (head.rfind("GET /slow ", 0) == 0) poll_for(10s, [&] { return release.load(); });
      connection.send_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 5s);
    }
  });
  ProxyProcess proxy(single_service_config(
      {upstream.address()},
      {"limits: { max_connections_per_instance: 1, max_pending_per_instance: 0 }", "retry: { attempts: 1 }"}));

  HttpClient busy(proxy.port());
  HttpRequest slow;
  slow.target = "/slow";
  busy.send_request(slow);
  REQUIRE(poll_for(2s, [&] { return heads.load() == 1; }));

  HttpClient second(proxy.port());
  check_error_response(second.get("/fast"), 503, "overflow");  // /slow is still held
  CHECK(upstream.connections() == 1);  // no second connection was opened
  CHECK(heads.load() == 1);            // and /fast was not sent anywhere
  release = true;
  CHECK(busy.read_response().status == 200);
  // With the connection free again, requests pass.
  CHECK(second.get("/fast").status == 200);
}
