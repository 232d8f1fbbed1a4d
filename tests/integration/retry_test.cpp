// The retry rule (docs/life-of-a-request.md, Retries), through the real proxy:
// what is replayed after a failed try, where, and how many times. Each case
// counts the requests the backends saw, so a proxy that retries once too
// often, or replays what it must not, fails here.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"
#include "support/tcp_socket.hpp"

#include <atomic>

using namespace tg::itest;

namespace {

std::uint64_t total_requests(const std::vector<const Backend*>& backends) {
  std::uint64_t n = 0;
  for (const Backend* b : backends) n += b->requests();
  return n;
}

}  // namespace

TEST_CASE("a POST whose body was kept whole is not replayed after a reset", "[proxy][retry]") {
  // Rule (b) needs an idempotent method: bytes of the POST reached the
  // upstream, so its 502 is the answer. Both instances reset, so whichever
  // is picked first, a replay would show as a second upstream request.
  Backend a("a", Behaviour::of(BackendMode::reset));
  Backend b("b", Behaviour::of(BackendMode::reset));
  ProxyProcess proxy(single_service_config(
      {a.address(), b.address()}, {"retry: { attempts: 3, on: [reset] }", "limits: { buffer_body: 1KiB }"}));
  HttpClient client(proxy.port());
  check_error_response(client.post("/p", "hello"), 502, "upstream_reset");
  CHECK(poll_for(2s, [&] { return total_requests({&a, &b}) >= 1; }));
  CHECK(total_requests({&a, &b}) == 1);
  CHECK(metric_settles(proxy, "tg_request_bodies_kept_whole_total", {}, 1) == 1);
}

TEST_CASE("a POST whose body streamed is not replayed after a reset", "[proxy][retry]") {
  Backend a("a", Behaviour::of(BackendMode::reset));
  Backend b("b", Behaviour::of(BackendMode::reset));
  ProxyProcess proxy(single_service_config(
      {a.address(), b.address()}, {"retry: { attempts: 3, on: [reset] }", "limits: { buffer_body: 0 }"}));
  HttpClient client(proxy.port());
  client.send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab");
  // The head reaches an upstream before the rest of the body is sent.
  REQUIRE(poll_for(5s, [&] { return total_requests({&a, &b}) == 1; }));
  client.send("cde");
  check_error_response(client.read_response(), 502, "upstream_reset");
  CHECK(total_requests({&a, &b}) == 1);
}

TEST_CASE("a PUT whose body streamed is not replayed after a reset", "[proxy][retry]") {
  // Idempotent, but the body is no longer whole in the proxy: rule (b) fails.
  Backend a("a", Behaviour::of(BackendMode::reset));
  Backend b("b", Behaviour::of(BackendMode::reset));
  ProxyProcess proxy(single_service_config(
      {a.address(), b.address()}, {"retry: { attempts: 3, on: [reset] }", "limits: { buffer_body: 0 }"}));
  HttpClient client(proxy.port());
  client.send("PUT /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab");
  REQUIRE(poll_for(5s, [&] { return total_requests({&a, &b}) == 1; }));
  client.send("cde");
  check_error_response(client.read_response(), 502, "upstream_reset");
  CHECK(total_requests({&a, &b}) == 1);
}

