// control/tgctl/commands_alerts.cpp, alert_flags.cpp, render_alerts.cpp: the
// alerting commands' requests and tables, and --cascade on deletes and apply.
#include "parse_helpers.hpp"

#include "tenantgate/v1/admin.pb.h"
#include "tgctl/alert_flags.hpp"
#include "tgctl/render.hpp"

using namespace tg::tgctl;
using namespace tg::tgctl::test;
namespace v1 = tenantgate::v1;

namespace {

template <class T>
T from_text(const std::string& text) {
  T message;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &message));
  return message;
}

std::string table_of(const std::vector<std::string>& args, const google::protobuf::Message& response) {
  const Invocation inv = parse_ok(args);
  std::ostringstream out;
  render(inv.command, response, OutputFormat::table, out);
  return out.str();
}

// Runs of blanks as one: for checks of rows whose column widths depend on other rows.
std::string squeeze(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  return out;
}

// The usage error of a command line that must not parse (exit 2).
std::string usage_error(const std::vector<std::string>& args) {
  Parsed parsed = parse(args);
  CHECK_FALSE(parsed.outcome.invocation.has_value());
  CHECK(parsed.outcome.exit_code == 2);
  return parsed.err;
}

}  // namespace

TEST_CASE("rules create: a quick rule from flags", "[tgctl][alerts]") {
  const Invocation inv = parse_ok({"rules", "create", "acme-errors", "--metric", "error_rate", "--op", ">",
                                   "--threshold", "0.05", "--window", "1m", "--for", "30s", "--keep-firing-for",
                                   "2m", "--tenant", "acme", "--group-by", "service", "--severity", "critical",
                                   "--notifier", "ops", "--notifier", "pager", "--annotation",
                                   "summary=acme errors at {{ $value }}"});
  CHECK(inv.command.rpc == &rpcs::create_alert_rule);
  CHECK(request_is<v1::CreateAlertRuleRequest>(
      inv, "rule { name: 'acme-errors' scope { tenant: 'acme' } "
           "condition { metric: 'error_rate' op: '>' threshold: 0.05 } window_ms: 60000 for_ms: 30000 "
           "keep_firing_for_ms: 120000 group_by: 'service' severity: 'critical' notifiers: 'ops' notifiers: 'pager' "
           "annotations { key: 'summary' value: 'acme errors at {{ $value }}' } }"));
}

TEST_CASE("rules create: event_count, --json with flags over it", "[tgctl][alerts]") {
  const Invocation inv = parse_ok(
      {"rules", "create", "--json",
       R"({"name": "crashes", "condition": {"metric": "event_count", "op": ">=", "threshold": 20}, "meta": {}})",
       "--kind", "exception", "--level", "error", "--threshold", "10"});
  CHECK(request_is<v1::CreateAlertRuleRequest>(
      inv, "rule { name: 'crashes' condition { metric: 'event_count' op: '>=' threshold: 10 kind: 'exception' "
           "level: 'error' } }"));
}

TEST_CASE("rules create/update: bad values are usage errors naming the flag", "[tgctl][alerts]") {
  CHECK_THAT(usage_error({"rules", "create", "r", "--metric", "error_rate", "--op", "=>"}),
             Catch::Contains("--op: \"=>\" is not one of > >= < <= == !="));
  CHECK_THAT(usage_error({"rules", "create", "r", "--metric", "error_rate", "--op", ">", "--threshold", "5%"}),
             Catch::Contains("--threshold: \"5%\" is not a number"));
  CHECK_THAT(usage_error({"rules", "create", "r", "--op", ">"}), Catch::Contains("--metric: required"));
  CHECK_THAT(usage_error({"rules", "create", "--metric", "error_rate", "--op", ">"}),
             Catch::Contains("give the rule NAME"));
  CHECK_THAT(usage_error({"rules", "create", "r", "--metric", "m", "--op", ">", "--window", "soon"}),
             Catch::Contains("--window"));
  const Invocation update = parse_ok({"rules", "update", "r", "--metric", "request_rate", "--op", "<",
                                      "--threshold", "1", "--take-ownership"});
  CHECK(request_is<v1::UpdateAlertRuleRequest>(
      update, "rule { name: 'r' condition { metric: 'request_rate' op: '<' threshold: 1 } } take_ownership: true"));
}

