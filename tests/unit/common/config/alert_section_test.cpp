// `alert_rules:` and `notifiers:` (control plane only): every field read by
// the control reader, errors at FILE:LINE:COLUMN, ignored by the proxy reader.
#include "load_helpers.hpp"

namespace tg::config {
namespace {

using namespace std::chrono_literals;
using test::errors_of;
using test::load_ok;

std::vector<std::string> control_errors(std::string_view yaml) { return errors_of(yaml, Reader::control); }

constexpr const char* kExample = R"(alert_rules:
  - name: acme-errors
    scope: { tenant: acme, labels: { zone: a } }
    condition: { metric: error_rate, op: ">", threshold: 0.05 }
    window: 1m
    for: 30s
    keep_firing_for: 1m
    group_by: [service]
    severity: critical
    notifiers: [ops, am]
    annotations: { summary: "acme error rate above 5%", runbook: "https://runbooks.example/acme" }
  - name: exceptions
    condition: { metric: event_count, kind: exception, level: error, op: ">=", threshold: 20 }
  - name: quiet
    scope: { route: acme-host }
    condition: { metric: no_traffic }
notifiers:
  - name: ops
    type: webhook
    url: http://127.0.0.1:9600/hook
    secret_file: /etc/tenantgate/ops.secret
    repeat_interval: 4h
    send_resolved: false
    timeout: 5s
  - name: am
    type: alertmanager
    url: https://am.example:9093
)";

TEST_CASE("alert rules: the control reader reads every field", "[config][alerts]") {
  const Config config = load_ok(kExample, Reader::control);
  REQUIRE(config.alert_rules.size() == 3);
  const AlertRuleConfig& r = config.alert_rules[0];
  CHECK(r.name == "acme-errors");
  CHECK(r.location.line == 2);
  CHECK(r.scope_tenant == "acme");
  CHECK(r.scope_labels == std::map<std::string, std::string>{{"zone", "a"}});
  CHECK(r.metric == "error_rate");
  CHECK(r.op == ">");
  CHECK(r.threshold == 0.05);
  CHECK(r.window == 60s);
  CHECK(r.for_duration == 30s);
  CHECK(r.keep_firing_for == 60s);
  CHECK(r.group_by == std::vector<std::string>{"service"});
  CHECK(r.severity == "critical");
  CHECK(r.notifiers == std::vector<std::string>{"ops", "am"});
  CHECK(r.annotations.at("summary") == "acme error rate above 5%");
  const AlertRuleConfig& e = config.alert_rules[1];
  CHECK(e.event_kind == "exception");
  CHECK(e.event_level == "error");
  CHECK(e.window == 60s);  // the default
  CHECK(config.alert_rules[2].metric == "no_traffic");
  CHECK(config.alert_rules[2].scope_route == "acme-host");
  REQUIRE(config.notifiers.size() == 2);
  const NotifierConfig& n = config.notifiers[0];
  CHECK(n.name == "ops");
  CHECK(n.type == NotifierConfig::Type::webhook);
  CHECK(n.url == "http://127.0.0.1:9600/hook");
  CHECK(n.secret_file == "/etc/tenantgate/ops.secret");
  CHECK(n.repeat_interval == 4h);
  CHECK_FALSE(n.send_resolved);
  CHECK(n.timeout == 5s);
  CHECK(config.notifiers[1].type == NotifierConfig::Type::alertmanager);
  CHECK(config.notifiers[1].repeat_interval == 4h);
  CHECK(config.notifiers[1].send_resolved);
  CHECK(config.notifiers[1].timeout == 10s);
}

TEST_CASE("alert rules: the proxy reader ignores both sections, whatever they hold", "[config][alerts]") {
  const Config config = load_ok("alert_rules:\n  - { name: x, expr: whatever }\nnotifiers: { anything: 1 }\n");
  CHECK(config.alert_rules.empty());
  CHECK(config.notifiers.empty());
}

TEST_CASE("alert rules: bad fields are reported at their value", "[config][alerts]") {
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: eror_rate, op: \">\", threshold: 1 }\n") ==
        std::vector<std::string>{
            "t.yaml:3:26: alert_rules[0].condition.metric: unknown metric \"eror_rate\" (did you mean "
            "\"error_rate\"?); allowed: request_rate, error_rate, timeout_rate, auth_failures, rate_limited, "
            "p50_latency, p95_latency, p99_latency, unhealthy_instances, ejected_instances, event_count, restarts, "
            "no_traffic"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: error_rate, op: \"=>\", threshold: 1 }\n") ==
        std::vector<std::string>{"t.yaml:3:42: alert_rules[0].condition.op: unknown op \"=>\" (did you mean \">\"?); allowed: >, >=, <, "
                                 "<=, ==, !="});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: error_rate, op: \">\", threshold: lots }\n") ==
        std::vector<std::string>{"t.yaml:3:58: alert_rules[0].condition.threshold: expected a number, got \"lots\""});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: error_rate }\n") ==
        std::vector<std::string>{"t.yaml:3:16: alert_rules[0].condition: error_rate needs op and threshold (e.g. { "
                                 "metric: error_rate, op: \">\", threshold: 1 })"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: event_count, op: \">\", threshold: 1 }\n") ==
        std::vector<std::string>{"t.yaml:3:16: alert_rules[0].condition: event_count needs kind: the event kind to "
                                 "count"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: event_count, kind: x, level: loud, op: "
                       "\">\", threshold: 1 }\n") ==
        std::vector<std::string>{"t.yaml:3:55: alert_rules[0].condition.level: unknown level \"loud\"; allowed: "
                                 "debug, info, warning, error, critical"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: restarts, kind: x, op: \">\", threshold: 1 }\n") ==
        std::vector<std::string>{"t.yaml:3:42: alert_rules[0].condition.kind: only event_count takes kind, not restarts"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: no_traffic }\n    window: 2h\n") ==
        std::vector<std::string>{"t.yaml:4:13: alert_rules[0].window: must be from 1s to 1h (the in-memory windows "
                                 "hold the last hour), got 7200000ms"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: no_traffic }\n    window: 500ms\n")[0]
            .rfind("t.yaml:4:13: alert_rules[0].window: must be from 1s to 1h", 0) == 0);
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: no_traffic }\n    group_by: [tenant, pod, "
                       "tenant]\n") ==
        std::vector<std::string>{
            "t.yaml:4:24: alert_rules[0].group_by[1]: unknown group_by label \"pod\"; allowed: tenant, service, "
            "route, instance",
            "t.yaml:4:29: alert_rules[0].group_by[2]: \"tenant\" is listed twice"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: no_traffic }\n    for: soon\n    bogus: 1\n") ==
        std::vector<std::string>{
            "t.yaml:4:10: alert_rules[0].for: bad duration \"soon\": expected a number followed by a unit: ms, s, m, "
            "h or d (e.g. 250ms, 1.5s, 2m)",
            "t.yaml:5:5: alert_rules[0]: unknown key \"bogus\"; allowed keys: name, scope, condition, window, for, "
            "keep_firing_for, group_by, severity, notifiers, annotations"});
  CHECK(control_errors("alert_rules:\n  - condition: { metric: no_traffic }\n") ==
        std::vector<std::string>{"t.yaml:2:5: alert_rules[0]: missing required key \"name\""});
}

