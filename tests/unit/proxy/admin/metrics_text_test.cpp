// The tg_tenant_* series of render_metrics (proxy/admin/metrics_text.cpp):
// route counters summed by tenant, the first N tenants seen with traffic
// admitted for good, the others folded into tenant="other"; and the rate
// limit series (proxy/admin/limits_text.cpp).
#include "admin/metrics_text.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::proxy::WorkerStatsCopy;
using tg::proxy::admin::ProcessGauges;
using tg::proxy::admin::render_metrics;
using tg::proxy::admin::TenantSeries;

namespace {

WorkerStatsCopy::Route route(std::string name, std::string tenant, std::uint64_t ok) {
  WorkerStatsCopy::Route r;
  r.name = std::move(name);
  r.service = r.name + "-svc";
  r.tenant = std::move(tenant);
  r.requests[1] = ok;
  for (std::uint64_t i = 0; i < ok; ++i) r.latency.record(300);
  return r;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("without tenant series no tenant label is rendered", "[proxy][admin][metrics]") {
  WorkerStatsCopy w;
  w.routes = {route("a", "acme", 2)};
  const std::string off = render_metrics({w}, ProcessGauges{});
  CHECK(off.find("tenant=") == std::string::npos);
  TenantSeries disabled(0);
  CHECK(render_metrics({w}, ProcessGauges{}, &disabled).find("tenant=") == std::string::npos);
}

TEST_CASE("tenant series sum a tenant's routes over workers", "[proxy][admin][metrics]") {
  WorkerStatsCopy w1, w2;
  w1.routes = {route("a1", "acme", 2), route("a2", "acme", 1), route("s", "", 4)};
  w2.routes = {route("a1", "acme", 3), route("a2", "acme", 0), route("s", "", 0)};
  w2.stats.unrouted_requests[3] = 5;
  TenantSeries tenants(10);
  const std::string text = render_metrics({w1, w2}, ProcessGauges{}, &tenants);
  INFO(text);
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="acme",class="2xx"} 6)"));
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="",class="2xx"} 4)"));
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="",class="4xx"} 5)"));
  CHECK(has_line(text, R"(tg_tenant_request_duration_seconds_count{tenant="acme"} 6)"));
  CHECK(has_line(text, R"(tg_tenant_request_duration_seconds_bucket{tenant="acme",le="+Inf"} 6)"));
  CHECK(has_line(text, "tg_tenant_series_folded 0"));
}

TEST_CASE("tenants past the cap fold into other and admission is kept", "[proxy][admin][metrics]") {
  TenantSeries tenants(2);
  WorkerStatsCopy w;
  w.routes = {route("a", "acme", 1), route("b", "beta", 0), route("c", "gamma", 1), route("d", "delta", 0)};
  std::string text = render_metrics({w}, ProcessGauges{}, &tenants);
  INFO(text);
  // Traffic from acme and gamma: both admitted; beta and delta (no traffic)
  // are folded since the cap is reached.
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="acme",class="2xx"} 1)"));
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="gamma",class="2xx"} 1)"));
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="other",class="2xx"} 0)"));
  CHECK(text.find(R"(tenant="beta")") == std::string::npos);
  CHECK(has_line(text, "tg_tenant_series_folded 2"));

  // beta gets traffic later: still "other", acme and gamma keep their series.
  w.routes[1].requests[1] = 7;
  text = render_metrics({w}, ProcessGauges{}, &tenants);
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="other",class="2xx"} 7)"));
  CHECK(has_line(text, R"(tg_tenant_requests_total{tenant="acme",class="2xx"} 1)"));
  CHECK(text.find(R"(tenant="beta")") == std::string::npos);
}

TEST_CASE("a tenant without traffic gets no series while there is room", "[proxy][admin][metrics]") {
  TenantSeries tenants(5);
  WorkerStatsCopy w;
  w.routes = {route("a", "acme", 1), route("b", "beta", 0)};
  const std::string text = render_metrics({w}, ProcessGauges{}, &tenants);
  INFO(text);
  CHECK(text.find(R"(tenant="beta")") == std::string::npos);
  CHECK(text.find(R"(tenant="other")") == std::string::npos);
  CHECK(has_line(text, "tg_tenant_series_folded 0"));
}

TEST_CASE("rate limit series sum the workers' refusals, a tenant's in-flight count is the proxy's",
          "[proxy][admin][metrics][limits]") {
  using tg::proxy::limits::LimitsCopy;
  WorkerStatsCopy w1, w2;
  LimitsCopy::Route r{"api", "acme", {}, {}};
  r.limited = {3, 1, 2};
  r.shadow = {0, 4, 0};
  w1.limits.routes = {r};
  r.limited = {2, 0, 0};
  r.shadow = {0, 1, 0};
  w2.limits.routes = {r};
  w1.limits.tenants = {{"acme", 5, 10}};
  w2.limits.tenants = {{"acme", 5, 10}};
  w1.limits.keyed_table = true;
  w1.limits.keys = 7;
  w2.limits.keys = 0;
  w1.limits.key_evictions = 2;
  const std::string text = render_metrics({w1, w2}, ProcessGauges{});
  CHECK(has_line(text, "tg_proxy_rate_limited_total{tenant=\"acme\",route=\"api\",limit=\"route_rate\"} 5"));
  CHECK(has_line(text, "tg_proxy_rate_limited_total{tenant=\"acme\",route=\"api\",limit=\"tenant_rate\"} 1"));
  CHECK(has_line(text, "tg_proxy_rate_limited_total{tenant=\"acme\",route=\"api\",limit=\"tenant_concurrency\"} 2"));
  CHECK(has_line(text, "tg_proxy_rate_limited_shadow_total{tenant=\"acme\",route=\"api\",limit=\"tenant_rate\"} 5"));
  CHECK(has_line(text, "tg_proxy_rate_limit_keys 7"));
  CHECK(has_line(text, "tg_proxy_rate_limit_key_evictions_total 2"));
  CHECK(has_line(text, "tg_proxy_tenant_requests_in_flight{tenant=\"acme\"} 5"));
  // Nothing of it without limits.
  CHECK(render_metrics({WorkerStatsCopy{}}, ProcessGauges{}).find("rate_limit") == std::string::npos);
}

TEST_CASE("auth failures carry the tenant of the route's service, summed over workers, and only failures seen",
          "[proxy][admin][metrics][auth]") {
  using tg::proxy::auth::AuthFailure;
  WorkerStatsCopy w1, w2;
  w1.routes = {route("secure", "acme", 1), route("open", "acme", 1), route("other", "globex", 0)};
  w2.routes = w1.routes;
  w1.routes[0].auth_failures[static_cast<std::size_t>(AuthFailure::unknown_kid)] = 2;
  w2.routes[0].auth_failures[static_cast<std::size_t>(AuthFailure::unknown_kid)] = 1;
  w2.routes[2].auth_failures[static_cast<std::size_t>(AuthFailure::forbidden)] = 4;
  // Without --max-tenant-series too: the route label bounds these series already.
  const std::string text = render_metrics({w1, w2}, ProcessGauges{});
  INFO(text);
  CHECK(has_line(text, R"(tg_auth_failures_total{tenant="acme",route="secure",reason="unknown_kid"} 3)"));
  CHECK(has_line(text, R"(tg_auth_failures_total{tenant="globex",route="other",reason="forbidden"} 4)"));
  CHECK(text.find(R"(tg_auth_failures_total{tenant="acme",route="open")") == std::string::npos);
  CHECK(text.find(R"(reason="none")") == std::string::npos);
}
