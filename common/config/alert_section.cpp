// The control-only sections `alert_rules` and `notifiers` (docs/alerting.md,
// "Rules"). The value rules are config/alert_checks.hpp, shared with the
// Admin API's checks; the names and references across items (duplicate rule
// and notifier names, a rule naming an undeclared notifier) are checked by
// the loader once the whole document is read.
#include "config/alert_checks.hpp"
#include "config/rules.hpp"
#include "config/sections.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace tg::config {
namespace {

std::optional<double> read_number(Diagnostics& diagnostics, const Value& value) {
  if (value.node.IsScalar()) {
    const std::string& text = value.node.Scalar();
    double number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc{} && end == text.data() + text.size() && std::isfinite(number)) return number;
  }
  report(diagnostics, value, "expected a number, got " + describe(value.node));
  return std::nullopt;
}

std::optional<std::string> read_checked(Diagnostics& diagnostics, const Value& value,
                                        std::optional<std::string> (*check)(std::string_view)) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  if (auto problem = check(*text)) {
    report(diagnostics, value, *problem);
    return std::nullopt;
  }
  return text;
}

// Where the fields that later checks point at were written.
struct RuleSites {
  std::optional<Value> condition, metric, kind, level, scope_route, scope_instance, scope_labels, group_by;
};

void read_scope(Diagnostics& diagnostics, const Value& value, AlertRuleConfig& rule, RuleSites& sites) {
  const auto name_into = [&diagnostics](std::string& slot, std::optional<Value>* site = nullptr) {
    return [&diagnostics, &slot, site](const Value& field) {
      if (site != nullptr) *site = field;
      if (auto text = read_name(diagnostics, field)) slot = *text;
    };
  };
  read_mapping(diagnostics, value, {
      {"tenant", name_into(rule.scope_tenant)},
      {"service", name_into(rule.scope_service)},
      {"route", name_into(rule.scope_route, &sites.scope_route)},
      {"instance", name_into(rule.scope_instance, &sites.scope_instance)},
      {"labels",
       [&](const Value& labels) {
         sites.scope_labels = labels;
         if (auto map = read_labels(diagnostics, labels)) rule.scope_labels = std::move(*map);
       }},
  });
}

void read_condition(Diagnostics& diagnostics, const Value& value, AlertRuleConfig& rule, RuleSites& sites) {
  bool has_op = false, has_threshold = false;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"metric",
       [&](const Value& metric) {
         sites.metric = metric;
         if (auto text = read_checked(diagnostics, metric, &check_alert_metric)) rule.metric = *text;
       },
       Presence::required},
      {"op",
       [&](const Value& op) {
         has_op = true;
         if (auto text = read_checked(diagnostics, op, &check_alert_op)) rule.op = *text;
       }},
      {"threshold",
       [&](const Value& threshold) {
         has_threshold = true;
         if (auto number = read_number(diagnostics, threshold)) rule.threshold = *number;
       }},
      {"kind",
       [&](const Value& kind) {
         sites.kind = kind;
         if (auto text = read_name(diagnostics, kind)) rule.event_kind = *text;
       }},
      {"level",
       [&](const Value& level) {
         sites.level = level;
         if (auto text = read_checked(diagnostics, level, &check_event_level)) rule.event_level = *text;
       }},
  });
  if (!is_mapping || rule.metric.empty()) return;
  if (metric_needs_threshold(rule.metric) && (!has_op || !has_threshold))
    report(diagnostics, value, rule.metric + " needs op and threshold (e.g. { metric: " + rule.metric +
                                   ", op: \">\", threshold: 1 })");
  if (metric_takes_event_filter(rule.metric)) {
    if (!sites.kind) report(diagnostics, value, "event_count needs kind: the event kind to count");
  } else {
    if (sites.kind) report(diagnostics, *sites.kind, "only event_count takes kind, not " + rule.metric);
    if (sites.level) report(diagnostics, *sites.level, "only event_count takes level, not " + rule.metric);
  }
}

void read_group_by(Diagnostics& diagnostics, const Value& value, AlertRuleConfig& rule) {
  std::set<std::string> seen;
  read_sequence(diagnostics, value, [&](const Value& item) {
    auto text = read_checked(diagnostics, item, &check_group_name);
    if (!text) return;
    if (!seen.insert(*text).second) {
      report(diagnostics, item, "\"" + *text + "\" is listed twice");
      return;
    }
    rule.group_by.push_back(*text);
  });
}

}  // namespace

