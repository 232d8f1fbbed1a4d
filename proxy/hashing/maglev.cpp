#include "hashing/maglev.hpp"

#include "hashing/stable_hash.hpp"

#include <algorithm>

namespace tg::proxy::hashing {

namespace {

struct Builder {
  std::uint64_t offset;
  std::uint64_t skip;
  std::uint64_t next = 0;    // index into this member's permutation
  std::uint64_t weight;
  std::uint64_t target = 0;  // takes a turn in round r when r * weight >= target
};

}  // namespace

MaglevTable MaglevTable::build(std::span<const HashMember> members) {
  MaglevTable table;
  if (members.empty()) return table;
  std::vector<Builder> builders;
  builders.reserve(members.size());
  std::uint64_t max_weight = 1;
  for (const HashMember& m : members) {
    const std::uint64_t weight = std::max<std::uint64_t>(1, m.weight);
    max_weight = std::max(max_weight, weight);
    builders.push_back(Builder{stable_hash(m.id, 1) % kSize, stable_hash(m.id, 2) % (kSize - 1) + 1, 0, weight});
  }
  table.slots_.assign(kSize, kNoPosition);
  std::uint32_t filled = 0;
  // An instance of the largest weight takes a turn every round, one of
  // weight w in w/max_weight of them (integer arithmetic: exact and
  // identical everywhere).
  for (std::uint64_t round = 0; filled < kSize; ++round) {
    for (std::uint32_t position = 0; position < builders.size() && filled < kSize; ++position) {
      Builder& b = builders[position];
      if (round * b.weight < b.target) continue;
      b.target += max_weight;
      std::uint64_t slot = (b.offset + b.next * b.skip) % kSize;
      while (table.slots_[slot] != kNoPosition) {
        ++b.next;
        slot = (b.offset + b.next * b.skip) % kSize;
      }
      table.slots_[slot] = position;
      ++b.next;
      ++filled;
    }
  }
  return table;
}

}  // namespace tg::proxy::hashing