TEST_CASE("an idempotent request moves on to another instance after a failed try", "[proxy][retry]") {
  // Round robin over a failing and a good instance: every second request
  // starts on the failing one, and each must end at the good one.
  Backend good("good");
  SECTION("reset") {
    Backend bad("bad", Behaviour::of(BackendMode::reset));
    ProxyProcess proxy(single_service_config({bad.address(), good.address()},
                                             {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [reset] }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < 4; ++i) {
      const HttpResponse response = client.get("/g" + std::to_string(i));
      INFO(response.describe());
      REQUIRE(response.status == 200);
      CHECK(response.header("x-backend-name") == "good");
    }
    CHECK(bad.requests() == 2);
    CHECK(good.requests() == 4);
  }
  SECTION("reset, a PUT whose body was kept whole") {
    Backend bad("bad", Behaviour::of(BackendMode::reset));
    ProxyProcess proxy(single_service_config({bad.address(), good.address()},
                                             {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [reset] }",
                                              "limits: { buffer_body: 1KiB }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < 4; ++i) {
      HttpRequest put;
      put.method = "PUT";
      put.target = "/u" + std::to_string(i);
      put.body = "body-" + std::to_string(i);
      const HttpResponse response = client.request(put);
      INFO(response.describe());
      REQUIRE(response.status == 200);
      CHECK(parse_echo(response).body == put.body);
    }
    CHECK(bad.requests() == 2);
    CHECK(good.requests() == 4);
  }
  SECTION("timeout") {
    Backend bad("bad", Behaviour::of(BackendMode::never_answer));
    ProxyProcess proxy(single_service_config(
        {bad.address(), good.address()},
        {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [timeout] }", "timeouts: { response_headers: 300ms }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < 4; ++i) {
      const HttpResponse response = client.get("/t" + std::to_string(i));
      INFO(response.describe());
      REQUIRE(response.status == 200);
      CHECK(response.header("x-backend-name") == "good");
    }
    CHECK(bad.requests() == 2);
  }
  SECTION("a 503 answer, with 503 in retry.on") {
    Backend bad("bad", Behaviour::fixed(503, "busy"));
    ProxyProcess proxy(single_service_config({bad.address(), good.address()},
                                             {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [\"503\"] }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < 4; ++i) {
      const HttpResponse response = client.get("/s" + std::to_string(i));
      INFO(response.describe());
      REQUIRE(response.status == 200);
      CHECK(response.header("x-backend-name") == "good");
    }
    CHECK(bad.requests() == 2);
  }
  SECTION("a 502 answer, with 502 in retry.on") {
    Backend bad("bad", Behaviour::fixed(502, "broken"));
    ProxyProcess proxy(single_service_config({bad.address(), good.address()},
                                             {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [\"502\"] }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < 4; ++i) {
      const HttpResponse response = client.get("/s" + std::to_string(i));
      INFO(response.describe());
      REQUIRE(response.status == 200);
      CHECK(response.header("x-backend-name") == "good");
    }
    CHECK(bad.requests() == 2);
  }
}

TEST_CASE("a 503 answer is relayed when 503 is not in retry.on", "[proxy][retry]") {
  Backend bad("bad", Behaviour::fixed(503, "busy"));
  Backend good("good");
  ProxyProcess proxy(single_service_config({bad.address(), good.address()},
                                           {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [reset] }"}));
  HttpClient client(proxy.port());
  int relayed = 0;
  for (int i = 0; i < 4; ++i) {
    const HttpResponse response = client.get("/s" + std::to_string(i));
    if (response.status == 503 && response.body == "busy") ++relayed;
  }
  CHECK(relayed == 2);
  CHECK(good.requests() == 2);
}

TEST_CASE("retry.attempts counts every try, with untried instances left", "[proxy][retry]") {
  Backend a("a", Behaviour::of(BackendMode::reset));
  Backend b("b", Behaviour::of(BackendMode::reset));
  Backend c("c", Behaviour::of(BackendMode::reset));
  Backend d("d", Behaviour::of(BackendMode::reset));
  SECTION("attempts 2") {
    ProxyProcess proxy(single_service_config({a.address(), b.address(), c.address(), d.address()},
                                             {"retry: { attempts: 2, on: [reset] }"}));
    HttpClient client(proxy.port());
    check_error_response(client.get("/x"), 502, "upstream_reset");
    CHECK(total_requests({&a, &b, &c, &d}) == 2);
  }
  SECTION("attempts 3") {
    ProxyProcess proxy(single_service_config({a.address(), b.address(), c.address(), d.address()},
                                             {"retry: { attempts: 3, on: [reset] }"}));
    HttpClient client(proxy.port());
    check_error_response(client.get("/x"), 502, "upstream_reset");
    CHECK(total_requests({&a, &b, &c, &d}) == 3);
  }
  SECTION("attempts 1") {
    ProxyProcess proxy(single_service_config({a.address(), b.address(), c.address(), d.address()},
                                             {"retry: { attempts: 1, on: [reset] }"}));
    HttpClient client(proxy.port());
    check_error_response(client.get("/x"), 502, "upstream_reset");
    CHECK(total_requests({&a, &b, &c, &d}) == 1);
  }
}

TEST_CASE("each retry goes to an instance the request has not tried", "[proxy][retry]") {
  Backend a("a", Behaviour::of(BackendMode::reset));
  Backend b("b", Behaviour::of(BackendMode::reset));
  Backend c("c", Behaviour::of(BackendMode::reset));
  ProxyProcess proxy(single_service_config({a.address(), b.address(), c.address()},
                                           {"lb: { policy: least_request }", "retry: { attempts: 3, on: [reset] }"}));
  HttpClient client(proxy.port());
  check_error_response(client.get("/x"), 502, "upstream_reset");
  CHECK(a.requests() == 1);
  CHECK(b.requests() == 1);
  CHECK(c.requests() == 1);
}

namespace {

// An upstream that answers the first request on each connection and, on the
// second, reads it and closes without a byte: to the proxy, a pooled
// connection that turned out closed after its request was written.
struct StaleSecondRequest {
  std::atomic<int> heads{0};
  RawServer server{[this](TcpSocket& connection) {
    read_head(connection, 10s);
    ++heads;
    connection.send_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 5s);
    read_head(connection, 10s);
    ++heads;
    connection.close();
  }};
};

}  // namespace

TEST_CASE("a stale pooled connection never replays a non-idempotent request", "[proxy][retry][keepalive]") {
  StaleSecondRequest upstream;
  ProxyProcess proxy(single_service_config({upstream.server.address()},
                                           {"retry: { attempts: 2, on: [reset] }", "limits: { buffer_body: 1KiB }"}));
  HttpClient client(proxy.port());
  REQUIRE(client.post("/first", "one").status == 200);
  // The second POST goes out on the pooled connection, which the upstream
  // closes after reading it: it may have acted on it, so no replay.
  check_error_response(client.post("/second", "two"), 502, "upstream_reset");
  CHECK(upstream.heads.load() == 2);
  CHECK(upstream.server.connections() == 1);
}

TEST_CASE("a stale pooled connection replays an idempotent request once on a fresh connection",
          "[proxy][retry][keepalive]") {
  StaleSecondRequest upstream;
  ProxyProcess proxy(single_service_config({upstream.server.address()}, {"retry: { attempts: 2, on: [reset] }"}));
  HttpClient client(proxy.port());
  REQUIRE(client.get("/first").status == 200);
  CHECK(client.get("/second").status == 200);
  CHECK(upstream.heads.load() == 3);
  CHECK(upstream.server.connections() == 2);
}
