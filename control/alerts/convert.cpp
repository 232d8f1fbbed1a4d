// Alert rules and notifiers: config model → proto, and the checks of one
// from any source (alerts/convert.hpp). The value rules are
// config/alert_checks.hpp, which the YAML reader applies too.
#include "alerts/convert.hpp"

#include "config/alert_checks.hpp"
#include "config/rules.hpp"

#include <cmath>
#include <set>

namespace tg::control::alerts {
namespace {

#define TG_ALERTS_RETURN_IF_ERROR(expr) \
  do {                                  \
    Status status_ = (expr);            \
    if (!status_.ok()) return status_;  \
  } while (false)

constexpr std::uint64_t kDefaultWindowMs = 60'000;
constexpr std::uint64_t kDefaultRepeatMs = 4 * 3'600'000;
constexpr std::uint64_t kDefaultTimeoutMs = 10'000;

std::uint64_t ms(config::Duration d) { return static_cast<std::uint64_t>(d.count()); }

void set_source(v1::Meta* meta, const std::string& file, int line) {
  v1::Source* source = meta->mutable_source();
  source->set_kind(v1::Source::KIND_CONFIG_FILE);
  source->set_file(file);
  source->set_line(static_cast<std::uint32_t>(std::max(line, 0)));
}

Status check_name_field(const std::string& field, const std::string& name) {
  if (auto problem = config::check_name(name)) return Status::invalid(field, *problem);
  return {};
}

Status check_duration_ms(const std::string& field, std::uint64_t value) {
  const auto max = static_cast<std::uint64_t>(config::max_duration.count());
  if (value > max) return Status::invalid(field, "at most 365d, got " + std::to_string(value) + " ms");
  return {};
}

}  // namespace

v1::AlertRule to_proto(const config::AlertRuleConfig& rule, const std::string& file) {
  v1::AlertRule out;
  out.set_name(rule.name);
  v1::AlertScope* scope = out.mutable_scope();
  scope->set_tenant(rule.scope_tenant);
  scope->set_service(rule.scope_service);
  scope->set_route(rule.scope_route);
  scope->set_instance(rule.scope_instance);
  for (const auto& [name, value] : rule.scope_labels) (*scope->mutable_labels())[name] = value;
  v1::AlertCondition* condition = out.mutable_condition();
  condition->set_metric(rule.metric);
  condition->set_op(rule.op);
  condition->set_threshold(rule.threshold);
  condition->set_kind(rule.event_kind);
  condition->set_level(rule.event_level);
  out.set_window_ms(ms(rule.window));
  out.set_for_ms(ms(rule.for_duration));
  out.set_keep_firing_for_ms(ms(rule.keep_firing_for));
  for (const std::string& name : rule.group_by) out.add_group_by(name);
  out.set_severity(rule.severity);
  for (const std::string& name : rule.notifiers) out.add_notifiers(name);
  for (const auto& [name, text] : rule.annotations) (*out.mutable_annotations())[name] = text;
  set_source(out.mutable_meta(), file, rule.location.line);
  return out;
}

v1::Notifier to_proto(const config::NotifierConfig& notifier, const std::string& file) {
  v1::Notifier out;
  out.set_name(notifier.name);
  out.set_type(notifier.type == config::NotifierConfig::Type::alertmanager ? v1::Notifier::TYPE_ALERTMANAGER
                                                                            : v1::Notifier::TYPE_WEBHOOK);
  out.set_url(notifier.url);
  out.set_secret_file(notifier.secret_file);
  out.set_repeat_interval_ms(ms(notifier.repeat_interval));
  out.set_send_resolved(notifier.send_resolved);
  out.set_timeout_ms(ms(notifier.timeout));
  set_source(out.mutable_meta(), file, notifier.location.line);
  return out;
}

Status check_rule(v1::AlertRule& rule) {
  if (rule.window_ms() == 0) rule.set_window_ms(kDefaultWindowMs);
  TG_ALERTS_RETURN_IF_ERROR(check_name_field("rule.name", rule.name()));
  const v1::AlertScope& scope = rule.scope();
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"rule.scope.tenant", &scope.tenant()},
                                     {"rule.scope.service", &scope.service()},
                                     {"rule.scope.route", &scope.route()},
                                     {"rule.scope.instance", &scope.instance()}})
    if (!value->empty()) TG_ALERTS_RETURN_IF_ERROR(check_name_field(field, *value));
  for (const auto& [name, value] : scope.labels()) {
    TG_ALERTS_RETURN_IF_ERROR(check_name_field("rule.scope.labels", name));
    if (auto problem = config::check_text(value)) return Status::invalid("rule.scope.labels." + name, *problem);
  }
  const v1::AlertCondition& condition = rule.condition();
  const std::string& metric = condition.metric();
  if (metric.empty()) return Status::invalid("rule.condition.metric", "required");
  if (auto problem = config::check_alert_metric(metric)) return Status::invalid("rule.condition.metric", *problem);
  if (config::metric_needs_threshold(metric)) {
    if (condition.op().empty()) return Status::invalid("rule.condition.op", "required for " + metric);
    if (!std::isfinite(condition.threshold())) return Status::invalid("rule.condition.threshold", "must be finite");
  }
  if (!condition.op().empty())
    if (auto problem = config::check_alert_op(condition.op())) return Status::invalid("rule.condition.op", *problem);
  if (config::metric_takes_event_filter(metric)) {
    if (condition.kind().empty())
      return Status::invalid("rule.condition.kind", "event_count needs kind: the event kind to count");
    TG_ALERTS_RETURN_IF_ERROR(check_name_field("rule.condition.kind", condition.kind()));
    if (!condition.level().empty())
      if (auto problem = config::check_event_level(condition.level()))
        return Status::invalid("rule.condition.level", *problem);
  } else {
    if (!condition.kind().empty())
      return Status::invalid("rule.condition.kind", "only event_count takes kind, not " + metric);
    if (!condition.level().empty())
      return Status::invalid("rule.condition.level", "only event_count takes level, not " + metric);
  }
  if (rule.window_ms() < static_cast<std::uint64_t>(config::min_alert_window.count()) ||
      rule.window_ms() > static_cast<std::uint64_t>(config::max_alert_window.count()))
    return Status::invalid("rule.window_ms", "must be from 1000 (1 s) to 3600000 (1 h; the in-memory windows hold "
                                             "the last hour), got " + std::to_string(rule.window_ms()));
  TG_ALERTS_RETURN_IF_ERROR(check_duration_ms("rule.for_ms", rule.for_ms()));
  TG_ALERTS_RETURN_IF_ERROR(check_duration_ms("rule.keep_firing_for_ms", rule.keep_firing_for_ms()));
  config::AlertShape shape;
  shape.metric = metric;
  shape.scope_route = !scope.route().empty();
  shape.scope_instance = !scope.instance().empty();
  shape.scope_labels = !scope.labels().empty();
  std::set<std::string> groups;
  for (const std::string& name : rule.group_by()) {
    if (auto problem = config::check_group_name(name)) return Status::invalid("rule.group_by", *problem);
    if (!groups.insert(name).second) return Status::invalid("rule.group_by", "\"" + name + "\" is listed twice");
    shape.group_route |= name == "route";
    shape.group_instance |= name == "instance";
  }
  if (auto problem = config::check_alert_shape(shape))
    return Status::invalid("rule." + problem->field, problem->problem);
  if (auto problem = config::check_text(rule.severity())) return Status::invalid("rule.severity", *problem);
  std::set<std::string> notifiers;
  for (const std::string& name : rule.notifiers()) {
    TG_ALERTS_RETURN_IF_ERROR(check_name_field("rule.notifiers", name));
    if (!notifiers.insert(name).second) return Status::invalid("rule.notifiers", "\"" + name + "\" is listed twice");
  }
  for (const auto& [name, text] : rule.annotations()) {
    TG_ALERTS_RETURN_IF_ERROR(check_name_field("rule.annotations", name));
    if (auto problem = config::check_text(text)) return Status::invalid("rule.annotations." + name, *problem);
  }
  return {};
}

