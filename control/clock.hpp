// The clock of the control plane, injectable so tests can move time.
//
// Two readings, never mixed: wall time (UTC Unix milliseconds) is what is
// stored and shown (created/updated times, audit, last heartbeat); steady time
// is what every deadline is computed from (heartbeat TTL expiry), so a wall
// clock step never expires or revives an instance.
#pragma once

#include <chrono>
#include <cstdint>

namespace tg::control {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual std::int64_t unix_ms() const = 0;
  virtual SteadyTime steady() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t unix_ms() const override;
  SteadyTime steady() const override;
};

}  // namespace tg::control
