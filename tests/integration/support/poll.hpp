// Polling with a deadline: the integration tier never sleeps a fixed time to
// wait for something to happen; it checks often until a deadline.
#pragma once

#include <chrono>
#include <thread>
#include <utility>

namespace tg::itest {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Calls `predicate` every `interval` until it returns true (→ true) or
// `deadline` passes (→ false; the predicate is tried one last time at the end).
template <class Predicate>
bool poll_until(Clock::time_point deadline, Predicate&& predicate,
                std::chrono::milliseconds interval = 5ms) {
  for (;;) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

template <class Predicate>
bool poll_for(std::chrono::milliseconds timeout, Predicate&& predicate,
              std::chrono::milliseconds interval = 5ms) {
  return poll_until(Clock::now() + timeout, std::forward<Predicate>(predicate), interval);
}

// Milliseconds elapsed since `start`, for timing assertions.
inline double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace tg::itest
