// Active health checks end to end: real tg-control probing backends started
// here, a real tg-proxy subscribed to it, tgctl reading health and events.
// A killed backend becomes unhealthy (an event, the proxy stops sending to
// it), a restarted one healthy again, a tg-control restart keeps the health,
// and a new instance whose target is down never gets traffic. Every wait
// polls with a deadline.
#include "control/support/control_process.hpp"
#include "control/support/instances.hpp"
#include "control/support/json_output.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend_process.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

constexpr int interval_ms = 300, timeout_ms = 200, unhealthy_threshold = 2;

std::string service_yaml(const std::string& a, const std::string& b) {
  return "tenants:\n  - id: acme\n"
         "services:\n"
         "  - name: web\n    tenant: acme\n"
         "    health_check: { type: http, path: /healthz, interval: " + std::to_string(interval_ms) +
         "ms, timeout: " + std::to_string(timeout_ms) + "ms, healthy_threshold: 2, unhealthy_threshold: " +
         std::to_string(unhealthy_threshold) + " }\n"
         "    instances:\n      - { id: a, address: " + a + " }\n      - { id: b, address: " + b + " }\n"
         "routes:\n  - name: web\n    match: { host: web.example }\n    service: web\n";
}

std::map<std::string, v1::Instance> discover(const ControlProcess& control) { return discover(control, "web"); }

v1::Health health_of(const ControlProcess& control, const std::string& id) {
  const auto all = discover(control);
  auto it = all.find(id);
  return it == all.end() ? v1::HEALTH_UNSPECIFIED : it->second.health();
}

// `n` answers in a row through the proxy all came from `backend`.
bool only_from(const ProxyProcess& proxy, const std::string& backend, int n) {
  for (int i = 0; i < n; ++i)
    if (answer(proxy, "web.example") != backend) return false;
  return true;
}

PrometheusText control_metrics(const ControlProcess& control) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body);
}

}  // namespace

TEST_CASE("health check: a killed instance goes unhealthy with an event and gets no traffic, comes back, and "
          "a tg-control restart keeps the health",
          "[control][health]") {
  BackendProcess a("a"), b("b");
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  options.keep_grpc_port = true;  // the proxy reconnects after the restart
  ControlProcess control(options);
  const auto file = control.write("web.yaml", service_yaml(a.address(), b.address()));
  const TgctlResult applied = tgctl(control, {"apply", "-f", file.string()});
  REQUIRE(applied.exit_code == 0);
  TempDir state("tg-itest-health-proxy");
  auto proxy = subscribed_proxy(control.grpc_address(), "p1", state.path());

  // Both pass their first check: healthy, and both get traffic.
  REQUIRE(poll_for(10s, [&] {
    const auto all = discover(control);
    return all.size() == 2 && all.at("a").health() == v1::HEALTH_HEALTHY && all.at("b").health() == v1::HEALTH_HEALTHY;
  }, 20ms));
  REQUIRE(poll_for(10s, [&] { return answer(*proxy, "web.example") == "a"; }, 5ms));
  REQUIRE(poll_for(10s, [&] { return answer(*proxy, "web.example") == "b"; }, 5ms));

  // Kill a: unhealthy (connect refused), an event, and the proxy sends only to b.
  const auto killed_at = std::chrono::system_clock::now();
  a.kill();
  v1::Instance down;
  REQUIRE(poll_for(10s, [&] {
    down = discover(control).at("a");
    return down.health() == v1::HEALTH_UNHEALTHY;
  }, 20ms));
  CHECK(down.health_reason() == "connect refused");
  // Measured, not asserted (the budget, interval x unhealthy_threshold + timeout + 1 s,
  // is a benchmark figure): tg-control's own time of the flip after the kill.
  const auto flip_ms = down.health_changed_unix_ms() -
                       std::chrono::duration_cast<std::chrono::milliseconds>(killed_at.time_since_epoch()).count();
  WARN("kill -> unhealthy: " << flip_ms << " ms (budget " << interval_ms * unhealthy_threshold + timeout_ms + 1000
                             << " ms)");
  const auto events = events_of(control, "a");
  const v1::Event* event = find_event(events, "healthy -> unhealthy (connect refused)");
  INFO(tgctl(control, {"events", "list"}).out);
  REQUIRE(event != nullptr);
  CHECK(event->kind() == "health");
  CHECK(event->service() == "web");
  CHECK(event->tenant() == "acme");
  CHECK(event->source() == "health-check");
  CHECK(event->count() == 1);
  // The proxy got the health update: a request loop sees only b.
  REQUIRE(poll_for(10s, [&] { return only_from(*proxy, "b", 20); }, 5ms));
  CHECK(only_from(*proxy, "b", 50));
  const auto metrics = control_metrics(control);
  CHECK(metrics.value("tg_control_service_instances", {{"service", "web"}, {"health", "unhealthy"}}) == 1);
  CHECK(metrics.value("tg_control_service_instances", {{"service", "web"}, {"health", "healthy"}}) == 1);
  CHECK(metrics.sum("tg_control_health_probe_duration_seconds_count") > 0);

  // Restart a: healthy again after healthy_threshold passes, and traffic again.
  a.restart();
  v1::Instance up;
  REQUIRE(poll_for(10s, [&] {
    up = discover(control).at("a");
    return up.health() == v1::HEALTH_HEALTHY;
  }, 20ms));
  CHECK(up.health_reason() == "http 200");
  CHECK(find_event(events_of(control, "a"), "unhealthy -> healthy (http 200)") != nullptr);
  REQUIRE(poll_for(10s, [&] { return answer(*proxy, "web.example") == "a"; }, 5ms));

  // Restart tg-control: the health is kept (no unknown), and no flip follows.
  // Events so far: each instance's first pass (awaiting -> healthy), a's
  // failure, a's recovery (the same group as its first pass: count 2).
  const auto flips_of = [&](const std::string& instance) {
    std::uint64_t total = 0;
    const auto events = events_of(control, instance);
    for (const auto& e : events.events()) total += e.count();
    return total;
  };
  const std::uint64_t a_flips = flips_of("a"), b_flips = flips_of("b");
  CHECK(a_flips == 3);
  CHECK(b_flips == 1);
  const std::int64_t a_since = up.health_changed_unix_ms();
  control.stop();
  control.start();
  const auto after = discover(control);
  CHECK(after.at("a").health() == v1::HEALTH_HEALTHY);
  CHECK(after.at("b").health() == v1::HEALTH_HEALTHY);
  CHECK(after.at("a").health_changed_unix_ms() == a_since);
  // Several probe rounds later (probes counted by the new process), still no new flip.
  REQUIRE(poll_for(10s, [&] {
    return control_metrics(control).sum("tg_control_health_probes_total", {{"result", "pass"}}) >= 6;
  }, 50ms));
  CHECK(flips_of("a") == a_flips);
  CHECK(flips_of("b") == b_flips);
  CHECK(health_of(control, "a") == v1::HEALTH_HEALTHY);
  REQUIRE(poll_for(10s, [&] { return answer(*proxy, "web.example") == "a"; }, 5ms));
}