TEST_CASE("rules list/get/delete, notifiers", "[tgctl][alerts]") {
  CHECK(request_is<v1::ListAlertRulesRequest>(parse_ok({"rules", "list", "--tenant", "acme"}), "tenant: 'acme'"));
  CHECK(request_is<v1::GetAlertRuleRequest>(parse_ok({"rules", "get", "r1"}), "name: 'r1'"));
  CHECK(request_is<v1::DeleteAlertRuleRequest>(parse_ok({"rules", "delete", "r1", "--take-ownership"}),
                                                "name: 'r1' take_ownership: true"));
  CHECK(request_is<v1::CreateNotifierRequest>(
      parse_ok({"notifiers", "create", "ops", "--type", "webhook", "--url", "http://127.0.0.1:9600/hook",
                "--secret-file", "/etc/tg/ops.secret", "--repeat-interval", "1h", "--no-send-resolved"}),
      "notifier { name: 'ops' type: TYPE_WEBHOOK url: 'http://127.0.0.1:9600/hook' secret_file: "
      "'/etc/tg/ops.secret' repeat_interval_ms: 3600000 send_resolved: false }"));
  CHECK(request_is<v1::CreateNotifierRequest>(
      parse_ok({"notifiers", "create", "am", "--type", "alertmanager", "--url", "http://127.0.0.1:9093"}),
      "notifier { name: 'am' type: TYPE_ALERTMANAGER url: 'http://127.0.0.1:9093' }"));
  CHECK_THAT(usage_error({"notifiers", "create", "x", "--type", "email", "--url", "u"}), Catch::Contains("--type"));
  CHECK_THAT(usage_error({"notifiers", "create", "x", "--type", "webhook"}), Catch::Contains("--url: required"));
  CHECK(request_is<v1::DeleteNotifierRequest>(parse_ok({"notifiers", "delete", "ops"}), "name: 'ops'"));
  CHECK(parse_ok({"notifiers", "list"}).command.rpc == &rpcs::list_notifiers);
  CHECK(request_is<v1::GetNotifierRequest>(parse_ok({"notifiers", "get", "ops"}), "name: 'ops'"));
}

TEST_CASE("alerts list/show/ack/unack/resolve", "[tgctl][alerts]") {
  CHECK(request_is<v1::ListAlertsRequest>(
      parse_ok({"alerts", "list", "--state", "firing", "--tenant", "acme", "--rule", "r", "--limit", "5",
                "--before", "40"}),
      "state: STATE_FIRING tenant: 'acme' rule: 'r' limit: 5 before_id: 40"));
  CHECK_THAT(usage_error({"alerts", "list", "--state", "burning"}), Catch::Contains("--state"));
  CHECK(request_is<v1::GetAlertRequest>(parse_ok({"alerts", "show", "17"}), "id: 17"));
  CHECK_THAT(usage_error({"alerts", "show", "x17"}), Catch::Contains("is not an alert id"));
  CHECK_THAT(usage_error({"alerts", "show", "0"}), Catch::Contains("is not an alert id"));
  CHECK(request_is<v1::AckAlertRequest>(parse_ok({"alerts", "ack", "17", "--comment", "on it"}),
                                        "id: 17 comment: 'on it'"));
  CHECK(request_is<v1::UnackAlertRequest>(parse_ok({"alerts", "unack", "17"}), "id: 17"));
  CHECK(request_is<v1::ResolveAlertRequest>(parse_ok({"alerts", "resolve", "17", "--reason", "fixed by deploy"}),
                                            "id: 17 reason: 'fixed by deploy'"));
  CHECK_THAT(usage_error({"alerts", "resolve", "17"}), Catch::Contains("--reason"));
  CHECK_THAT(usage_error({"alerts", "resolve", "17", "--reason", " "}), Catch::Contains("--reason: must not be empty"));
}

