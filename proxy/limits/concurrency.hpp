// A tenant's requests in flight on one proxy (limits.max_concurrent): one
// atomic counter shared by the workers, taken with a compare-and-swap so the
// count never passes the limit, and given back exactly once per request by
// the request's ConcurrencySlot (limits/request_limits.hpp).
#pragma once

#include <atomic>
#include <cstdint>

namespace tg::proxy::limits {

class alignas(64) ConcurrencyCell {
 public:
  // One more request in flight if fewer than `limit` are.
  bool try_acquire(std::uint32_t limit) {
    std::int64_t now = in_flight_.load(std::memory_order_relaxed);
    do {
      if (now >= static_cast<std::int64_t>(limit)) return false;
    } while (!in_flight_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
    return true;
  }
  // One more request in flight whatever the count (shadow limits count
  // without refusing); returns whether it was at `limit` already.
  bool acquire_over(std::uint32_t limit) {
    return in_flight_.fetch_add(1, std::memory_order_relaxed) >= static_cast<std::int64_t>(limit);
  }
  void release() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace tg::proxy::limits