Status check_notifier(v1::Notifier& notifier) {
  if (notifier.repeat_interval_ms() == 0) notifier.set_repeat_interval_ms(kDefaultRepeatMs);
  if (notifier.timeout_ms() == 0) notifier.set_timeout_ms(kDefaultTimeoutMs);
  TG_ALERTS_RETURN_IF_ERROR(check_name_field("notifier.name", notifier.name()));
  if (notifier.type() != v1::Notifier::TYPE_WEBHOOK && notifier.type() != v1::Notifier::TYPE_ALERTMANAGER)
    return Status::invalid("notifier.type", "required: TYPE_WEBHOOK or TYPE_ALERTMANAGER");
  if (notifier.url().empty()) return Status::invalid("notifier.url", "required");
  if (auto problem = config::check_notifier_url(notifier.url())) return Status::invalid("notifier.url", *problem);
  if (!notifier.secret_file().empty() && notifier.type() == v1::Notifier::TYPE_ALERTMANAGER)
    return Status::invalid("notifier.secret_file",
                           "only a webhook notifier signs its requests; an alertmanager one takes no secret_file");
  if (auto problem = config::check_text(notifier.secret_file())) return Status::invalid("notifier.secret_file", *problem);
  TG_ALERTS_RETURN_IF_ERROR(check_duration_ms("notifier.repeat_interval_ms", notifier.repeat_interval_ms()));
  if (notifier.timeout_ms() < static_cast<std::uint64_t>(config::min_notifier_timeout.count()) ||
      notifier.timeout_ms() > static_cast<std::uint64_t>(config::max_notifier_timeout.count()))
    return Status::invalid("notifier.timeout_ms",
                           "must be from 100 to 300000 (5 m), got " + std::to_string(notifier.timeout_ms()));
  return {};
}

}  // namespace tg::control::alerts
