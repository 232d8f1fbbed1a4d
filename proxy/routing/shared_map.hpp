// A string-keyed map cut into shards by the key's hash, each shard held by
// shared_ptr: copying the map copies the list of shards, and a write copies
// the one shard it lands in when another map still shares it. The route
// index and the snapshot's id indexes use it so that a table derived from
// another by a small change shares all but a few shards with it.
//
// Written by one thread while private to it, read by any once published
// (a shard with one owner is written in place: nothing else can reach it).
// A lookup hashes the key twice (shard, then bucket): a few dozen
// instructions on the short keys it holds.
#pragma once

#include "hashing/stable_hash.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg::proxy::routing {

// XXH3 (fast on the short keys of hosts, paths and header values). Not
// noexcept on purpose: libstdc++ then keeps each node's hash code, so a
// lookup compares codes while it walks a bucket instead of hashing the keys
// it passes — which made a 10,000-route table ~1.8× slower than a 10-route
// one (tests/bench/route_match_bench.cpp).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return hashing::stable_hash(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

template <typename V>
class SharedMap {
 public:
  static constexpr std::size_t kShards = 1024;

  const V* find(std::string_view key) const {
    const Shard* shard = shards_[shard_of(key)].get();
    if (!shard) return nullptr;
    auto it = shard->find(key);
    return it == shard->end() ? nullptr : &it->second;
  }
  // The value of `key`, inserted default-constructed when absent; its shard
  // is made this map's own first.
  V& at(std::string_view key) {
    Shard& shard = writable(shard_of(key));
    auto it = shard.find(key);
    if (it == shard.end()) {
      it = shard.emplace(std::string(key), V{}).first;
      ++size_;
    }
    return it->second;
  }
  void set(std::string_view key, V value) { at(key) = std::move(value); }
  void erase(std::string_view key) {
    const std::size_t at = shard_of(key);
    if (!shards_[at] || shards_[at]->find(key) == shards_[at]->end()) return;
    Shard& shard = writable(at);
    shard.erase(shard.find(key));
    --size_;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // fn(key, value) for every entry, in no particular order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& shard : shards_)
      if (shard)
        for (const auto& [key, value] : *shard) fn(key, value);
  }

 private:
  using Shard = StringMap<V>;
  // High bits: the shard's own buckets use the low ones.
  static std::size_t shard_of(std::string_view key) {
    return static_cast<std::size_t>(hashing::stable_hash(key) >> 54) % kShards;
  }
  Shard& writable(std::size_t at) {
    std::shared_ptr<Shard>& shard = shards_[at];
    if (!shard) {
      shard = std::make_shared<Shard>();
    } else if (shard.use_count() > 1) {
      shard = std::make_shared<Shard>(*shard);
    }
    return *shard;
  }

  std::array<std::shared_ptr<Shard>, kShards> shards_{};
  std::size_t size_ = 0;
};

}  // namespace tg::proxy::routing
