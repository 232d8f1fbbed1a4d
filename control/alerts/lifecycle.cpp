// step() (alerts/lifecycle.hpp): one evaluation's effect on an alert.
#include "alerts/lifecycle.hpp"

namespace tg::control::alerts {
namespace {

using State = v1::Alert::State;

// A new episode: pending, or firing at once when the rule has no `for`.
void activate(Track& track, const v1::AlertRule& rule, std::int64_t now) {
  track = Track{};
  track.active_since_unix_ms = now;
  if (rule.for_ms() == 0) {
    track.state = v1::Alert::STATE_FIRING;
    track.firing_since_unix_ms = now;
  } else {
    track.state = v1::Alert::STATE_PENDING;
  }
}

}  // namespace

Step step(Track& track, const v1::AlertRule& rule, bool condition, double value, std::int64_t now_unix_ms) {
  const State from = track.state;
  switch (from) {
    case v1::Alert::STATE_UNSPECIFIED:
    case v1::Alert::STATE_RESOLVED:
      if (condition) activate(track, rule, now_unix_ms);
      break;
    case v1::Alert::STATE_PENDING:
      if (!condition) {
        // A pending alert never told anyone: it ends at once, whatever
        // keep_firing_for says (that holds firing alerts only).
        track.state = v1::Alert::STATE_RESOLVED;
        track.false_since_unix_ms = now_unix_ms;
      } else if (now_unix_ms - track.active_since_unix_ms >= static_cast<std::int64_t>(rule.for_ms())) {
        track.state = v1::Alert::STATE_FIRING;
        track.firing_since_unix_ms = now_unix_ms;
      }
      break;
    case v1::Alert::STATE_FIRING:
      if (condition) {
        track.false_since_unix_ms = 0;  // a flap back: the same episode goes on
      } else {
        if (track.false_since_unix_ms == 0) track.false_since_unix_ms = now_unix_ms;
        if (now_unix_ms - track.false_since_unix_ms >= static_cast<std::int64_t>(rule.keep_firing_for_ms()))
          track.state = v1::Alert::STATE_RESOLVED;
      }
      break;
    default: break;
  }
  track.value = value;
  Step result;
  result.from = from;
  result.to = track.state;
  result.changed = from != track.state;
  return result;
}

}  // namespace tg::control::alerts