TEST_CASE("silences create: matchers, --duration or --until", "[tgctl][alerts]") {
  const std::int64_t now = test_environment().now_unix_ms;
  const Invocation inv = parse_ok({"silences", "create", "--matcher", "tenant=acme", "--matcher",
                                   "severity=~warning|info", "--matcher", "service!=web", "--matcher",
                                   "route!~admin-.*", "--duration", "2h", "--comment", "maintenance"});
  CHECK(request_is<v1::CreateSilenceRequest>(
      inv, "silence { matchers { name: 'tenant' value: 'acme' op: OP_EQUAL } "
           "matchers { name: 'severity' value: 'warning|info' op: OP_REGEX } "
           "matchers { name: 'service' value: 'web' op: OP_NOT_EQUAL } "
           "matchers { name: 'route' value: 'admin-.*' op: OP_NOT_REGEX } "
           "ends_unix_ms: " + std::to_string(now + 7'200'000) + " comment: 'maintenance' }"));
  CHECK(request_is<v1::CreateSilenceRequest>(
      parse_ok({"silences", "create", "--matcher", "a=", "--until", "2025-11-22T08:00:00Z", "--comment", "c"}),
      "silence { matchers { name: 'a' value: '' } ends_unix_ms: 1763798400000 comment: 'c' }"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "tenant", "--duration", "1h", "--comment", "c"}),
             Catch::Contains("expected LABEL=VALUE"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "=x", "--duration", "1h", "--comment", "c"}),
             Catch::Contains("expected LABEL=VALUE"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "a=b", "--comment", "c"}),
             Catch::Contains("give one of --duration and --until"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "a=b", "--duration", "1h", "--until", "1", "--comment",
                          "c"}),
             Catch::Contains("give one of --duration and --until"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "a=b", "--until", "2h", "--comment", "c"}),
             Catch::Contains("not a duration"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "a=b", "--until", "1000", "--comment", "c"}),
             Catch::Contains("would end before it starts"));
  CHECK_THAT(usage_error({"silences", "create", "--matcher", "a=b", "--duration", "1h"}), Catch::Contains("--comment"));
  CHECK(request_is<v1::ListSilencesRequest>(parse_ok({"silences", "list", "--all"}), "include_expired: true"));
  CHECK(request_is<v1::ExpireSilenceRequest>(parse_ok({"silences", "expire", "s-1"}), "id: 's-1'"));
}

TEST_CASE("matcher text round-trips", "[tgctl][alerts]") {
  for (const std::string text : {"tenant=acme", "severity=~warning|info", "a!=b", "x!~y.*", "k="})
    CHECK(matcher_text(parse_matcher(text, "--matcher")) == text);
}

TEST_CASE("deletes take --cascade", "[tgctl][alerts]") {
  CHECK(request_is<v1::DeleteTenantRequest>(parse_ok({"tenants", "delete", "acme", "--cascade"}),
                                            "id: 'acme' cascade: true"));
  CHECK(request_is<v1::DeleteServiceRequest>(parse_ok({"services", "delete", "web", "--cascade"}),
                                             "name: 'web' cascade: true"));
  CHECK(request_is<v1::DeleteRouteRequest>(parse_ok({"routes", "delete", "r", "--cascade"}),
                                           "name: 'r' cascade: true"));
  CHECK(request_is<v1::DeleteRouteRequest>(parse_ok({"routes", "delete", "r"}), "name: 'r'"));
}

