// A clock tests move by hand (both readings advance together).
#pragma once

#include "clock.hpp"

namespace tg::control::test {

class FakeClock final : public Clock {
 public:
  std::int64_t unix_ms() const override { return unix_ms_; }
  SteadyTime steady() const override { return steady_; }
  void advance(std::chrono::milliseconds by) {
    unix_ms_ += by.count();
    steady_ += by;
  }

 private:
  std::int64_t unix_ms_ = 1'700'000'000'000;
  SteadyTime steady_ = SteadyTime{} + std::chrono::hours(1);
};

}  // namespace tg::control::test
