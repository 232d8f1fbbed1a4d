// Token buckets as GCRA, the generic cell rate algorithm (docs/configuration.md,
// rate_limit and limits): a bucket is one number, its theoretical arrival
// time (TAT), the time at which it would be full again.
//
// A request arriving at `now` is admitted when TAT - now <= tolerance, and
// then moves TAT to max(TAT, now) + interval. With interval = period / count
// and tolerance = (burst - 1) x interval this is a token bucket holding
// `burst` tokens refilled at count per period: `burst` requests at once from
// a full bucket, then one per interval; over any span t at most
// burst + t / interval requests are admitted.
//
// gcra_decide is the pure step. SharedBucket applies it to one atomic 64-bit
// TAT with a compare-and-swap, so every worker of a proxy shares the bucket
// exactly and without a lock (a fixed bucket); a worker-local TAT (a keyed
// bucket, limits/keyed_buckets.hpp) applies it with a plain store.
#pragma once

#include <atomic>
#include <cstdint>

namespace tg::proxy::limits {

// A bucket's shape in GCRA terms.
struct GcraShape {
  std::uint64_t interval_ns = 1;   // between two requests at the sustained rate
  std::uint64_t tolerance_ns = 0;  // (burst - 1) x interval: how far TAT may run ahead of now

  // `count` per `period_ns`, at most `burst` at once (0: `count`), as the
  // share of one of `shares` workers (each gets the rate / shares and the
  // burst / shares rounded up, at least 1). count >= 1.
  static GcraShape of(std::uint64_t count, std::uint64_t period_ns, std::uint64_t burst, unsigned shares = 1);
};

struct GcraDecision {
  bool allowed = false;
  std::uint64_t wait_ns = 0;    // refused: until a request would be admitted
  std::uint64_t remaining = 0;  // admitted: requests that would still be admitted at once after this one
};

// The step for a bucket at `tat` and a request at `now_ns`; `next_tat` is the
// bucket's new TAT when the request is admitted (unchanged otherwise).
GcraDecision gcra_decide(std::uint64_t tat, std::uint64_t now_ns, const GcraShape& shape, std::uint64_t& next_tat);

// A bucket shared by the workers of a proxy: one 64-bit TAT, taken with a
// compare-and-swap (retried only when another worker took it meanwhile).
class alignas(64) SharedBucket {
 public:
  // Admits (and counts) the request, or refuses it leaving the bucket as it was.
  GcraDecision take(std::uint64_t now_ns, const GcraShape& shape);
  std::uint64_t tat() const { return tat_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> tat_{0};
};

}  // namespace tg::proxy::limits
