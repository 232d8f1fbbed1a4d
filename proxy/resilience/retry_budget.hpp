// The retry budget of one service on one worker (docs/life-of-a-request.md,
// Retries): retries under way stay within budget_percent of the requests
// under way, and at least min_retries_per_second are allowed whatever the
// ratio. Worker-local plain counters: no lock, no atomic. Pure (the clock
// comes in as an argument).
#pragma once

#include <cstdint>

namespace tg::proxy::resilience {

class RetryBudget {
 public:
  // A request of the service took its first instance.
  void request_started() { ++active_requests_; }
  // It ended; `retrying`: it had been allowed a retry.
  void request_ended(bool retrying) {
    if (active_requests_) --active_requests_;
    if (retrying && active_retries_) --active_retries_;
  }
  // Whether a request may retry now; `retrying`: it was allowed one before
  // (it already counts among the retries under way). Counts the retry when allowed.
  bool allow(std::uint64_t now_ms, std::uint32_t percent, std::uint32_t min_per_second, bool retrying);

  std::uint32_t active_requests() const { return active_requests_; }
  std::uint32_t active_retries() const { return active_retries_; }

 private:
  std::uint32_t active_requests_ = 0;
  std::uint32_t active_retries_ = 0;
  std::uint64_t window_start_ms_ = 0;  // the current one-second window
  std::uint32_t in_window_ = 0;        // retries allowed in it
};

}  // namespace tg::proxy::resilience
