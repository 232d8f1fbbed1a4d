// Tenant series on /metrics (--max-tenant-series N, docs/api.md
// "Metrics"): off by default; with N, tg_tenant_* series for the first N
// tenants seen with traffic and tenant="other" for the rest, counted in
// tg_tenant_series_folded.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"

using namespace tg::itest;

namespace {

// Three tenants, one service and one route each (/a/ → acme, /b/ → beta,
// /c/ → gamma), and a route /shared/ to a service without a tenant.
std::string three_tenants_config(const std::string& backend) {
  return "tenants:\n  - id: acme\n  - id: beta\n  - id: gamma\n" +
         ConfigYaml()
             .service("acme-svc", {backend}, {"tenant: acme"})
             .service("beta-svc", {backend}, {"tenant: beta"})
             .service("gamma-svc", {backend}, {"tenant: gamma"})
             .service("shared-svc", {backend})
             .route("acme", "{ path_prefix: /a/ }", "acme-svc")
             .route("beta", "{ path_prefix: /b/ }", "beta-svc")
             .route("gamma", "{ path_prefix: /c/ }", "gamma-svc")
             .route("shared", "{ path_prefix: /shared/ }", "shared-svc")
             .str();
}

ProxyOptions with_tenant_series(const char* n) {
  ProxyOptions options;
  options.extra_args = {"--max-tenant-series", n};
  return options;
}

}  // namespace

TEST_CASE("tenant series: without --max-tenant-series no series has a tenant label", "[proxy][metrics][tenant]") {
  Backend backend("b1");
  ProxyProcess proxy(three_tenants_config(backend.address()));
  HttpClient client(proxy.port());
  REQUIRE(client.get("/a/x").status == 200);
  REQUIRE(metric_settles(proxy, "tg_requests_total", {{"route", "acme"}, {"class", "2xx"}}, 1) == 1);
  const PrometheusText metrics = proxy.metrics();
  CHECK_FALSE(metrics.has("tg_tenant_requests_total"));
  CHECK_FALSE(metrics.has("tg_tenant_series_folded"));
  for (const MetricSample& sample : metrics.samples()) {
    INFO(sample.name);
    CHECK(sample.labels.count("tenant") == 0);
  }
}

TEST_CASE("tenant series: with --max-tenant-series each tenant's requests and latency are summed",
          "[proxy][metrics][tenant]") {
  Backend backend("b1");
  backend.on_path("/b/fail", Behaviour::fixed(503, "down"));
  ProxyProcess proxy(three_tenants_config(backend.address()), with_tenant_series("10"));
  HttpClient client(proxy.port());
  for (int i = 0; i < 3; ++i) REQUIRE(client.get("/a/x").status == 200);
  REQUIRE(client.get("/b/x").status == 200);
  REQUIRE(client.get("/b/fail").status == 503);
  REQUIRE(client.get("/shared/x").status == 200);
  REQUIRE(client.get("/nowhere").status == 404);

  CHECK(metric_settles(proxy, "tg_tenant_requests_total", {{"tenant", "acme"}, {"class", "2xx"}}, 3) == 3);
  const PrometheusText metrics = proxy.metrics();
  INFO(metrics.describe("tg_tenant_requests_total"));
  CHECK(metrics.value("tg_tenant_requests_total", {{"tenant", "beta"}, {"class", "2xx"}}) == 1);
  CHECK(metrics.value("tg_tenant_requests_total", {{"tenant", "beta"}, {"class", "5xx"}}) == 1);
  // No route, or a service without a tenant: tenant="".
  CHECK(metrics.value("tg_tenant_requests_total", {{"tenant", ""}, {"class", "2xx"}}) == 1);
  CHECK(metrics.value("tg_tenant_requests_total", {{"tenant", ""}, {"class", "4xx"}}) == 1);
  CHECK(metrics.sum("tg_tenant_requests_total") == metrics.sum("tg_requests_total"));
  // gamma had no traffic: no series yet (there is room, so nothing is folded).
  CHECK(metrics.count("tg_tenant_requests_total", {{"tenant", "gamma"}}) == 0);
  CHECK(metrics.count("tg_tenant_requests_total", {{"tenant", "other"}}) == 0);
  CHECK(metrics.value("tg_tenant_request_duration_seconds_count", {{"tenant", "acme"}}) == 3);
  CHECK(metrics.value("tg_tenant_request_duration_seconds_bucket", {{"tenant", "acme"}, {"le", "+Inf"}}) == 3);
  CHECK(metrics.value("tg_tenant_series_folded") == 0);
}

TEST_CASE("tenant series: tenants past the cap are folded into tenant=other and counted",
          "[proxy][metrics][tenant]") {
  Backend backend("b1");
  ProxyProcess proxy(three_tenants_config(backend.address()), with_tenant_series("1"));
  HttpClient client(proxy.port());
  // acme and beta have traffic at the first scrape: acme is admitted (name
  // order), beta is folded; gamma, with no traffic, is folded too.
  REQUIRE(client.get("/a/x").status == 200);
  REQUIRE(client.get("/b/x").status == 200);
  REQUIRE(client.get("/b/y").status == 200);
  CHECK(metric_settles(proxy, "tg_tenant_requests_total", {{"tenant", "other"}, {"class", "2xx"}}, 2) == 2);
  PrometheusText metrics = proxy.metrics();
  INFO(metrics.describe("tg_tenant_requests_total"));
  CHECK(metrics.value("tg_tenant_requests_total", {{"tenant", "acme"}, {"class", "2xx"}}) == 1);
  CHECK(metrics.count("tg_tenant_requests_total", {{"tenant", "beta"}}) == 0);
  CHECK(metrics.count("tg_tenant_requests_total", {{"tenant", "gamma"}}) == 0);
  CHECK(metrics.value("tg_tenant_series_folded") == 2);
  CHECK(metrics.value("tg_tenant_request_duration_seconds_count", {{"tenant", "other"}}) == 2);

  // Admission is kept: gamma's traffic later still goes to "other".
  REQUIRE(client.get("/c/x").status == 200);
  CHECK(metric_settles(proxy, "tg_tenant_requests_total", {{"tenant", "other"}, {"class", "2xx"}}, 3) == 3);
  metrics = proxy.metrics();
  CHECK(metrics.count("tg_tenant_requests_total", {{"tenant", "gamma"}}) == 0);
  CHECK(metrics.value("tg_tenant_requests_total", {{"tenant", "acme"}, {"class", "2xx"}}) == 1);
}
