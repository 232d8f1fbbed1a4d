// The worker's pseudo-random generator for the randomised policies
// (weighted random, the two-choices draws of least_request and peak_ewma).
#pragma once

#include <cstdint>

namespace tg::proxy::balancing {

// Small fast PRNG (xorshift64*), one per worker; never shared between threads.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  // Uniform in [0, bound); bound > 0.
  std::uint64_t below(std::uint64_t bound) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  std::uint64_t state_;
};

}  // namespace tg::proxy::balancing
