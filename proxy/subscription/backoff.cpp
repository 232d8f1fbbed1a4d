#include "subscription/backoff.hpp"

#include <algorithm>

namespace tg::proxy::subscription {

Backoff::Backoff(BackoffPolicy policy, std::uint64_t seed)
    : policy_(policy), base_(std::max(policy.initial, std::chrono::milliseconds(1))), random_(seed) {
  policy_.max = std::max(policy_.max, base_);
}

std::chrono::milliseconds Backoff::next() {
  const std::int64_t base = base_.count();
  const std::int64_t half = base / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, base - half);
  const std::chrono::milliseconds wait(half + jitter(random_));
  base_ = std::min(base_ * 2, policy_.max);
  return wait;
}

void Backoff::reset() { base_ = std::max(policy_.initial, std::chrono::milliseconds(1)); }

}  // namespace tg::proxy::subscription
