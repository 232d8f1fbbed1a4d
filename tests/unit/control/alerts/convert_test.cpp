// Rules and notifiers from the config model to proto, and the checks every
// rule and notifier passes (Admin API and files alike), naming the field.
#include "alerts/convert.hpp"

#include <catch2/catch.hpp>

namespace tg::control::alerts {
namespace {

v1::AlertRule valid_rule() {
  v1::AlertRule r;
  r.set_name("acme-errors");
  r.mutable_scope()->set_tenant("acme");
  r.mutable_condition()->set_metric("error_rate");
  r.mutable_condition()->set_op(">");
  r.mutable_condition()->set_threshold(0.05);
  return r;
}

std::string problem(v1::AlertRule r) {
  const Status status = check_rule(r);
  CHECK(status.code == (status.ok() ? Code::ok : Code::invalid_argument));
  return status.message;
}

TEST_CASE("alert convert: a config rule and notifier become their protos", "[alerts]") {
  config::AlertRuleConfig rule;
  rule.name = "r";
  rule.location = config::SourceLocation{"a.yaml", 12, 5};
  rule.scope_service = "sim";
  rule.scope_labels = {{"zone", "a"}};
  rule.metric = "event_count";
  rule.op = ">=";
  rule.threshold = 20;
  rule.event_kind = "exception";
  rule.event_level = "error";
  rule.window = config::Duration{300'000};
  rule.for_duration = config::Duration{30'000};
  rule.keep_firing_for = config::Duration{60'000};
  rule.group_by = {"instance"};
  rule.severity = "warning";
  rule.notifiers = {"ops"};
  rule.annotations = {{"summary", "{{ $value }} exceptions"}};
  v1::AlertRule p = to_proto(rule, "a.yaml");
  CHECK(p.name() == "r");
  CHECK(p.scope().service() == "sim");
  CHECK(p.scope().labels().at("zone") == "a");
  CHECK(p.condition().kind() == "exception");
  CHECK(p.condition().level() == "error");
  CHECK(p.window_ms() == 300'000);
  CHECK(p.for_ms() == 30'000);
  CHECK(p.keep_firing_for_ms() == 60'000);
  CHECK(p.group_by(0) == "instance");
  CHECK(p.notifiers(0) == "ops");
  CHECK(p.annotations().at("summary") == "{{ $value }} exceptions");
  CHECK(p.meta().source().kind() == v1::Source::KIND_CONFIG_FILE);
  CHECK(p.meta().source().file() == "a.yaml");
  CHECK(p.meta().source().line() == 12);
  CHECK(check_rule(p).ok());

  config::NotifierConfig n;
  n.name = "am";
  n.type = config::NotifierConfig::Type::alertmanager;
  n.url = "http://127.0.0.1:9093";
  n.send_resolved = false;
  const v1::Notifier np = to_proto(n, "a.yaml");
  CHECK(np.type() == v1::Notifier::TYPE_ALERTMANAGER);
  CHECK(np.has_send_resolved());
  CHECK_FALSE(np.send_resolved());
  CHECK(np.repeat_interval_ms() == 4 * 3'600'000);
  CHECK(np.timeout_ms() == 10'000);
}

TEST_CASE("alert convert: check_rule applies the window default and names the bad field", "[alerts]") {
  v1::AlertRule r = valid_rule();
  REQUIRE(check_rule(r).ok());
  CHECK(r.window_ms() == 60'000);
  v1::AlertRule bad = valid_rule();
  bad.mutable_condition()->set_metric("errors");
  CHECK(problem(bad).rfind("rule.condition.metric: unknown metric \"errors\"", 0) == 0);
  bad = valid_rule();
  bad.mutable_condition()->clear_op();
  CHECK(problem(bad) == "rule.condition.op: required for error_rate");
  bad = valid_rule();
  bad.set_window_ms(7'200'000);
  CHECK(problem(bad).rfind("rule.window_ms: must be from 1000 (1 s) to 3600000", 0) == 0);
  bad = valid_rule();
  bad.mutable_condition()->set_metric("event_count");
  CHECK(problem(bad) == "rule.condition.kind: event_count needs kind: the event kind to count");
  bad.mutable_condition()->set_kind("exception");
  bad.mutable_condition()->set_level("fatal");
  CHECK(problem(bad).rfind("rule.condition.level: unknown level \"fatal\"", 0) == 0);
  bad = valid_rule();
  bad.add_group_by("service");
  bad.add_group_by("service");
  CHECK(problem(bad) == "rule.group_by: \"service\" is listed twice");
  bad = valid_rule();
  bad.mutable_scope()->set_route("web");
  bad.add_group_by("instance");
  CHECK(problem(bad).rfind("rule.scope.route: a rule that names an instance", 0) == 0);
  bad = valid_rule();
  bad.set_name("");
  CHECK(problem(bad).rfind("rule.name: ", 0) == 0);
  v1::AlertRule quiet = valid_rule();
  quiet.mutable_condition()->set_metric("no_traffic");
  quiet.mutable_condition()->clear_op();
  CHECK(check_rule(quiet).ok());  // no_traffic takes no op
}

TEST_CASE("alert convert: check_notifier defaults and checks", "[alerts]") {
  v1::Notifier n;
  n.set_name("ops");
  n.set_type(v1::Notifier::TYPE_WEBHOOK);
  n.set_url("https://hooks.example/x");
  REQUIRE(check_notifier(n).ok());
  CHECK(n.repeat_interval_ms() == 4 * 3'600'000);
  CHECK(n.timeout_ms() == 10'000);
  v1::Notifier bad = n;
  bad.set_url("gopher://x");
  CHECK(check_notifier(bad).message == "notifier.url: must start with http:// or https://, got \"gopher://x\"");
  bad = n;
  bad.set_type(v1::Notifier::TYPE_UNSPECIFIED);
  CHECK(check_notifier(bad).message == "notifier.type: required: TYPE_WEBHOOK or TYPE_ALERTMANAGER");
  bad = n;
  bad.set_type(v1::Notifier::TYPE_ALERTMANAGER);
  bad.set_secret_file("/s");
  CHECK(check_notifier(bad).message.rfind("notifier.secret_file: only a webhook", 0) == 0);
  bad = n;
  bad.set_timeout_ms(600'000);
  CHECK(check_notifier(bad).message == "notifier.timeout_ms: must be from 100 to 300000 (5 m), got 600000");
}

}  // namespace
}  // namespace tg::control::alerts
