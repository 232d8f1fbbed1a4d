// `tgctl rules test FILE --series SERIES.yaml` (docs/alerting.md, "Testing
// rules offline"): the rules of a configuration file evaluated over a series
// file's timeline through the same eval and lifecycle code as tg-control,
// with no server, printing when each alert changes state. The idea of
// `promtool test rules`.
#pragma once

#include "alerts/eval.hpp"
#include "alerts/lifecycle.hpp"

#include "config/loader.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::control::alerts {

// A series file, read (docs/alerting.md has the format). Values are one per
// step of `interval`; a missing value ("_") means no data in that step.
struct SeriesFile {
  std::int64_t interval_ms = 10'000;
  std::size_t proxies = 1;  // connected, each reporting every step
  std::vector<InstanceState> instances;

  struct Traffic {
    SeriesKey key;
    std::vector<std::optional<double>> requests, errors, timeouts, auth_failures, rate_limited, latency_ms;
  };
  struct Events {
    std::string tenant, service, instance, kind, level;
    std::vector<std::optional<double>> counts;
  };
  struct Health {
    std::string instance;
    std::vector<std::optional<double>> unhealthy, ejected;  // 0 or 1 per step
  };
  struct Restarts {
    std::string tenant, service, instance;
    std::vector<std::optional<double>> total;  // the container's restart counter per step
  };
  std::vector<Traffic> series;
  std::vector<Events> events;
  std::vector<Health> health;
  std::vector<Restarts> restarts;

  std::size_t steps() const;  // the longest list of values
};

struct SeriesLoad {
  std::optional<SeriesFile> file;
  std::vector<config::ConfigError> errors;  // FILE:LINE:COLUMN, sorted
};
SeriesLoad load_series(std::string_view text, const std::string& file_name);
SeriesLoad load_series_file(const std::string& path);

// One state change of one alert.
struct TimelineEntry {
  std::int64_t offset_ms = 0;  // since the series' start
  std::string rule;
  Labels group;
  v1::Alert::State from = v1::Alert::STATE_UNSPECIFIED, to = v1::Alert::STATE_UNSPECIFIED;
  double value = 0;
};

// Evaluates `rules` (checked) every `eval_interval_ms` from the first
// interval's end through the last, the data of a step visible once its
// interval has passed (as a proxy reports it). Nothing is known before the
// series start: a rule is skipped until its window fits, as after a
// tg-control start without rollups.
std::vector<TimelineEntry> run_timeline(const std::vector<v1::AlertRule>& rules, const SeriesFile& series,
                                        std::int64_t eval_interval_ms);

// "+1m30s  acme-errors  {service=\"sim\"}  pending -> firing  value=0.25"
std::string format_entry(const TimelineEntry& entry);

}  // namespace tg::control::alerts
