// `retention: { rollups, events, alert_history, audit }`: the control plane's
// history limits (docs/configuration.md, "retention"). Each a duration: 0
// keeps the rows forever, anything else is at least min_retention (1h) and
// at most 365d, as the --audit-retention and --events-retention flags.
#include "config/sections.hpp"

#include "config/rules.hpp"

namespace tg::config {

void read_retention(Diagnostics& diagnostics, const Value& value, Retention& out) {
  out.location = value.location;
  const auto duration_into = [&diagnostics](std::optional<Duration>& slot) {
    return [&diagnostics, &slot](const Value& field) {
      const std::optional<Duration> duration = read_duration(diagnostics, field, ZeroDuration::allowed);
      if (!duration) return;
      if (duration->count() != 0 && *duration < min_retention) {
        report(diagnostics, field, "at least 1h (or 0 to keep forever), got " + field.node.Scalar());
        return;
      }
      slot = *duration;
    };
  };
  read_mapping(diagnostics, value, {
      {"rollups", duration_into(out.rollups)},
      {"events", duration_into(out.events)},
      {"alert_history", duration_into(out.alert_history)},
      {"audit", duration_into(out.audit)},
  });
}

}  // namespace tg::config
