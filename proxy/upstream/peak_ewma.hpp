// Peak-EWMA latency estimate per instance (peak_ewma policy), as in
// Finagle and Linkerd, plus the penalty for instances that answer 503/429.
//
// Estimate update with a sample s (ms) at time t:
//   s > estimate:  estimate = s                         (peaks count at once)
//   otherwise:     estimate = estimate * w + s * (1 - w), w = exp(-(t - last) / tau)
// Between samples the estimate the picker sees decays toward 0 with the same
// weight (estimate_at), so an instance that was slow once and then got no
// traffic is probed again after a while instead of being starved forever.
//
// Fixed defaults (Linkerd's): a new instance starts at 30 ms, decaying from
// the first time a picker looks at it, and its first real sample replaces
// that default; tau = 10 s.
//
// An instance that has not answered yet is probed one request at a time
// (cost): with nothing in flight its cost is 0, so it wins its pairs and is
// measured at once; with its probe under way it costs the 30 ms default per
// request. Linkerd uses the default alone, which starves an unmeasured
// instance for tens of seconds when the measured ones answer in a few
// milliseconds (its default decays below theirs only after ~20 s).
// Times are the worker's steady milliseconds (Worker::now_ms, 10 ms
// resolution: ample against tau); samples are exact nanosecond RTTs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tg::proxy {

inline constexpr double kDefaultRttMs = 30.0;
inline constexpr double kDecayMs = 10'000.0;
// A 503/429 counts as a response this slow, so fast errors never look cheap.
inline constexpr double kPenaltyRttMs = 1'000.0;
// How long an instance that answered 503/429 is avoided: its Retry-After,
// else this, and never longer than the cap.
inline constexpr std::uint64_t kDefaultPenaltyMs = 1'000;
inline constexpr std::uint64_t kMaxPenaltyMs = 60'000;

struct PeakEwma {
  double rtt_ms = kDefaultRttMs;
  std::uint64_t at_ms = 0;  // since when rtt_ms stands; 0: not yet seen (no decay)
  bool measured = false;    // rtt_ms comes from a sample, not the default

  // Starts the default's decay the first time the instance is considered.
  void touch(std::uint64_t now_ms) {
    if (at_ms == 0) at_ms = now_ms;
  }
  void observe(double sample_ms, std::uint64_t now_ms);
  // The estimate as of `now_ms`, decayed toward 0 since the last sample.
  double estimate_at(std::uint64_t now_ms) const;
  // The picker's cost with `in_flight` requests under way, before weighting:
  // estimate × (in_flight + 1), and 0 for an unmeasured idle instance.
  double cost(std::uint32_t in_flight, std::uint64_t now_ms) const {
    if (!measured && in_flight == 0) return 0;
    return estimate_at(now_ms) * (in_flight + 1.0);
  }
};

// The penalty window for a Retry-After value (RFC 9110 §10.2.3): delay-seconds
// or an HTTP-date (IMF-fixdate, RFC 850 or asctime form) compared with
// `now_unix_s`. nullopt when the value is absent (empty) or malformed; the
// caller then uses kDefaultPenaltyMs. The result is capped at kMaxPenaltyMs; a
// date in the past gives 0.
std::optional<std::uint64_t> parse_retry_after_ms(std::string_view value, std::int64_t now_unix_s);

// parse_retry_after_ms, or kDefaultPenaltyMs when it has no answer.
std::uint64_t penalty_window_ms(std::string_view retry_after, std::int64_t now_unix_s);

}  // namespace tg::proxy
