// Both /metrics pages pass `promtool check metrics` (Prometheus' own linter:
// names, types, HELP, histogram and counter conventions), with every series
// family populated: tg-control with a health-checked service, a subscribed
// proxy and HTTP JSON Admin requests; tg-proxy after answers of every class, a
// breaker that opened and retries, requests refused and shadow-counted by rate
// limits, and refused by authentication. promtool comes from Debian's `prometheus` package
// (deploy/install-deps.sh).
#include "control/support/control_process.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/telemetry_stream.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace tg::itest;
using namespace std::chrono_literals;

namespace {

struct LintResult {
  ExitStatus status;
  std::string output;
};

// `promtool check metrics < text`: exit 0 and no output when the text is clean.
LintResult promtool_check(const std::string& text, const TempDir& dir, const std::string& name) {
  const auto input = dir.path() / (name + ".prom");
  std::ofstream(input) << text;
  const auto log = dir.path() / (name + ".promtool.log");
  ChildProcess lint("/bin/sh", {"-c", "exec promtool check metrics < '" + input.string() + "'"}, log);
  const auto status = lint.wait_for(60s);
  REQUIRE(status.has_value());
  return {*status, lint.read_log()};
}

std::string config_yaml(const std::string& ok, const std::string& failing) {
  return "tenants:\n  - id: acme\n    limits: { max_concurrent: 1000 }\n"
         "services:\n"
         "  - name: web\n    tenant: acme\n"
         // The failing instance passes its checks (503 is expected there) and fails traffic: the breaker acts.
         "    health_check: { type: http, path: /, expect: [200-599], interval: 200ms, timeout: 200ms, "
         "healthy_threshold: 1, unhealthy_threshold: 1 }\n"
         "    outlier: { consecutive_failures: 1, count_5xx: true, base_ejection: 30s, max_ejection_percent: 50 }\n"
         "    retry: { attempts: 2, on: [connect_failure, reset, \"503\"], budget_percent: 100 }\n"
         "    instances:\n      - { id: ok, address: " + ok + " }\n      - { id: failing, address: " + failing +
         " }\n"
         "routes:\n  - name: web\n    match: { host: web.example }\n    service: web\n"
         // The rate limits' series: one refusing, one keyed and in shadow.
         "  - name: limited\n    match: { host: limited.example }\n    service: web\n"
         "    rate_limit: { rate: 1/m, burst: 1, by: route }\n"
         "  - name: shadowed\n    match: { host: shadowed.example }\n    service: web\n"
         "    rate_limit: { rate: 1/m, burst: 1, by: client_ip, shadow: true }\n"
         // The authentication failures' series (tenant, route, reason).
         "  - name: secure\n    match: { host: secure.example }\n    service: web\n    auth: required\n";
}

}  // namespace

