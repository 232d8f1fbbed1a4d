// tg-proxy --control against an in-process fake control plane
// (tests/unit/proxy/subscription/fake_discovery.hpp): a pushed table swap keeps
// requests in flight, keep-alive and upgraded connections (the same
// Worker::install as SIGHUP), and --state-dir serves the last pushed table
// at the next start while tg-control is unreachable. The real tg-control is
// exercised by tests/integration/control/.
#include "fake_discovery.hpp"

#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using namespace tg::itest;
using tg::proxy::test::FakeControlPlane;
namespace v1 = tenantgate::v1;

namespace {

constexpr const char* kHandshake =
    "GET /chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// Answers an upgrade with 101, then echoes each read prefixed with "echo:".
RawServer tunnel_upstream() {
  return RawServer([](TcpSocket& connection) {
    read_head(connection, 5s);
    connection.send_all("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 5s);
    for (;;) {
      std::string data;
      if (connection.receive_some(data, 65536, 10s) == 0) break;
      connection.send_all("echo:" + data, 5s);
    }
  });
}

void add_service(v1::Table& table, const std::string& name, const std::string& address) {
  v1::Service* service = table.add_services();
  service->set_name(name);
  service->set_lb_policy(v1::LB_POLICY_ROUND_ROBIN);
  v1::Instance* instance = table.add_instances();
  instance->set_id(name + "-1");
  instance->set_service(name);
  instance->set_address(address);
  instance->set_weight(1);
  instance->set_admin_state(v1::ADMIN_STATE_ACTIVE);
  instance->set_health(v1::HEALTH_HEALTHY);
}

void add_route(v1::Table& table, const std::string& name, const std::string& prefix, const std::string& service) {
  v1::Route* route = table.add_routes();
  route->set_name(name);
  route->set_service(service);
  route->mutable_match()->set_path_prefix(prefix);
}

v1::StreamTableResponse config_update(std::uint64_t counter, const v1::Table& table) {
  v1::StreamTableResponse update;
  update.mutable_version()->set_generation(1);
  update.mutable_version()->set_counter(counter);
  update.set_config(table.SerializeAsString());
  return update;
}

bool acked(FakeControlPlane& control, std::uint64_t counter) {
  auto answer = control.service().next_answer(10s);
  return answer && answer->has_ack() && answer->ack().version().counter() == counter;
}

// Reads from `socket` until `received` contains `expected`.
bool receive_until(TcpSocket& socket, std::string& received, const std::string& expected) {
  return poll_for(3s, [&] {
    try {
      socket.receive_some(received, 65536, 20ms);
    } catch (const SocketError& error) {
      if (error.kind() != SocketError::Kind::timeout) return true;
    }
    return received.find(expected) != std::string::npos;
  }) && received.find(expected) != std::string::npos;
}

ProxyOptions control_options(const std::string& control_address, const std::string& state_dir) {
  ProxyOptions options;
  options.workers = 2;
  options.use_config = false;
  options.extra_args = {"--control", control_address, "--node-id", "itest-proxy", "--state-dir", state_dir};
  return options;
}

}  // namespace

TEST_CASE("a pushed table swap keeps requests in flight, keep-alive and upgraded connections",
          "[proxy][control][swap]") {
  FakeControlPlane control;
  REQUIRE(control.started());
  Backend backend("a");
  backend.on_path("/a/slow", Behaviour::fixed(200, "slow answer").with_delay(700ms));
  RawServer upstream = tunnel_upstream();
  TempDir state("tg-itest-state");

  ProxyProcess proxy("", control_options(control.address(), state.path().string()));
  auto hello = control.service().hello(0);
  REQUIRE(hello);
  CHECK(hello->node_id() == "itest-proxy");
  CHECK_FALSE(hello->has_applied());
  CHECK(http_get(proxy.port(), "/a/x").status == 404);  // nothing pushed yet

  v1::Table table;
  add_service(table, "a", backend.address());
  add_service(table, "ws", upstream.address());
  add_route(table, "a", "/a/", "a");
  add_route(table, "chat", "/chat", "ws");
  control.service().push(config_update(1, table));
  REQUIRE(acked(control, 1));

  HttpClient keep_alive(proxy.port());
  REQUIRE(keep_alive.get("/a/x").status == 200);
  HttpClient in_flight(proxy.port());
  HttpRequest slow;
  slow.target = "/a/slow";
  in_flight.send_request(slow);
  TcpSocket tunnel(proxy.port(), 2s);
  tunnel.send_all(kHandshake, 2s);
  std::string received;
  REQUIRE(receive_until(tunnel, received, "101 Switching Protocols"));
  REQUIRE(poll_for(2s, [&] { return backend.requests() == 2; }));

  // A new version (one more route) while all three are open.
  add_route(table, "b", "/b/", "a");
  control.service().push(config_update(2, table));
  REQUIRE(acked(control, 2));

  const HttpResponse slow_response = in_flight.read_response();
  CHECK(slow_response.status == 200);
  CHECK(slow_response.body == "slow answer");
  CHECK(keep_alive.get("/a/y").status == 200);
  CHECK(keep_alive.get("/b/y").status == 200);  // ACK means every worker serves it
  tunnel.send_all("ping", 2s);
  CHECK(receive_until(tunnel, received, "echo:ping"));

  const PrometheusText metrics = proxy.metrics();
  CHECK(metrics.value("tg_control_connected") == 1);
  CHECK(metrics.value("tg_control_updates_total", {{"kind", "config"}, {"result", "ack"}}) == 2);
  CHECK(metrics.value("tg_control_table_generation") == 1);
  CHECK(metrics.value("tg_control_table_sequence") == 2);
  CHECK(metrics.value("tg_table_from_state_dir") == 0);
  const HttpResponse config = proxy.admin_get("/config");
  CHECK(config.status == 200);
  CHECK(config.body.find("\"b\"") != std::string::npos);
}

TEST_CASE("the table saved in --state-dir is served at start while tg-control is unreachable",
          "[proxy][control][state]") {
  Backend backend("a");
  TempDir state("tg-itest-state");
  {
    FakeControlPlane control;
    REQUIRE(control.started());
    ProxyProcess proxy("", control_options(control.address(), state.path().string()));
    v1::Table table;
    add_service(table, "a", backend.address());
    add_route(table, "a", "/a/", "a");
    control.service().push(config_update(7, table));
    REQUIRE(acked(control, 7));
    // Saved right after the ACK (atomically: the name appears complete).
    REQUIRE(poll_for(3s, [&] { return std::filesystem::exists(state.path() / "table.state"); }));
  }
  ClosedPort nobody;
  ProxyProcess proxy("", control_options(nobody.address(), state.path().string()));
  const HttpResponse response = http_get(proxy.port(), "/a/x");
  CHECK(response.status == 200);
  CHECK(response.header("x-backend-name") == "a");
  const PrometheusText metrics = proxy.metrics();
  CHECK(metrics.value("tg_table_from_state_dir") == 1);
  CHECK(metrics.value("tg_control_table_sequence") == 7);
  CHECK(metrics.value("tg_control_connected") == 0);
}

TEST_CASE("a pushed table with a value a configuration file could not hold is NACKed, the previous one served",
          "[proxy][control][validate]") {
  // tg-control's own validation refuses these values before they reach a
  // proxy; a fake control plane pushes them raw, as a faulty or newer control
  // plane could.
  FakeControlPlane control;
  REQUIRE(control.started());
  Backend backend("a");
  TempDir state("tg-itest-state");
  ProxyProcess proxy("", control_options(control.address(), state.path().string()));
  REQUIRE(control.service().hello(0));

  v1::Table table;
  add_service(table, "a", backend.address());
  add_route(table, "a", "/a/", "a");
  control.service().push(config_update(1, table));
  REQUIRE(acked(control, 1));
  REQUIRE(http_get(proxy.port(), "/a/x").status == 200);

  struct Case {
    const char* what;
    void (*spoil)(v1::Table&);
    const char* reason;
  };
  const Case cases[] = {
      {"a timeout of 2^64-1 ms",
       [](v1::Table& t) { t.mutable_services(0)->mutable_timeouts()->set_response_headers_ms(UINT64_MAX); },
       "service a: timeouts.response_headers_ms 18446744073709551615 is out of range"},
      {"a route host *", [](v1::Table& t) { t.mutable_routes(0)->mutable_match()->set_host("*"); },
       "route \"a\": match.host: bad host \"*\": a wildcard is only allowed as a leading \"*.\" (e.g. "
       "\"*.example.com\")"},
      {"a header name with CRLF",
       [](v1::Table& t) {
         t.mutable_routes(0)->mutable_match()->mutable_header()->set_name("X-A\r\nX-Evil");
         t.mutable_routes(0)->mutable_match()->mutable_header()->set_value("1");
       },
       "route \"a\": match.header.name: \"x-a\\x0d\\x0ax-evil\" is not a valid header name (letters, digits and "
       "!#$%&'*+-.^_`|~)"},
  };
  std::uint64_t counter = 1;
  for (const Case& c : cases) {
    INFO(c.what);
    v1::Table bad = table;
    add_route(bad, "b", "/b/", "a");  // would route /b/ if applied
    c.spoil(bad);
    control.service().push(config_update(++counter, bad));
    const auto answer = control.service().next_answer(10s);
    REQUIRE(answer);
    REQUIRE(answer->has_nack());
    CHECK(answer->nack().version().counter() == counter);
    CHECK(answer->nack().reason() == c.reason);
  }

  // Still version 1: /a/ routed, /b/ not.
  CHECK(http_get(proxy.port(), "/a/y").status == 200);
  CHECK(http_get(proxy.port(), "/b/y").status == 404);
  const PrometheusText metrics = proxy.metrics();
  CHECK(metrics.value("tg_control_refused_updates_total", {{"reason", "invalid"}}) == 3);
  CHECK(metrics.value("tg_control_updates_total", {{"kind", "config"}, {"result", "nack"}}) == 3);
  CHECK(metrics.value("tg_control_table_sequence") == 1);
}
