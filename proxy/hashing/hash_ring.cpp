#include "hashing/hash_ring.hpp"

#include "hashing/stable_hash.hpp"

#include <algorithm>
#include <numeric>

namespace tg::proxy::hashing {

HashRing HashRing::build(std::span<const HashMember> members) {
  HashRing ring;
  if (members.empty()) return ring;
  std::uint64_t max_weight = 1;
  for (const HashMember& m : members) max_weight = std::max<std::uint64_t>(max_weight, m.weight);

  struct Point {
    std::uint64_t hash;
    std::uint32_t owner;
  };
  std::vector<Point> points;
  for (std::uint32_t position = 0; position < members.size(); ++position) {
    const std::uint64_t weight = std::max<std::uint64_t>(1, members[position].weight);
    const std::uint64_t count = (kPointsForMaxWeight * weight + max_weight - 1) / max_weight;
    for (std::uint64_t k = 0; k < count; ++k) points.push_back({stable_hash(members[position].id, k), position});
  }
  // Ties (two points with one hash) are broken by position, so the order
  // never depends on the sort implementation.
  std::sort(points.begin(), points.end(),
            [](const Point& a, const Point& b) { return a.hash != b.hash ? a.hash < b.hash : a.owner < b.owner; });
  ring.hashes_.reserve(points.size());
  ring.owners_.reserve(points.size());
  for (const Point& p : points) {
    ring.hashes_.push_back(p.hash);
    ring.owners_.push_back(p.owner);
  }
  constexpr std::size_t kBuckets = std::size_t{1} << kIndexBits;
  ring.buckets_.resize(kBuckets + 1);
  std::size_t at = 0;
  for (std::size_t bucket = 0; bucket <= kBuckets; ++bucket) {
    while (at < ring.hashes_.size() && (ring.hashes_[at] >> (64 - kIndexBits)) < bucket) ++at;
    ring.buckets_[bucket] = static_cast<std::uint32_t>(at);
  }
  return ring;
}

std::size_t HashRing::first_at_or_after(std::uint64_t hash) const {
  const std::size_t bucket = hash >> (64 - kIndexBits);
  const auto begin = hashes_.begin() + buckets_[bucket];
  const auto end = hashes_.begin() + buckets_[bucket + 1];
  // Every point of later buckets is above `hash`: past this bucket's points
  // the answer is the next bucket's first point (or, at the end, the wrap).
  const auto it = std::lower_bound(begin, end, hash);
  const auto index = static_cast<std::size_t>(it - hashes_.begin());
  return index == hashes_.size() ? 0 : index;
}

}  // namespace tg::proxy::hashing
