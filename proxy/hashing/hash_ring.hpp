// Consistent hash ring (ring_hash and ip_hash), built once per table.
//
// Every instance puts ceil(kPointsForMaxWeight * weight / max_weight) points
// on a 64-bit ring, point k of instance `id` at stable_hash(id, seed k). A key
// belongs to the first point at or after its hash (wrapping). Because an
// instance's points depend only on its own id and weight (relative to the
// largest weight), adding an instance whose weight is not a new maximum moves
// only the keys that land on the new instance's arcs, about 1/(n+1) of them,
// and every moved key moves TO the new instance. Members are the service's
// instances in id order, so two proxies with the same table build the same
// ring.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tg::proxy::hashing {

inline constexpr std::uint32_t kNoPosition = 0xffffffffu;

// One instance as the hash structures see it; `position` in the results is
// the member's index in the span given to build().
struct HashMember {
  std::string_view id;
  std::uint32_t weight = 1;
};

class HashRing {
 public:
  // Points for an instance of the largest weight. 512 points keep the share
  // of an instance within a few percent of its weight's share (relative
  // standard deviation ~1/sqrt(points)).
  static constexpr std::uint32_t kPointsForMaxWeight = 512;

  static HashRing build(std::span<const HashMember> members);

  // The position owning `hash`; when `excluded(position)` holds, walks on to
  // the next point of a different, non-excluded instance. kNoPosition when
  // the ring is empty or every instance is excluded.
  template <class Excluded>
  std::uint32_t find(std::uint64_t hash, Excluded&& excluded) const;
  std::uint32_t find(std::uint64_t hash) const {
    return find(hash, [](std::uint32_t) { return false; });
  }

  std::size_t points() const { return hashes_.size(); }
  bool empty() const { return hashes_.empty(); }

 private:
  std::size_t first_at_or_after(std::uint64_t hash) const;

  // The top kIndexBits of a hash select a bucket; buckets_[b] is the first
  // point whose hash is in bucket b or later, so a lookup binary-searches
  // only the few points of one bucket instead of the whole ring.
  static constexpr unsigned kIndexBits = 12;

  std::vector<std::uint64_t> hashes_;  // sorted; searched on every pick
  std::vector<std::uint32_t> owners_;  // position of the member owning each point
  std::vector<std::uint32_t> buckets_;  // (1 << kIndexBits) + 1 entries
};

template <class Excluded>
std::uint32_t HashRing::find(std::uint64_t hash, Excluded&& excluded) const {
  const std::size_t size = hashes_.size();
  if (size == 0) return kNoPosition;
  std::size_t at = first_at_or_after(hash);
  for (std::size_t step = 0; step < size; ++step) {
    const std::uint32_t owner = owners_[at];
    if (!excluded(owner)) return owner;
    if (++at == size) at = 0;
  }
  return kNoPosition;
}

}  // namespace tg::proxy::hashing
