#include "config/alert_checks.hpp"

#include "config/rules.hpp"
#include "config/yaml_reader.hpp"  // unknown_choice

#include <algorithm>

namespace tg::config {
namespace {

bool among(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_instance_metric(std::string_view metric) {
  return metric == "unhealthy_instances" || metric == "ejected_instances";
}
bool is_signal_metric(std::string_view metric) { return metric == "event_count" || metric == "restarts"; }

}  // namespace

const std::vector<std::string>& alert_metrics() {
  static const std::vector<std::string> names = {
      "request_rate", "error_rate",          "timeout_rate",      "auth_failures", "rate_limited",
      "p50_latency",  "p95_latency",         "p99_latency",       "unhealthy_instances",
      "ejected_instances", "event_count",    "restarts",          "no_traffic"};
  return names;
}

const std::vector<std::string>& alert_ops() {
  static const std::vector<std::string> ops = {">", ">=", "<", "<=", "==", "!="};
  return ops;
}

const std::vector<std::string>& event_levels() {
  static const std::vector<std::string> levels = {"debug", "info", "warning", "error", "critical"};
  return levels;
}

const std::vector<std::string>& alert_group_names() {
  static const std::vector<std::string> names = {"tenant", "service", "route", "instance"};
  return names;
}

std::optional<std::string> check_alert_metric(std::string_view metric) {
  if (among(alert_metrics(), metric)) return std::nullopt;
  return unknown_choice("metric", metric, alert_metrics());
}

std::optional<std::string> check_alert_op(std::string_view op) {
  if (among(alert_ops(), op)) return std::nullopt;
  return unknown_choice("op", op, alert_ops());
}

std::optional<std::string> check_event_level(std::string_view level) {
  if (among(event_levels(), level)) return std::nullopt;
  return unknown_choice("level", level, event_levels());
}

std::optional<std::string> check_alert_window(Duration window) {
  if (window >= min_alert_window && window <= max_alert_window) return std::nullopt;
  return "must be from 1s to 1h (the in-memory windows hold the last hour), got " + duration_text(window);
}

std::optional<std::string> check_group_name(std::string_view name) {
  if (among(alert_group_names(), name)) return std::nullopt;
  return unknown_choice("group_by label", name, alert_group_names());
}

std::optional<std::string> check_notifier_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return "must start with http:// or https://, got \"" + std::string(url) + '"';
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return "no host in \"" + std::string(url) + '"';
  if (url.find('#') != std::string_view::npos) return "a fragment (#...) is not sent; remove it";
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "whitespace or control characters in the URL";
  return std::nullopt;
}

std::optional<ShapeProblem> check_alert_shape(const AlertShape& s) {
  const bool instance_level = s.scope_instance || s.scope_labels || s.group_instance;
  const bool route_level = s.scope_route || s.group_route;
  const std::string route_field = s.scope_route ? "scope.route" : "group_by";
  if (is_instance_metric(s.metric) || is_signal_metric(s.metric)) {
    if (route_level)
      return ShapeProblem{route_field, s.metric + " is counted per instance, which has no route; scope and group "
                                                  "it by tenant, service or instance"};
    return std::nullopt;
  }
  if (s.metric == "auth_failures" || s.metric == "rate_limited") {
    if (instance_level) {
      const std::string field = s.scope_instance ? "scope.instance" : s.scope_labels ? "scope.labels" : "group_by";
      return ShapeProblem{field, s.metric + " is counted before an instance is chosen (route series only); scope "
                                            "and group it by tenant, service or route"};
    }
    return std::nullopt;
  }
  if (instance_level && route_level)
    return ShapeProblem{route_field, "a rule that names an instance or instance labels reads the instance series, "
                                     "which carry no route; drop the route or the instance"};
  return std::nullopt;
}

bool metric_takes_event_filter(std::string_view metric) { return metric == "event_count"; }
bool metric_needs_threshold(std::string_view metric) { return metric != "no_traffic"; }

}  // namespace tg::config
