// The alerting Admin calls through tgctl against the real tg-control: rules,
// notifiers and silences round trips, the cascade of registry deletes, the
// audit rows, the HTTP JSON mapping and the ack URL's answers.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

TgctlResult ok(const ControlProcess& control, const std::vector<std::string>& args, const TgctlOptions& options = {}) {
  TgctlResult result = tgctl(control, args, options);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  return result;
}

TgctlResult refused(const ControlProcess& control, const std::vector<std::string>& args) {
  TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  REQUIRE(result.exit_code == 1);
  return result;
}

std::vector<std::string> with_json(std::vector<std::string> args) {
  args.insert(args.end(), {"-o", "json"});
  return args;
}

}  // namespace

TEST_CASE("alerting through tgctl: rules, notifiers, silences, cascade, audit", "[control][alerts]") {
  ControlProcess control;
  ok(control, {"notifiers", "create", "ops", "--type", "webhook", "--url", "http://127.0.0.1:9/hook",
               "--repeat-interval", "1h"});
  ok(control, {"tenants", "create", "acme"});
  const auto created = json_as<v1::AlertRule>(ok(
      control, with_json({"rules", "create", "acme-errors", "--tenant", "acme", "--metric", "error_rate", "--op", ">",
                          "--threshold", "0.05", "--for", "30s", "--severity", "critical", "--notifier", "ops"})));
  CHECK(created.name() == "acme-errors");
  CHECK(created.scope().tenant() == "acme");
  CHECK(created.for_ms() == 30'000);
  CHECK(created.window_ms() == 60'000);  // the default, applied by tg-control
  CHECK(created.meta().source().kind() == v1::Source::KIND_API);

  const auto listed = json_as<v1::ListAlertRulesResponse>(ok(control, with_json({"rules", "list"})));
  REQUIRE(listed.rules_size() == 1);
  const std::string table = ok(control, {"rules", "list"}).out;
  CHECK(table.find("error_rate > 0.05 over 1m") != std::string::npos);

  // Bad input: tg-control names the field.
  const TgctlResult bad = refused(control, {"rules", "create", "r2", "--metric", "no_such_metric", "--op", ">"});
  CHECK(bad.err.find("metric") != std::string::npos);

  // A rule names the notifier and the tenant.
  refused(control, {"notifiers", "delete", "ops"});
  const TgctlResult kept = refused(control, {"tenants", "delete", "acme"});
  CHECK(kept.err.find("alert rule \"acme-errors\"") != std::string::npos);
  CHECK(kept.err.find("--cascade") != std::string::npos);
  ok(control, {"tenants", "get", "acme"});
  ok(control, {"tenants", "delete", "acme", "--cascade"});
  const auto disabled = json_as<v1::AlertRule>(ok(control, with_json({"rules", "get", "acme-errors"})));
  CHECK(disabled.disabled());

  // Silences.
  const auto silence = json_as<v1::Silence>(ok(
      control, with_json({"silences", "create", "--matcher", "tenant=acme", "--matcher", "severity=~warning|info",
                          "--duration", "2h", "--comment", "maintenance"})));
  CHECK_FALSE(silence.id().empty());
  CHECK(silence.matchers_size() == 2);
  CHECK(json_as<v1::ListSilencesResponse>(ok(control, with_json({"silences", "list"}))).silences_size() == 1);
  ok(control, {"silences", "expire", silence.id()});
  CHECK(json_as<v1::ListSilencesResponse>(ok(control, with_json({"silences", "list"}))).silences_size() == 0);
  CHECK(json_as<v1::ListSilencesResponse>(ok(control, with_json({"silences", "list", "--all"}))).silences_size() == 1);

  // No alert yet.
  CHECK(json_as<v1::ListAlertsResponse>(ok(control, with_json({"alerts", "list"}))).alerts_size() == 0);
  CHECK(refused(control, {"alerts", "show", "99"}).err.find("not found") != std::string::npos);
  refused(control, {"alerts", "ack", "99"});

  // Every change audited.
  const auto audit =
      json_as<v1::ListAuditResponse>(ok(control, with_json({"audit", "list", "--kind", "alert_rule"})));
  REQUIRE(audit.entries_size() >= 2);  // create, and the cascade's disable
  CHECK(json_as<v1::ListAuditResponse>(ok(control, with_json({"audit", "list", "--kind", "silence"}))).entries_size() ==
        2);

  ok(control, {"rules", "delete", "acme-errors"});
  ok(control, {"notifiers", "delete", "ops"});
  CHECK(json_as<v1::ListNotifiersResponse>(ok(control, with_json({"notifiers", "list"}))).notifiers_size() == 0);
}

TEST_CASE("alerting over HTTP: the JSON mapping and the ack URL", "[control][alerts][http]") {
  ControlOptions options;
  options.tokens = "ops tok-ops\nro tok-ro viewer\n";
  ControlProcess control(options);
  // A connection per request: an error answer may close it.
  const auto post = [&control](const std::string& target, const std::string& body, HeaderList headers = {}) {
    return HttpClient(control.http_port()).post(target, body, std::move(headers));
  };
  const HeaderList admin{{"Authorization", "Bearer tok-ops"}, {"Content-Type", "application/json"}};

  HttpResponse r = post("/v1/admin/CreateNotifier",
                             R"({"notifier": {"name": "ops", "type": "TYPE_WEBHOOK", "url": "http://127.0.0.1:9/h"}})",
                             admin);
  CHECK(r.status == 200);
  r = post("/v1/admin/ListNotifiers", "{}", admin);
  CHECK(r.status == 200);
  CHECK(r.body.find("\"name\":\"ops\"") != std::string::npos);

  // The ack URL: credentials first, then the alert.
  CHECK(post("/v1/alerts/1/ack", "").status == 401);
  CHECK(post("/v1/alerts/1/ack", "", {{"Authorization", "Bearer tok-ro"}}).status == 403);
  CHECK(post("/v1/alerts/1/ack?token=00", "").status == 403);
  r = post("/v1/alerts/1/ack", "", {{"Authorization", "Bearer tok-ops"}});
  CHECK(r.status == 404);
  CHECK(r.body.find("alert 1 not found") != std::string::npos);
  CHECK(HttpClient(control.http_port()).get("/v1/alerts/1/ack").status == 405);

  r = HttpClient(control.http_port()).get("/metrics");
  CHECK(r.body.find("tg_control_alert_ack_requests_total{result=\"not_found\"} 1") != std::string::npos);
  CHECK(r.body.find("tg_control_alert_ack_requests_total{result=\"unauthenticated\"} 1") != std::string::npos);
}
