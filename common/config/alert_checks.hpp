// The rules an alert rule or notifier keeps (docs/alerting.md, "Rules"), in
// one place for both ways they arrive: the YAML section reader reports a
// broken one at FILE:LINE:COLUMN, and tg-control's alerts/convert checks one
// from the Admin API, with the same wording after "FIELD: ".
#pragma once

#include "config/model.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

// request_rate | error_rate | timeout_rate | auth_failures | rate_limited |
// p50_latency | p95_latency | p99_latency | unhealthy_instances |
// ejected_instances | event_count | restarts | no_traffic
const std::vector<std::string>& alert_metrics();
const std::vector<std::string>& alert_ops();          // > >= < <= == !=
const std::vector<std::string>& event_levels();       // debug info warning error critical (ascending)
const std::vector<std::string>& alert_group_names();  // tenant service route instance

inline constexpr Duration min_alert_window{1'000};
inline constexpr Duration max_alert_window{3'600'000};
inline constexpr Duration min_notifier_timeout{100};
inline constexpr Duration max_notifier_timeout{300'000};

std::optional<std::string> check_alert_metric(std::string_view metric);
std::optional<std::string> check_alert_op(std::string_view op);
std::optional<std::string> check_event_level(std::string_view level);
std::optional<std::string> check_alert_window(Duration window);
std::optional<std::string> check_group_name(std::string_view name);
// A notifier's url: http:// or https://, a host, no fragment.
std::optional<std::string> check_notifier_url(std::string_view url);

// Where a rule reads its metric, and what its scope and group_by may name:
// request metrics read route series, or instance series when the scope or
// group_by names an instance or instance labels (those carry no route);
// auth_failures and rate_limited happen before an instance is chosen (route
// series only); instance and event metrics know no route.
struct AlertShape {
  std::string metric;
  bool scope_route = false, scope_instance = false, scope_labels = false;
  bool group_route = false, group_instance = false;
};
struct ShapeProblem {
  std::string field;    // "scope.route", "scope.instance", "scope.labels" or "group_by"
  std::string problem;  // to follow "FIELD: "
};
std::optional<ShapeProblem> check_alert_shape(const AlertShape& shape);

// Which condition fields a metric takes: event_count needs `kind`; only it
// takes kind and level; every metric but no_traffic needs op and threshold.
bool metric_takes_event_filter(std::string_view metric);
bool metric_needs_threshold(std::string_view metric);

}  // namespace tg::config
