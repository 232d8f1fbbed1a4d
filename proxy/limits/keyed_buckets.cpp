#include "limits/keyed_buckets.hpp"

#include <algorithm>
#include <bit>

namespace tg::proxy::limits {

KeyedBuckets::KeyedBuckets(std::uint32_t capacity) {
  capacity = std::max<std::uint32_t>(1, capacity);
  nodes_.resize(capacity);
  // At most half full: short probe runs.
  index_.assign(std::bit_ceil(std::uint64_t{capacity} * 2), 0);
  mask_ = index_.size() - 1;
}

std::uint32_t KeyedBuckets::find_slot(std::uint64_t key) const {
  // Keys are hashes already: their low bits are the home slot.
  std::uint64_t slot = key & mask_;
  while (index_[slot] != 0 && nodes_[index_[slot] - 1].key != key) slot = (slot + 1) & mask_;
  return static_cast<std::uint32_t>(slot);
}

bool KeyedBuckets::contains(std::uint64_t key) const { return index_[find_slot(key)] != 0; }

void KeyedBuckets::erase_slot(std::uint32_t slot) {
  // Backward-shift deletion: later entries of the probe run move up so that
  // every entry stays reachable from its home slot without tombstones.
  std::uint64_t hole = slot;
  std::uint64_t next = (hole + 1) & mask_;
  while (index_[next] != 0) {
    const std::uint64_t home = nodes_[index_[next] - 1].key & mask_;
    // Movable when its home is not in (hole, next] (cyclically).
    const bool home_after_hole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (!home_after_hole) {
      index_[hole] = index_[next];
      hole = next;
    }
    next = (next + 1) & mask_;
  }
  index_[hole] = 0;
}

void KeyedBuckets::unlink(std::uint32_t node) {
  Node& n = nodes_[node];
  if (n.newer != kNone) nodes_[n.newer].older = n.older;
  else newest_ = n.older;
  if (n.older != kNone) nodes_[n.older].newer = n.newer;
  else oldest_ = n.newer;
  n.newer = n.older = kNone;
}

void KeyedBuckets::push_front(std::uint32_t node) {
  Node& n = nodes_[node];
  n.older = newest_;
  n.newer = kNone;
  if (newest_ != kNone) nodes_[newest_].newer = node;
  newest_ = node;
  if (oldest_ == kNone) oldest_ = node;
}

std::uint64_t& KeyedBuckets::tat(std::uint64_t key) {
  std::uint32_t slot = find_slot(key);
  if (index_[slot] != 0) {
    const std::uint32_t node = index_[slot] - 1;
    if (node != newest_) {
      unlink(node);
      push_front(node);
    }
    return nodes_[node].tat;
  }
  std::uint32_t node;
  if (size_ < nodes_.size()) {
    node = size_++;
  } else {
    node = oldest_;
    unlink(node);
    erase_slot(find_slot(nodes_[node].key));
    ++evictions_;
    slot = find_slot(key);  // the erase may have moved the run the key belongs to
  }
  nodes_[node].key = key;
  nodes_[node].tat = 0;
  index_[slot] = node + 1;
  push_front(node);
  return nodes_[node].tat;
}

}  // namespace tg::proxy::limits
