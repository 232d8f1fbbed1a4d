#include "resilience/breaker.hpp"

#include <algorithm>

namespace tg::proxy::resilience {

std::string_view to_string(BreakerState state) {
  switch (state) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

std::string_view to_string(BreakerReason reason) {
  switch (reason) {
    case BreakerReason::consecutive_failures: return "consecutive_failures";
    case BreakerReason::retry_after: return "retry_after";
    case BreakerReason::ejection_over: return "ejection_over";
    case BreakerReason::probe_failed: return "probe_failed";
    case BreakerReason::probe_succeeded: return "probe_succeeded";
    case BreakerReason::health_recovered: return "health_recovered";
  }
  return "unknown";
}

BreakerPolicy BreakerPolicy::from(const config::Outlier& o) {
  BreakerPolicy p;
  p.consecutive_failures =
      static_cast<std::uint32_t>(std::clamp<std::int64_t>(o.consecutive_failures, 1, kMaxConsecutiveFailures));
  p.count_5xx = o.count_5xx;
  const auto ms = [](config::Duration d) {
    return std::min(kMaxEjectionMs, static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())));
  };
  p.base_ejection_ms = ms(o.base_ejection);
  p.max_ejection_ms = std::max(p.base_ejection_ms, ms(o.max_ejection));
  p.max_ejection_percent = static_cast<std::uint32_t>(std::clamp(o.max_ejection_percent, 0, 100));
  p.half_open_probes = static_cast<std::uint32_t>(std::clamp<std::int64_t>(o.half_open_probes, 1, kMaxHalfOpenProbes));
  return p;
}

std::uint64_t BreakerPolicy::ejection_ms(std::uint32_t ejections) const {
  const std::uint64_t n = std::max<std::uint32_t>(1, ejections);
  // base x n without overflow: past the cap it is the cap.
  if (base_ejection_ms != 0 && n > max_ejection_ms / base_ejection_ms) return max_ejection_ms;
  return std::min(max_ejection_ms, base_ejection_ms * n);
}

bool ejection_allowed(std::uint32_t ejected, std::uint32_t instances, std::uint32_t max_percent) {
  if (ejected == 0 && instances >= 2) return true;
  return (static_cast<std::uint64_t>(ejected) + 1) * 100 <= static_cast<std::uint64_t>(max_percent) * instances;
}

Transition Breaker::move(BreakerState to, BreakerReason reason) {
  Transition t{state_, to, reason};
  state_ = to;
  return t;
}

bool Breaker::start_try(Transition& t) {
  t = {};
  switch (state_) {
    case BreakerState::closed:
      return false;
    case BreakerState::open:
      t = move(BreakerState::half_open, BreakerReason::ejection_over);
      probes_ = 1;
      return true;
    case BreakerState::half_open:
      ++probes_;
      return true;
  }
  return false;
}

Transition Breaker::succeeded(bool probe) {
  if (state_ == BreakerState::closed) {
    if (failures_ != 0) failures_ = 0;  // the healthy path writes nothing
    return {};
  }
  // A try that started before the breaker opened proves nothing about now.
  if (state_ != BreakerState::half_open || !probe) return {};
  probes_ = 0;
  failures_ = 0;
  ejections_ = 0;
  return move(BreakerState::closed, BreakerReason::probe_succeeded);
}

Transition Breaker::failed(std::uint64_t now_ms, const BreakerPolicy& policy, bool probe, bool may_eject) {
  if (state_ == BreakerState::half_open) {
    if (!probe) return {};
    if (probes_) --probes_;
    ++ejections_;
    open_until_ms_ = now_ms + policy.ejection_ms(ejections_);
    return move(BreakerState::open, BreakerReason::probe_failed);
  }
  if (state_ == BreakerState::open) return {};
  ++failures_;
  // Refused by the service's cap: it stays closed and is tried again at its next failure.
  if (failures_ < policy.consecutive_failures || !may_eject) return {};
  failures_ = 0;
  ++ejections_;
  open_until_ms_ = now_ms + policy.ejection_ms(ejections_);
  return move(BreakerState::open, BreakerReason::consecutive_failures);
}

Transition Breaker::back_off(std::uint64_t now_ms, const BreakerPolicy& policy, std::uint64_t retry_after_ms,
                             bool probe, bool may_eject) {
  const std::uint64_t until = now_ms + std::min(retry_after_ms, policy.max_ejection_ms);
  switch (state_) {
    case BreakerState::open:
      open_until_ms_ = std::max(open_until_ms_, until);
      return {};
    case BreakerState::half_open:
      if (probe && probes_) --probes_;
      open_until_ms_ = until;
      return move(BreakerState::open, BreakerReason::retry_after);
    case BreakerState::closed:
      break;
  }
  if (!may_eject) return {};
  failures_ = 0;
  open_until_ms_ = until;
  return move(BreakerState::open, BreakerReason::retry_after);
}

void Breaker::abandon_probe(bool probe) {
  if (probe && state_ == BreakerState::half_open && probes_) --probes_;
}

Transition Breaker::close_on_health() {
  if (state_ == BreakerState::closed) return {};
  probes_ = 0;
  failures_ = 0;
  ejections_ = 0;
  return move(BreakerState::closed, BreakerReason::health_recovered);
}

}  // namespace tg::proxy::resilience
