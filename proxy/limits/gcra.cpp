#include "limits/gcra.hpp"

#include <algorithm>

namespace tg::proxy::limits {

namespace {
// Far enough ahead that no sum below overflows (now is a steady-clock
// reading: years of nanoseconds are below 2^62).
constexpr std::uint64_t kMaxSpanNs = std::uint64_t{1} << 61;
}  // namespace

GcraShape GcraShape::of(std::uint64_t count, std::uint64_t period_ns, std::uint64_t burst, unsigned shares) {
  shares = std::max(1u, shares);
  count = std::max<std::uint64_t>(1, count);
  if (burst == 0) burst = count;
  burst = std::max<std::uint64_t>(1, (burst + shares - 1) / shares);
  GcraShape shape;
  // Each share gets count / shares per period: its interval is `shares` times longer.
  const std::uint64_t interval = period_ns / count;
  shape.interval_ns = std::clamp<std::uint64_t>(interval > kMaxSpanNs / shares ? kMaxSpanNs : interval * shares, 1,
                                                kMaxSpanNs);
  shape.tolerance_ns = burst - 1 > kMaxSpanNs / shape.interval_ns ? kMaxSpanNs : (burst - 1) * shape.interval_ns;
  return shape;
}

GcraDecision gcra_decide(std::uint64_t tat, std::uint64_t now_ns, const GcraShape& shape, std::uint64_t& next_tat) {
  const std::uint64_t start = std::max(tat, now_ns);
  const std::uint64_t ahead = start - now_ns;
  GcraDecision decision;
  if (ahead > shape.tolerance_ns) {
    next_tat = tat;
    decision.wait_ns = ahead - shape.tolerance_ns;
    return decision;
  }
  next_tat = start + shape.interval_ns;
  decision.allowed = true;
  // Further requests at `now` pass while next_tat + k x interval - now <= tolerance + interval.
  const std::uint64_t room = shape.tolerance_ns + shape.interval_ns - (next_tat - now_ns);
  decision.remaining = room / shape.interval_ns;
  return decision;
}

GcraDecision SharedBucket::take(std::uint64_t now_ns, const GcraShape& shape) {
  std::uint64_t tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t next = tat;
    const GcraDecision decision = gcra_decide(tat, now_ns, shape, next);
    if (!decision.allowed) return decision;
    // Relaxed: the TAT is the only state; nothing else is published with it.
    if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return decision;
  }
}

}  // namespace tg::proxy::limits
