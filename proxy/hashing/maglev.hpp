// Maglev lookup table (maglev policy), built once per table.
//
// As in the Maglev paper (Eisenbud et al., NSDI 2016) with Envoy's weighting:
// each instance has a permutation of the table's slots given by
// offset = stable_hash(id, 1) mod M and skip = stable_hash(id, 2) mod (M-1) + 1;
// instances take turns claiming their next free preferred slot until the
// table is full, an instance of weight w taking a turn in w/max_weight of the
// rounds. M = 65537 (prime, so every skip visits every slot). A lookup is one
// array read: table[hash mod M].
//
// Consistency: every instance ends up with a share of slots proportional to
// its weight (within 1 slot per round), and adding an instance moves about
// 1/(n+1) of the keys, nearly all of them to the new instance. Unlike the
// ring, Maglev trades a small extra disruption (a few keys shuffled between
// existing instances, see the paper §3.4) for an even spread and O(1) lookups.
// Members are the service's instances in id order, so two proxies with the
// same table build the same slots.
#pragma once

#include "hashing/hash_ring.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace tg::proxy::hashing {

class MaglevTable {
 public:
  static constexpr std::uint32_t kSize = 65537;

  static MaglevTable build(std::span<const HashMember> members);

  // The position owning `hash`; when `excluded(position)` holds, further
  // slots are tried with a stride taken from the key's hash (slot + s,
  // slot + 2s, …; M is prime, so the walk visits every slot): a deterministic
  // second choice per key, spread over the other instances (neighbouring
  // slots are not: the population fills them in turns).
  // kNoPosition when the table is empty or every instance is excluded.
  template <class Excluded>
  std::uint32_t find(std::uint64_t hash, Excluded&& excluded) const;
  std::uint32_t find(std::uint64_t hash) const {
    return find(hash, [](std::uint32_t) { return false; });
  }

  bool empty() const { return slots_.empty(); }
  std::span<const std::uint32_t> slots() const { return slots_; }

 private:
  std::vector<std::uint32_t> slots_;  // kSize positions, or empty without members
};

template <class Excluded>
std::uint32_t MaglevTable::find(std::uint64_t hash, Excluded&& excluded) const {
  if (slots_.empty()) return kNoPosition;
  std::uint32_t slot = static_cast<std::uint32_t>(hash % kSize);
  const auto stride = static_cast<std::uint32_t>((hash >> 32) % (kSize - 1) + 1);
  for (std::uint32_t step = 0; step < kSize; ++step) {
    const std::uint32_t owner = slots_[slot];
    if (!excluded(owner)) return owner;
    slot = static_cast<std::uint32_t>((std::uint64_t{slot} + stride) % kSize);
  }
  return kNoPosition;
}

}  // namespace tg::proxy::hashing