TEST_CASE("rules and notifiers as tables", "[tgctl][alerts][render]") {
  const auto rules = from_text<v1::ListAlertRulesResponse>(
      "rules { name: 'acme-errors' scope { tenant: 'acme' } condition { metric: 'error_rate' op: '>' "
      "threshold: 0.05 } window_ms: 60000 for_ms: 30000 keep_firing_for_ms: 60000 group_by: 'service' "
      "severity: 'critical' notifiers: 'ops' meta { source { kind: KIND_CONFIG_FILE file: 'a.yaml' line: 3 } } } "
      "rules { name: 'crash' condition { metric: 'event_count' op: '>=' threshold: 20 kind: 'exception' } "
      "window_ms: 300000 disabled: true meta { source { kind: KIND_API } } }");
  CHECK(table_of({"rules", "list"}, rules) ==
        "NAME         CONDITION                                  FOR  KEEP FIRING  SCOPE        GROUP BY  SEVERITY  "
        "NOTIFIERS  STATE     SOURCE\n"
        "acme-errors  error_rate > 0.05 over 1m                  30s  1m           tenant=acme  service   critical  "
        "ops        enabled   file:a.yaml:3\n"
        "crash        event_count{kind=exception} >= 20 over 5m  0    0            all          -         -         "
        "-          disabled  api\n");
  const auto notifiers = from_text<v1::ListNotifiersResponse>(
      "notifiers { name: 'am' type: TYPE_ALERTMANAGER url: 'http://127.0.0.1:9093' repeat_interval_ms: 14400000 } "
      "notifiers { name: 'ops' type: TYPE_WEBHOOK url: 'http://h/hook' secret_file: '/s' repeat_interval_ms: 0 "
      "send_resolved: false timeout_ms: 5000 }");
  CHECK(table_of({"notifiers", "list"}, notifiers) ==
        "NAME  TYPE          URL                    SIGNED  REPEAT  SEND RESOLVED  TIMEOUT  SOURCE\n"
        "am    alertmanager  http://127.0.0.1:9093  no      4h      yes            10s      -\n"
        "ops   webhook       http://h/hook          yes     never   no             5s       -\n");
}

