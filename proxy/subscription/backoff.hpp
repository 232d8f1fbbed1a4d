// Reconnect delays of the control client: exponential with equal jitter, so a
// fleet of proxies that lost tg-control together does not come back in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace tg::proxy::subscription {

struct BackoffPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{5000};
};

class Backoff {
 public:
  Backoff(BackoffPolicy policy, std::uint64_t seed);

  // The wait before the next attempt, uniformly in [base/2, base], where base
  // starts at `initial` and doubles on each call up to `max`.
  std::chrono::milliseconds next();
  // After a successful update: the next wait starts from `initial` again.
  void reset();
  // The base the next call draws from.
  std::chrono::milliseconds base() const { return base_; }

 private:
  BackoffPolicy policy_;
  std::chrono::milliseconds base_;
  std::mt19937_64 random_;
};

}  // namespace tg::proxy::subscription
