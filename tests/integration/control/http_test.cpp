// tg-control's HTTP port: /healthz, and /metrics counting Admin calls by
// method and status code (tg_control_admin_calls_total{method,code}).
#include "control/support/control_process.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;

namespace {

PrometheusText metrics(const ControlProcess& control) {
  const HttpResponse response = http_get(control.http_port(), "/metrics", {{"Connection", "close"}});
  if (response.status != 200) throw std::runtime_error("GET /metrics: " + response.describe());
  return PrometheusText::parse(response.body);
}

double calls(const PrometheusText& text, const std::string& method, const std::string& code) {
  return text.sum("tg_control_admin_calls_total", {{"method", method}, {"code", code}});
}

}  // namespace

TEST_CASE("/healthz answers 200", "[control][http]") {
  ControlProcess control;
  const HttpResponse response = http_get(control.http_port(), "/healthz", {{"Connection", "close"}});
  INFO(response.describe());
  CHECK(response.status == 200);
  CHECK(http_get(control.http_port(), "/nowhere", {{"Connection", "close"}}).status == 404);
}

TEST_CASE("/metrics counts Admin calls by method and code", "[control][http][metrics]") {
  ControlProcess control;
  const PrometheusText before = metrics(control);
  CHECK(calls(before, "CreateTenant", "OK") == 0);

  REQUIRE(tgctl(control, {"tenants", "create", "acme"}).exit_code == 0);
  REQUIRE(tgctl(control, {"tenants", "create", "globex"}).exit_code == 0);
  REQUIRE(tgctl(control, {"tenants", "create", "acme"}).exit_code == 1);     // ALREADY_EXISTS
  REQUIRE(tgctl(control, {"tenants", "get", "nobody"}).exit_code == 1);      // NOT_FOUND
  REQUIRE(tgctl(control, {"routes", "list"}).exit_code == 0);

  const PrometheusText after = metrics(control);
  INFO(after.describe("tg_control_admin_calls_total"));
  CHECK(calls(after, "CreateTenant", "OK") == 2);
  CHECK(calls(after, "CreateTenant", "ALREADY_EXISTS") == 1);
  CHECK(calls(after, "GetTenant", "NOT_FOUND") == 1);
  CHECK(calls(after, "ListRoutes", "OK") == 1);
  CHECK(after.value("tg_control_tenants") == 2);
}

TEST_CASE("/metrics counts refused unauthenticated calls", "[control][http][metrics][auth]") {
  ControlOptions options;
  options.tokens = "ops s3cret\n";
  ControlProcess control(options);
  REQUIRE(tgctl(control, {"tenants", "list"}).exit_code == 1);
  const PrometheusText text = metrics(control);
  INFO(text.describe("tg_control_admin_calls_total"));
  CHECK(calls(text, "ListTenants", "UNAUTHENTICATED") == 1);
}