TEST_CASE("alert rules: scope and group_by must fit the metric's series", "[config][alerts]") {
  CHECK(control_errors("alert_rules:\n  - name: a\n    scope: { route: web, instance: i1 }\n    condition: { metric: "
                       "error_rate, op: \">\", threshold: 1 }\n") ==
        std::vector<std::string>{"t.yaml:3:21: alert_rules[0].scope.route: a rule that names an instance or instance "
                                 "labels reads the instance series, which carry no route; drop the route or the "
                                 "instance"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: unhealthy_instances, op: \">\", threshold: "
                       "0 }\n    group_by: [route]\n") ==
        std::vector<std::string>{"t.yaml:4:15: alert_rules[0].group_by: unhealthy_instances is counted per instance, "
                                 "which has no route; scope and group it by tenant, service or instance"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    scope: { labels: { zone: a } }\n    condition: { metric: "
                       "rate_limited, op: \">\", threshold: 0 }\n")[0]
            .rfind("t.yaml:3:22: alert_rules[0].scope.labels: rate_limited is counted before an instance is chosen", 0) == 0);
}

TEST_CASE("alert rules: duplicate names and unknown notifiers", "[config][alerts]") {
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: no_traffic }\n    notifiers: [opz]\n"
                       "  - name: a\n    condition: { metric: no_traffic }\nnotifiers:\n  - { name: ops, type: webhook, "
                       "url: http://h/ }\n  - { name: ops, type: webhook, url: http://h/ }\n") ==
        std::vector<std::string>{
            "t.yaml:4:17: alert_rules[0].notifiers[0]: unknown notifier \"opz\" (did you mean \"ops\"?); it must be "
            "declared under notifiers",
            "t.yaml:5:11: alert_rules[1].name: duplicate alert rule name \"a\"; first declared at line 2, column 11",
            "t.yaml:9:13: notifiers[1].name: duplicate notifier name \"ops\"; first declared at line 8, column 13"});
  CHECK(control_errors("alert_rules:\n  - name: a\n    condition: { metric: no_traffic }\n    notifiers: [ops]\n") ==
        std::vector<std::string>{"t.yaml:4:17: alert_rules[0].notifiers[0]: unknown notifier \"ops\"; no notifiers "
                                 "are declared"});
}

TEST_CASE("notifiers: type, url scheme, secret_file, durations", "[config][alerts]") {
  CHECK(control_errors("notifiers:\n  - { name: n, type: slack, url: http://h/ }\n") ==
        std::vector<std::string>{"t.yaml:2:22: notifiers[0].type: unknown notifier type \"slack\"; allowed: webhook, "
                                 "alertmanager"});
  CHECK(control_errors("notifiers:\n  - { name: n, type: webhook, url: ftp://h/ }\n") ==
        std::vector<std::string>{"t.yaml:2:36: notifiers[0].url: must start with http:// or https://, got "
                                 "\"ftp://h/\""});
  CHECK(control_errors("notifiers:\n  - { name: n, type: webhook, url: \"http:///x\" }\n") ==
        std::vector<std::string>{"t.yaml:2:36: notifiers[0].url: no host in \"http:///x\""});
  CHECK(control_errors("notifiers:\n  - { name: n, type: alertmanager, url: http://h, secret_file: /s }\n") ==
        std::vector<std::string>{"t.yaml:2:64: notifiers[0].secret_file: only a webhook notifier signs its requests; "
                                 "an alertmanager one takes no secret_file"});
  CHECK(control_errors("notifiers:\n  - { name: n, type: webhook, url: http://h, timeout: 10m, repeat_interval: 0 }\n") ==
        std::vector<std::string>{
            "t.yaml:2:55: notifiers[0].timeout: must be from 100ms to 5m, got 600000ms",
            "t.yaml:2:77: notifiers[0].repeat_interval: bad duration \"0\": must be greater than 0"});
  CHECK(control_errors("notifiers:\n  - { name: n, url: http://h }\n") ==
        std::vector<std::string>{"t.yaml:2:5: notifiers[0]: missing required key \"type\""});
}

}  // namespace
}  // namespace tg::config
