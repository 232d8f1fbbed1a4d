// Keep-alive on both sides: many requests on one client connection, and the
// proxy's upstream pool reusing connections to the backend.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"

#include <memory>
#include <set>

using namespace tg::itest;

TEST_CASE("one client connection carries many requests, upstream connections are pooled",
          "[proxy][keepalive]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());

  std::set<std::uint64_t> upstream_connections;
  for (int i = 0; i < 200; ++i) {
    const HttpResponse response = client.get("/ka/" + std::to_string(i));
    REQUIRE(response.status == 200);
    CHECK_FALSE(iequals(response.header("connection"), "close"));
    const EchoedRequest echo = parse_echo(response);
    CHECK(echo.target == "/ka/" + std::to_string(i));
    upstream_connections.insert(echo.connection_id);
  }
  // Sequential requests need one upstream connection, reused every time.
  CHECK(backend.requests() == 200);
  CHECK(backend.connections() == 1);
  CHECK(upstream_connections.size() == 1);
  // The proxy saw a single downstream connection all along.
  CHECK(metric_settles(proxy, "tg_downstream_connections_active", {}, 1) == 1);
}

TEST_CASE("upstream connections are reused across client connections", "[proxy][keepalive]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  for (int i = 0; i < 20; ++i) {
    HttpClient client(proxy.port());
    REQUIRE(client.get("/c/" + std::to_string(i)).status == 200);
  }
  CHECK(backend.requests() == 20);
  CHECK(backend.connections() == 1);
}

TEST_CASE("parallel clients on two workers use few upstream connections", "[proxy][keepalive]") {
  Backend backend("b1");
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(single_service_config({backend.address()}), options);

  constexpr int clients = 4;
  constexpr int rounds = 50;
  std::vector<std::unique_ptr<HttpClient>> connections;
  for (int i = 0; i < clients; ++i) connections.push_back(std::make_unique<HttpClient>(proxy.port()));
  // Interleaved on the test thread: at most one request in flight at a time,
  // on four client connections spread over two workers.
  for (int round = 0; round < rounds; ++round) {
    for (auto& connection : connections) REQUIRE(connection->get("/p").status == 200);
  }
  CHECK(backend.requests() == clients * rounds);
  // Each worker keeps its own pool: at most one connection per worker here.
  CHECK(backend.connections() >= 1);
  CHECK(backend.connections() <= 2);
}

TEST_CASE("Connection: close from the client closes after the response", "[proxy][keepalive]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/bye", {{"Connection", "close"}});
  CHECK(response.status == 200);
  CHECK(iequals(response.header("connection"), "close"));
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("HTTP/1.0 clients get one response and a close", "[proxy][keepalive]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  client.send("GET /old HTTP/1.0\r\nHost: t\r\n\r\n");
  const HttpResponse response = client.read_response();
  CHECK(response.status == 200);
  CHECK(parse_echo(response).target == "/old");
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("an idle client connection is closed after --keepalive-timeout", "[proxy][keepalive]") {
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--keepalive-timeout", "300ms"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  HttpClient client(proxy.port());
  REQUIRE(client.get("/x").status == 200);
  const auto start = Clock::now();
  CHECK(client.wait_for_close(3s));
  CHECK(elapsed_ms(start) >= 250);
  CHECK(client.received_before_close().empty());
}

TEST_CASE("a pooled upstream connection closed by the backend is not used again", "[proxy][keepalive][retry]") {
  // The backend closes each connection after answering, without saying so
  // (its keep-alive timer fired). A pooled connection found closed before
  // the write must not fail the next request, whatever its method
  // (retry rule (a), docs/life-of-a-request.md); POST is used so only rule (a) applies.
  Behaviour behaviour = Behaviour::echo();
  behaviour.close_after_response = true;
  Backend backend("b1", behaviour);
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  // The window is a race inside the proxy's event loop: enough rounds that a
  // proxy which does not check a pooled connection before reusing it fails.
  constexpr int rounds = 100;
  for (int i = 0; i < rounds; ++i) {
    const HttpResponse response = client.post("/p/" + std::to_string(i), "body-" + std::to_string(i));
    INFO("request " << i << ":\n" << response.describe());
    REQUIRE(response.status == 200);
    CHECK(parse_echo(response).body == "body-" + std::to_string(i));
    // The backend's FIN has reached the proxy before the next request.
    REQUIRE(poll_for(2s, [&] { return backend.active_connections() == 0; }));
  }
  CHECK(backend.requests() == rounds);
  CHECK(backend.connections() == rounds);
}

TEST_CASE("idle keep-alive connections leave asio for the IdleWatcher and come back on their next request",
          "[proxy][keepalive][idle]") {
  // Past the buffer grace period (200 ms) an idle connection's descriptor is
  // watched outside asio (runtime/idle_watcher.hpp); the gauge
  // tg_downstream_connections_idle counts them.
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--keepalive-timeout", "5s"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);

  SECTION("requests after several idle periods, on the same connection") {
    HttpClient client(proxy.port());
    for (int round = 0; round < 3; ++round) {
      INFO("round " << round);
      REQUIRE(client.get("/r" + std::to_string(round)).status == 200);
      CHECK(metric_settles(proxy, "tg_downstream_connections_idle", {}, 1) == 1);
    }
    // A pipelined pair arriving at an idle connection.
    client.send("GET /p1 HTTP/1.1\r\nHost: t\r\n\r\nGET /p2 HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(parse_echo(client.read_response()).target == "/p1");
    CHECK(parse_echo(client.read_response()).target == "/p2");
    CHECK(parse_echo(client.get("/after")).target == "/after");
  }
  SECTION("a client closing an idle connection closes the session") {
    {
      HttpClient client(proxy.port());
      REQUIRE(client.get("/x").status == 200);
      CHECK(metric_settles(proxy, "tg_downstream_connections_idle", {}, 1) == 1);
    }
    CHECK(metric_settles(proxy, "tg_downstream_connections_idle", {}, 0) == 0);
    CHECK(metric_settles(proxy, "tg_downstream_connections_active", {}, 0) == 0);
  }
  SECTION("many idle connections, then all of them send again") {
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < 200; ++i) {
      clients.push_back(std::make_unique<HttpClient>(proxy.port()));
      REQUIRE(clients.back()->get("/first").status == 200);
    }
    CHECK(metric_settles(proxy, "tg_downstream_connections_idle", {}, 200) == 200);
    for (auto& c : clients) c->send("GET /second HTTP/1.1\r\nHost: t\r\n\r\n");
    for (auto& c : clients) CHECK(parse_echo(c->read_response()).target == "/second");
    CHECK(backend.requests() == 400);
  }
  SECTION("the keep-alive timeout still closes a watched connection") {
    ProxyOptions short_options;
    short_options.extra_args = {"--keepalive-timeout", "600ms"};
    ProxyProcess short_proxy(single_service_config({backend.address()}), short_options);
    HttpClient client(short_proxy.port());
    REQUIRE(client.get("/x").status == 200);
    CHECK(metric_settles(short_proxy, "tg_downstream_connections_idle", {}, 1) == 1);
    CHECK(client.wait_for_close(3s));
    CHECK(metric_settles(short_proxy, "tg_downstream_connections_idle", {}, 0) == 0);
  }
}
