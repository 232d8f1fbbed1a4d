// The life of one alert (docs/alerting.md, "Lifecycle"): inactive →
// pending → firing → resolved, driven by the evaluated condition of its
// group at each evaluation. Pure: the book (alerts/book.hpp) keeps one Track
// per open fingerprint and persists what step() reports.
//
//   condition true,  inactive           → pending (firing at once when for = 0)
//   condition true,  pending for >= for → firing
//   condition false, pending            → resolved without ever firing (not notified)
//   condition false, firing             → still firing until it has been false
//                                         for keep_firing_for, then resolved
//   condition true again while firing   → the false streak restarts (no new episode:
//                                         a flapping condition makes one episode)
#pragma once

#include "tenantgate/v1/alerting.pb.h"

#include <cstdint>

namespace tg::control::alerts {

namespace v1 = ::tenantgate::v1;

struct Track {
  v1::Alert::State state = v1::Alert::STATE_UNSPECIFIED;  // UNSPECIFIED = inactive
  std::int64_t active_since_unix_ms = 0;  // pending (or firing) began
  std::int64_t firing_since_unix_ms = 0;  // 0 while pending
  std::int64_t false_since_unix_ms = 0;   // the condition has been false since; 0 = it holds
  double value = 0;                       // at the last step
};

struct Step {
  bool changed = false;  // state changed: from → to
  v1::Alert::State from = v1::Alert::STATE_UNSPECIFIED;
  v1::Alert::State to = v1::Alert::STATE_UNSPECIFIED;
};

// Advances `track` by one evaluation at `now_unix_ms`. A group the rule did
// not report this round is stepped with condition = false.
Step step(Track& track, const v1::AlertRule& rule, bool condition, double value, std::int64_t now_unix_ms);

}  // namespace tg::control::alerts