TEST_CASE("alerts list and show as tables", "[tgctl][alerts][render]") {
  const auto list = from_text<v1::ListAlertsResponse>(
      "alerts { id: 12 rule: 'acme-errors' state: STATE_FIRING severity: 'critical' tenant: 'acme' value: 0.31 "
      "active_since_unix_ms: 1763791200000 labels { key: 'alertname' value: 'acme-errors' } "
      "labels { key: 'service' value: 'web' } labels { key: 'tenant' value: 'acme' } "
      "ack { by: 'alice/admin' unix_ms: 1763791260000 } silenced_by: 's1' } "
      "alerts { id: 9 rule: 'r' state: STATE_RESOLVED value: 0 active_since_unix_ms: 1763791000000 "
      "resolved_unix_ms: 1763791100000 }");
  CHECK(table_of({"alerts", "list"}, list) ==
        "ID  STATE                    RULE         SEVERITY  TENANT  VALUE  SINCE                     "
        "RESOLVED                  LABELS\n"
        "12  firing, acked, silenced  acme-errors  critical  acme    0.31   2025-11-22T06:00:00.000Z  -"
        "                         service=web\n"
        "9   resolved                 r            -         -       0      2025-11-22T05:56:40.000Z  "
        "2025-11-22T05:58:20.000Z  -\n"
        "Next page: --before 9\n");

  const auto alert = from_text<v1::Alert>(
      "id: 12 fingerprint: '00ff00ff00ff00ff' rule: 'acme-errors' state: STATE_RESOLVED severity: 'critical' "
      "tenant: 'acme' value: 0.01 active_since_unix_ms: 1763791200000 firing_since_unix_ms: 1763791230000 "
      "resolved_unix_ms: 1763791500000 resolved_by: 'alice/admin' resolve_reason: 'deploy rolled back' "
      "annotations { key: 'summary' value: 'acme errors' } "
      "transitions { unix_ms: 1763791200000 from: STATE_UNSPECIFIED to: STATE_PENDING value: 0.2 actor: "
      "'tg-control' action: 'evaluate' } "
      "transitions { unix_ms: 1763791500000 from: STATE_FIRING to: STATE_RESOLVED value: 0.01 actor: "
      "'alice/admin' action: 'resolve' reason: 'deploy rolled back' } "
      "deliveries { id: 'msg_1' notifier: 'ops' state: STATE_FIRING status: STATUS_DELIVERED "
      "created_unix_ms: 1763791230000 attempts { unix_ms: 1763791230000 http_status: 0 error: 'connection "
      "refused' duration_ms: 3 } attempts { unix_ms: 1763791232000 http_status: 200 duration_ms: 12 } } "
      "deliveries { id: 'msg_2' notifier: 'ops' state: STATE_RESOLVED status: STATUS_PENDING "
      "created_unix_ms: 1763791500000 next_attempt_unix_ms: 1763791501000 }");
  const std::string shown = table_of({"alerts", "show", "12"}, alert);
  CHECK_THAT(shown, Catch::StartsWith("Alert:        12 (fingerprint 00ff00ff00ff00ff)\n"
                                      "Rule:         acme-errors\n"
                                      "State:        resolved\n"));
  CHECK_THAT(shown, Catch::Contains("Resolved:     2025-11-22T06:05:00.000Z by alice/admin: deploy rolled back\n"));
  CHECK_THAT(shown, Catch::Contains("  summary: acme errors\n"));
  const std::string rows = squeeze(shown);
  CHECK_THAT(rows, Catch::Contains("TIME FROM TO VALUE ACTION ACTOR REASON\n"
                                   "2025-11-22T06:00:00.000Z - pending 0.2 evaluate tg-control -\n"
                                   "2025-11-22T06:05:00.000Z firing resolved 0.01 resolve alice/admin deploy rolled back\n"));
  CHECK_THAT(rows, Catch::Contains("DELIVERY NOTIFIER TELLS REPEAT STATUS ATTEMPT TIME HTTP DURATION ERROR\n"
                                   "msg_1 ops firing 0 delivered 1 2025-11-22T06:00:30.000Z - 3ms connection refused\n"
                                   " 2 2025-11-22T06:00:32.000Z 200 12ms -\n"
                                   "msg_2 ops resolved 0 pending (next 2025-11-22T06:05:01.000Z) - "
                                   "2025-11-22T06:05:00.000Z - - -\n"));
}

TEST_CASE("silences as a table", "[tgctl][alerts][render]") {
  const auto silences = from_text<v1::ListSilencesResponse>(
      "silences { id: 's2' matchers { name: 'tenant' value: 'acme' } matchers { name: 'severity' value: "
      "'warning|info' op: OP_REGEX } starts_unix_ms: 1763791200000 ends_unix_ms: 1763798400000 created_by: "
      "'alice/admin' comment: 'maintenance' } "
      "silences { id: 's1' matchers { name: 'a' value: 'b' op: OP_NOT_EQUAL } starts_unix_ms: 1763791000000 "
      "ends_unix_ms: 1763791100000 expired: true }");
  CHECK(table_of({"silences", "list"}, silences) ==
        "ID  EXPIRED  MATCHERS                            STARTS                    ENDS                      "
        "CREATED BY   COMMENT\n"
        "s2  no       tenant=acme severity=~warning|info  2025-11-22T06:00:00.000Z  2025-11-22T08:00:00.000Z  "
        "alice/admin  maintenance\n"
        "s1  yes      a!=b                                2025-11-22T05:56:40.000Z  2025-11-22T05:58:20.000Z  "
        "-            -\n");
  const auto created = from_text<v1::Silence>("id: 's3' matchers { name: 'a' value: 'b' } ends_unix_ms: 1");
  CHECK_THAT(table_of({"silences", "create", "--matcher", "a=b", "--duration", "1h", "--comment", "c"}, created),
             Catch::StartsWith("Created silence s3.\n"));
}
