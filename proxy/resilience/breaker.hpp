// Passive outlier detection: one breaker per instance (docs/life-of-a-request.md,
// Breakers). Pure: the clock comes in as an argument, so the state machine is
// unit-tested with a fake one. One per instance and proxy lives packed in a
// BreakerCell (resilience/breaker_cell.hpp), shared by the workers, which
// applies these transitions atomically and keeps the service's count of
// instances not closed.
//
//   closed --consecutive_failures gateway failures--> open
//   closed --429/503 with Retry-After--------------> open (for that long)
//   open   --its time passed, a try admitted-------> half_open (the try is a probe)
//   half_open --a probe succeeded------------------> closed
//   half_open --a probe failed---------------------> open (base_ejection x ejections)
//   open/half_open --reported healthy again--------> closed
#pragma once

#include "config/model.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tg::proxy::resilience {

enum class BreakerState : std::uint8_t { closed, open, half_open };
inline constexpr std::size_t kBreakerStates = 3;
std::string_view to_string(BreakerState state);

enum class BreakerReason : std::uint8_t {
  consecutive_failures,  // closed -> open
  retry_after,           // -> open: a 429 or 503 with Retry-After
  ejection_over,         // open -> half_open: its time passed and a probe was admitted
  probe_failed,          // half_open -> open
  probe_succeeded,       // half_open -> closed
  health_recovered,      // -> closed: the control plane reported the instance healthy again
};
inline constexpr std::size_t kBreakerReasons = 6;
std::string_view to_string(BreakerReason reason);

struct BreakerPolicy {
  // Bounds of the packed cell (BreakerCell): larger configured values are
  // taken as these (docs/configuration.md, outlier).
  static constexpr std::uint32_t kMaxConsecutiveFailures = 1023;
  static constexpr std::uint32_t kMaxHalfOpenProbes = 63;
  static constexpr std::uint64_t kMaxEjectionMs = std::uint64_t{1} << 36;  // ~2.2 years

  std::uint32_t consecutive_failures = 5;
  bool count_5xx = false;
  std::uint64_t base_ejection_ms = 10'000;
  std::uint64_t max_ejection_ms = 300'000;
  std::uint32_t max_ejection_percent = 10;
  std::uint32_t half_open_probes = 1;

  static BreakerPolicy from(const config::Outlier& outlier);
  // base_ejection x ejections, capped by max_ejection (never below base_ejection).
  std::uint64_t ejection_ms(std::uint32_t ejections) const;
};

struct Transition {
  BreakerState from = BreakerState::closed;
  BreakerState to = BreakerState::closed;
  BreakerReason reason = BreakerReason::consecutive_failures;
  bool happened() const { return from != to; }
  // The change in the service's count of instances not closed.
  int ejected_delta() const { return (to != BreakerState::closed) - (from != BreakerState::closed); }
};

// Whether one more instance of a service of `instances` may leave the closed
// state while `ejected` already have. The cap is checked after counting the
// instance to eject: (ejected + 1) <= max_percent of instances; but one may
// always be ejected in a service of 2 or more.
bool ejection_allowed(std::uint32_t ejected, std::uint32_t instances, std::uint32_t max_percent);

class Breaker {
 public:
  BreakerState state() const { return state_; }
  std::uint64_t open_until_ms() const { return open_until_ms_; }
  std::uint32_t ejections() const { return ejections_; }
  std::uint32_t probes() const { return probes_; }
  std::uint32_t failures() const { return failures_; }

  // Whether a new try may go to the instance now: closed, yes; open, once its
  // time has passed (the try becomes a probe); half-open, while fewer than
  // half_open_probes probes are under way.
  bool admits(std::uint64_t now_ms, const BreakerPolicy& policy) const {
    if (state_ == BreakerState::closed) return true;
    if (state_ == BreakerState::open) return now_ms >= open_until_ms_;
    return probes_ < policy.half_open_probes;
  }

  // A try starts on the instance; admits() said yes. Returns whether the try
  // is a probe (its outcome decides the half-open state); `t` says whether
  // the state moved (open -> half_open).
  bool start_try(Transition& t);

  // The outcome of a try; `probe` is what start_try returned for it and
  // `may_eject` is ejection_allowed() for the instance's service now.
  Transition succeeded(bool probe);
  Transition failed(std::uint64_t now_ms, const BreakerPolicy& policy, bool probe, bool may_eject);
  // A 429 or 503 with Retry-After: backed off for `retry_after_ms` (capped by max_ejection).
  Transition back_off(std::uint64_t now_ms, const BreakerPolicy& policy, std::uint64_t retry_after_ms, bool probe,
                      bool may_eject);
  // A probe's request ended without an outcome (the client went away).
  void abandon_probe(bool probe);
  // Health flipped unhealthy -> healthy: closed at once.
  Transition close_on_health();

 private:
  friend class BreakerCell;  // packs and unpacks the fields
  Transition move(BreakerState to, BreakerReason reason);

  BreakerState state_ = BreakerState::closed;
  std::uint32_t failures_ = 0;   // consecutive gateway failures while closed
  std::uint32_t ejections_ = 0;  // since the breaker last closed after a probe
  std::uint32_t probes_ = 0;     // half-open: probes under way
  std::uint64_t open_until_ms_ = 0;
};

}  // namespace tg::proxy::resilience