void read_alert_rule(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed) {
  AlertRuleConfig rule;
  rule.location = value.location;
  RuleSites sites;
  const auto duration_into = [&diagnostics](Duration& slot, ZeroDuration zero, bool window) {
    return [&diagnostics, &slot, zero, window](const Value& field) {
      auto duration = read_duration(diagnostics, field, zero);
      if (!duration) return;
      if (window)
        if (auto problem = check_alert_window(*duration)) {
          report(diagnostics, field, *problem);
          return;
        }
      slot = *duration;
    };
  };
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"name",
       [&](const Value& name) {
         if (auto text = read_name(diagnostics, name)) {
           rule.name = *text;
           parsed.alert_rule_names.push_back(NameUse{*text, name.location, name.path});
         }
       },
       Presence::required},
      {"scope", [&](const Value& scope) { read_scope(diagnostics, scope, rule, sites); }},
      {"condition",
       [&](const Value& condition) {
         sites.condition = condition;
         read_condition(diagnostics, condition, rule, sites);
       },
       Presence::required},
      {"window", duration_into(rule.window, ZeroDuration::rejected, true)},
      {"for", duration_into(rule.for_duration, ZeroDuration::allowed, false)},
      {"keep_firing_for", duration_into(rule.keep_firing_for, ZeroDuration::allowed, false)},
      {"group_by",
       [&](const Value& group_by) {
         sites.group_by = group_by;
         read_group_by(diagnostics, group_by, rule);
       }},
      {"severity",
       [&](const Value& severity) {
         if (auto text = read_checked(diagnostics, severity, &check_text)) rule.severity = *text;
       }},
      {"notifiers",
       [&](const Value& notifiers) {
         std::set<std::string> seen;
         read_sequence(diagnostics, notifiers, [&](const Value& item) {
           auto text = read_name(diagnostics, item);
           if (!text) return;
           if (!seen.insert(*text).second) {
             report(diagnostics, item, "\"" + *text + "\" is listed twice");
             return;
           }
           rule.notifiers.push_back(*text);
           parsed.notifier_refs.push_back(NameUse{*text, item.location, item.path});
         });
       }},
      {"annotations",
       [&](const Value& annotations) {
         if (auto map = read_labels(diagnostics, annotations)) rule.annotations = std::move(*map);
       }},
  });
  if (!is_mapping) return;
  if (!rule.metric.empty()) {
    AlertShape shape;
    shape.metric = rule.metric;
    shape.scope_route = !rule.scope_route.empty();
    shape.scope_instance = !rule.scope_instance.empty();
    shape.scope_labels = !rule.scope_labels.empty();
    for (const std::string& name : rule.group_by) {
      shape.group_route |= name == "route";
      shape.group_instance |= name == "instance";
    }
    if (auto problem = check_alert_shape(shape)) {
      const std::optional<Value>& site = problem->field == "scope.route"      ? sites.scope_route
                                         : problem->field == "scope.instance" ? sites.scope_instance
                                         : problem->field == "scope.labels"   ? sites.scope_labels
                                                                              : sites.group_by;
      report(diagnostics, site ? *site : value, problem->problem);
    }
  }
  parsed.config.alert_rules.push_back(std::move(rule));
}

void read_notifier(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed) {
  NotifierConfig notifier;
  notifier.location = value.location;
  std::optional<Value> secret_site;
  bool type_known = false;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"name",
       [&](const Value& name) {
         if (auto text = read_name(diagnostics, name)) {
           notifier.name = *text;
           parsed.notifier_names.push_back(NameUse{*text, name.location, name.path});
         }
       },
       Presence::required},
      {"type",
       [&](const Value& type) {
         auto text = read_string(diagnostics, type);
         if (!text) return;
         if (*text == "webhook") {
           notifier.type = NotifierConfig::Type::webhook;
         } else if (*text == "alertmanager") {
           notifier.type = NotifierConfig::Type::alertmanager;
         } else {
           report(diagnostics, type, unknown_choice("notifier type", *text, {"webhook", "alertmanager"}));
           return;
         }
         type_known = true;
       },
       Presence::required},
      {"url",
       [&](const Value& url) {
         if (auto text = read_checked(diagnostics, url, &check_notifier_url)) notifier.url = *text;
       },
       Presence::required},
      {"secret_file",
       [&](const Value& file) {
         secret_site = file;
         auto text = read_string(diagnostics, file);
         if (!text) return;
         if (text->empty()) {
           report(diagnostics, file, "must name a file");
           return;
         }
         notifier.secret_file = *text;
       }},
      {"repeat_interval",
       [&](const Value& interval) {
         if (auto duration = read_duration(diagnostics, interval, ZeroDuration::rejected))
           notifier.repeat_interval = *duration;
       }},
      {"send_resolved",
       [&](const Value& flag) {
         if (auto on = read_bool(diagnostics, flag)) notifier.send_resolved = *on;
       }},
      {"timeout",
       [&](const Value& timeout) {
         auto duration = read_duration(diagnostics, timeout, ZeroDuration::rejected);
         if (!duration) return;
         if (*duration < min_notifier_timeout || *duration > max_notifier_timeout) {
           report(diagnostics, timeout, "must be from 100ms to 5m, got " + duration_text(*duration));
           return;
         }
         notifier.timeout = *duration;
       }},
  });
  if (!is_mapping) return;
  if (type_known && notifier.type == NotifierConfig::Type::alertmanager && secret_site)
    report(diagnostics, *secret_site, "only a webhook notifier signs its requests; an alertmanager one takes no secret_file");
  parsed.config.notifiers.push_back(std::move(notifier));
}

}  // namespace tg::config
