// One worker's keyed buckets (rate_limit by client_ip or header:NAME): the
// TAT of each key (limits/gcra.hpp), in a table of fixed capacity that evicts
// the least recently used key when a new one arrives and it is full.
//
// Keys are 64-bit hashes of (limit, key bytes): a request costs one hash of
// its key and one probe here, and nothing is allocated after construction.
// Two keys with the same hash share a bucket (odds ~ n^2 / 2^65 for n keys).
// An evicted key comes back with a full bucket: the table bounds memory, and
// the limit is approximate for a key evicted within its burst window (the
// table's least recently used key has usually been refilled long before).
//
// Worker-local: no atomic, no lock. The index is open addressing (linear
// probing, at most half full) into a node array threaded on a
// recently-used list.
#pragma once

#include <cstdint>
#include <vector>

namespace tg::proxy::limits {

class KeyedBuckets {
 public:
  explicit KeyedBuckets(std::uint32_t capacity);

  // The TAT of `key` (0, a full bucket, for a key not in the table, which is
  // added: the least recently used key goes when the table is full). The
  // reference is good until the next call.
  std::uint64_t& tat(std::uint64_t key);

  std::uint32_t size() const { return size_; }
  std::uint32_t capacity() const { return static_cast<std::uint32_t>(nodes_.size()); }
  std::uint64_t evictions() const { return evictions_; }
  // Whether `key` is in the table (for tests; does not touch the order).
  bool contains(std::uint64_t key) const;

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  struct Node {
    std::uint64_t key = 0;
    std::uint64_t tat = 0;
    std::uint32_t newer = kNone;  // towards the most recently used
    std::uint32_t older = kNone;
  };

  std::uint32_t find_slot(std::uint64_t key) const;  // the index slot holding key, or an empty one
  void erase_slot(std::uint32_t slot);
  void unlink(std::uint32_t node);
  void push_front(std::uint32_t node);

  std::vector<Node> nodes_;
  std::vector<std::uint32_t> index_;  // node + 1; 0 = empty
  std::uint64_t mask_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t newest_ = kNone;
  std::uint32_t oldest_ = kNone;
  std::uint64_t evictions_ = 0;
};

}  // namespace tg::proxy::limits
