// Instance selection (docs/life-of-a-request.md, phase 5).
//
// Policies read the immutable ServiceDef (including the hash ring or Maglev
// table built with the snapshot) and the worker's per-instance state; they
// never allocate, lock or copy. `exclude` lists snapshot instance indices
// already tried by this request (retries go to another instance when there
// is one).
#pragma once

#include "balancing/random.hpp"
#include "table/snapshot.hpp"
#include "table/worker_table.hpp"

#include <cstdint>
#include <span>

namespace tg::proxy::balancing {

inline constexpr std::int64_t kNone = -1;

struct PickRequest {
  std::span<const std::uint32_t> exclude;  // distinct snapshot indices of this service
  std::uint64_t key_hash = 0;              // ip_hash, ring_hash, maglev: request_key_hash()
  std::uint64_t now_ms = 0;                // peak_ewma: the worker's steady clock
};

// Returns a snapshot instance index, or kNone when no instance is eligible.
std::int64_t pick(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table, const PickRequest& request,
                  Random& random);

// Whether pick() reads PickRequest::key_hash for this policy.
inline bool uses_key_hash(config::LbPolicy policy) {
  return policy == config::LbPolicy::ip_hash || policy == config::LbPolicy::ring_hash ||
         policy == config::LbPolicy::maglev;
}

}  // namespace tg::proxy::balancing
