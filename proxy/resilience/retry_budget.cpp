#include "resilience/retry_budget.hpp"

namespace tg::proxy::resilience {

bool RetryBudget::allow(std::uint64_t now_ms, std::uint32_t percent, std::uint32_t min_per_second, bool retrying) {
  if (now_ms - window_start_ms_ >= 1000) {
    window_start_ms_ = now_ms;
    in_window_ = 0;
  }
  const std::uint64_t retries = active_retries_ + (retrying ? 0u : 1u);
  const bool within_ratio = retries * 100 <= static_cast<std::uint64_t>(percent) * active_requests_;
  if (!within_ratio && in_window_ >= min_per_second) return false;
  ++in_window_;
  if (!retrying) ++active_retries_;
  return true;
}

}  // namespace tg::proxy::resilience
