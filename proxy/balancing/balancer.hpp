// Instance selection (DESIGN §5 phase 5).
//
// Policies read the immutable ServiceDef and the worker's per-instance state;
// they never allocate. `exclude` lists snapshot instance indices already tried
// by this request (retries go to another instance when there is one).
#pragma once

#include "runtime/snapshot.hpp"
#include "runtime/worker_table.hpp"

#include <cstdint>
#include <span>

namespace tg::proxy::balancing {

inline constexpr std::int64_t kNone = -1;

// Small fast PRNG (xorshift64*), one per worker.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  // Uniform in [0, bound).
  std::uint64_t below(std::uint64_t bound) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  std::uint64_t state_;
};

// Returns a snapshot instance index, or kNone when no instance is eligible.
std::int64_t pick(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table,
                  std::span<const std::uint32_t> exclude, Random& random);

// Policies this build can serve; build() of a table with another is refused.
bool supported(config::LbPolicy policy);

}  // namespace tg::proxy::balancing