TEST_CASE("promtool check metrics passes on tg-control's and tg-proxy's /metrics", "[control][metrics][promtool]") {
  TempDir dir("tg-itest-promtool");
  Backend ok("ok");
  Backend failing("failing", Behaviour::fixed(503, "down\n"));

  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  ControlProcess control(options);
  const auto file = control.write("web.yaml", config_yaml(ok.address(), failing.address()));
  REQUIRE(tgctl(control, {"apply", "-f", file.string()}).exit_code == 0);
  // The HTTP JSON Admin API's requests (tg_control_http_admin_requests_total).
  REQUIRE(HttpClient(control.http_port()).post("/v1/admin/ListTenants", "{}", {{"Connection", "close"}}).status == 200);
  REQUIRE(HttpClient(control.http_port()).post("/v1/admin/Nothing", "{}", {{"Connection", "close"}}).status == 404);
  TempDir state("tg-itest-promtool-proxy");
  auto proxy = subscribed_proxy(control.grpc_address(), "lint-1", state.path());

  // Traffic of every kind: answers (2xx), a 503 retried and its instance
  // ejected (the breaker's series), an unrouted request (4xx).
  REQUIRE(poll_for(10s, [&] { return http_get(proxy->port(), "/", {{"Host", "web.example"}}).status == 200; }, 20ms));
  for (int i = 0; i < 20; ++i) http_get(proxy->port(), "/", {{"Host", "web.example"}});
  CHECK(http_get(proxy->port(), "/", {{"Host", "nowhere.example"}}).status == 404);
  for (int i = 0; i < 3; ++i) {
    http_get(proxy->port(), "/", {{"Host", "limited.example"}});
    http_get(proxy->port(), "/", {{"Host", "shadowed.example"}});
  }
  CHECK(http_get(proxy->port(), "/", {{"Host", "secure.example"}}).status == 401);
  CHECK(http_get(proxy->port(), "/", {{"Host", "secure.example"}, {"X-Api-Key", "tg_not-a-key"}}).status == 401);
  REQUIRE(poll_for(5s, [&] {
    const PrometheusText text = PrometheusText::parse(proxy->admin_get("/metrics").body);
    return text.sum("tg_proxy_rate_limited_total") == 2 && text.sum("tg_proxy_rate_limited_shadow_total") == 2 &&
           text.sum("tg_auth_failures_total", {{"tenant", "acme"}, {"route", "secure"}}) == 2;
  }, 20ms));
  REQUIRE(poll_for(10s, [&] {
    return PrometheusText::parse(http_get(control.http_port(), "/metrics").body)
               .sum("tg_control_health_probes_total") >= 2;
  }, 20ms));

  // Telemetry (the tg_control_tenant_* and tg_control_telemetry_* families):
  // a simulated proxy's batch with a route series, an instance series and a
  // histogram, acked before the scrape.
  {
    TelemetryStream stream(control.grpc_address());
    tenantgate::v1::TelemetryBatch batch;
    batch.set_node_id("lint-telemetry");
    batch.set_boot_id("boot-1");
    batch.set_seq(1);
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    batch.set_interval_start_unix_ms(now - 1000);
    batch.set_interval_ms(1000);
    batch.set_sent_unix_ms(now);
    auto* route = batch.add_series();
    route->set_tenant("acme");
    route->set_route("web");
    route->set_service("web");
    for (int n : {0, 20, 0, 1, 2}) route->add_requests_by_class(static_cast<std::uint64_t>(n));
    for (int i = 0; i < 21; ++i) route->mutable_latency()->add_buckets(i == 5 ? 23 : 0);
    route->mutable_latency()->set_count(23);
    route->mutable_latency()->set_sum_us(23 * 1500);
    (*route->mutable_gateway_errors())["upstream_timeout"] = 2;
    auto* instance = batch.add_series();
    instance->set_tenant("acme");
    instance->set_service("web");
    instance->set_instance("ok");
    for (int n : {0, 20, 0, 0, 0}) instance->add_requests_by_class(static_cast<std::uint64_t>(n));
    REQUIRE(stream.send(batch));
    const auto ack = stream.read();
    REQUIRE(ack);
    REQUIRE(ack->result() == tenantgate::v1::TELEMETRY_RESULT_STORED);
  }
  const std::string control_text = http_get(control.http_port(), "/metrics").body;
  REQUIRE(PrometheusText::parse(control_text).sum("tg_control_tenant_requests_total") == 23);
  const std::string proxy_text = proxy->admin_get("/metrics").body;
  REQUIRE(PrometheusText::parse(proxy_text).sum("tg_requests_total") >= 21);

  const LintResult control_lint = promtool_check(control_text, dir, "tg-control");
  INFO("promtool on tg-control /metrics:\n" << control_lint.output);
  CHECK(control_lint.status.describe() == "exit 0");
  const LintResult proxy_lint = promtool_check(proxy_text, dir, "tg-proxy");
  INFO("promtool on tg-proxy /metrics:\n" << proxy_lint.output);
  CHECK(proxy_lint.status.describe() == "exit 0");
}