TEST_CASE("health check: a new instance whose target is down never becomes healthy and gets no traffic",
          "[control][health]") {
  BackendProcess a("a"), b("b");
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  ControlProcess control(options);
  const auto file = control.write("web.yaml", service_yaml(a.address(), b.address()));
  REQUIRE(tgctl(control, {"apply", "-f", file.string()}).exit_code == 0);
  TempDir state("tg-itest-health-proxy");
  auto proxy = subscribed_proxy(control.grpc_address(), "p1", state.path());
  REQUIRE(poll_for(10s, [&] {
    const auto all = discover(control);
    return all.at("a").health() == v1::HEALTH_HEALTHY && all.at("b").health() == v1::HEALTH_HEALTHY;
  }, 20ms));

  const ClosedPort closed;
  const auto registered = json_as<v1::Instance>(
      tgctl(control, {"instances", "register", "web", closed.address(), "--id", "c", "-o", "json"}));
  CHECK(registered.health() == v1::HEALTH_UNHEALTHY);
  CHECK(registered.health_reason() == "awaiting first health check");
  // Its checks fail: after unhealthy_threshold of them the reason says why.
  v1::Instance c;
  REQUIRE(poll_for(10s, [&] {
    c = discover(control).at("c");
    return c.health_reason() == "connect refused";
  }, 20ms));
  CHECK(c.health() == v1::HEALTH_UNHEALTHY);
  // The proxy serves a and b only.
  std::map<std::string, int> answered_by;
  for (int i = 0; i < 60; ++i) ++answered_by[answer(*proxy, "web.example")];
  CAPTURE(answered_by);
  CHECK(answered_by["a"] + answered_by["b"] == 60);
  // The tgctl table shows health, reason and since when.
  const TgctlResult table = tgctl(control, {"instances", "discover", "web"});
  INFO(table.describe());
  CHECK(table.out.find("HEALTH") != std::string::npos);
  CHECK(table.out.find("SINCE") != std::string::npos);
  CHECK(table.out.find("connect refused") != std::string::npos);
}
