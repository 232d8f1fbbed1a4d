// SIGTERM drain (contract "Signals", --drain-timeout): in-flight requests
// finish, new connections are refused, /ready says draining, exit 0.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/tcp_socket.hpp"

#include <signal.h>

#include <cerrno>

using namespace tg::itest;

TEST_CASE("SIGTERM drains: the in-flight request completes, new connections are refused, exit 0",
          "[proxy][drain]") {
  Backend backend("b1");
  backend.on_path("/slow", Behaviour::fixed(200, "finished").with_delay(1500ms));
  ProxyOptions options;
  options.workers = 2;
  options.extra_args = {"--drain-timeout", "5s"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  const std::uint16_t port = proxy.port();
  const std::uint16_t admin_port = proxy.admin_port();

  HttpClient client(port);
  HttpRequest slow;
  slow.target = "/slow";
  client.send_request(slow);
  REQUIRE(poll_for(2s, [&] { return backend.requests() == 1; }));

  const auto sigterm_at = Clock::now();
  proxy.send_signal(SIGTERM);

  // While the slow request is still running (it has ~1.5 s to go):
  CHECK(poll_for(1s, [&] { return TcpSocket::probe_connect(port, 200ms) == ECONNREFUSED; }));
  const HttpResponse ready = http_get(admin_port, "/ready", {{"Connection", "close"}});
  CHECK(ready.status == 503);
  CHECK(ready.body.rfind("draining", 0) == 0);
  CHECK(proxy.metrics().sum("tg_draining") == 1);
  CHECK(proxy.process().running());

  const HttpResponse response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "finished");

  const auto status = proxy.process().wait_for(6s);
  REQUIRE(status.has_value());
  CHECK(status->describe() == "exit 0");
  CHECK(elapsed_ms(sigterm_at) < 5000);
}

TEST_CASE("SIGTERM with nothing in flight exits 0 promptly, closing idle connections", "[proxy][drain]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient idle(proxy.port());
  REQUIRE(idle.get("/x").status == 200);

  const auto start = Clock::now();
  proxy.send_signal(SIGTERM);
  const auto status = proxy.process().wait_for(5s);
  REQUIRE(status.has_value());
  CHECK(status->describe() == "exit 0");
  CHECK(elapsed_ms(start) < 2000);
  CHECK(idle.wait_for_close(1s));
}

TEST_CASE("SIGTERM: a request still running at --drain-timeout is cut and the proxy exits 0",
          "[proxy][drain]") {
  Backend backend("b1", Behaviour::of(BackendMode::never_answer));
  ProxyOptions options;
  options.extra_args = {"--drain-timeout", "500ms"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  HttpClient client(proxy.port(), 5s);
  client.send_request(HttpRequest{});
  REQUIRE(poll_for(2s, [&] { return backend.requests() == 1; }));

  const auto start = Clock::now();
  proxy.send_signal(SIGTERM);
  const auto status = proxy.process().wait_for(5s);
  REQUIRE(status.has_value());
  CHECK(status->describe() == "exit 0");
  const double elapsed = elapsed_ms(start);
  CHECK(elapsed >= 400);
  CHECK(elapsed < 3000);
  CHECK(client.wait_for_close(1s));
}
