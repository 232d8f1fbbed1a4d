#include "clock.hpp"

namespace tg::control {

std::int64_t SystemClock::unix_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Clock::SteadyTime SystemClock::steady() const { return std::chrono::steady_clock::now(); }

}  // namespace tg::control
