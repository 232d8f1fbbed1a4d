// One worker's keyed buckets (proxy/limits/keyed_buckets.hpp): the bound,
// least-recently-used eviction, and the table against a plain model over
// random operations (the index's deletions keep every key reachable).
#include "limits/keyed_buckets.hpp"

#include <catch2/catch.hpp>

#include <list>
#include <random>
#include <unordered_map>

using tg::proxy::limits::KeyedBuckets;

TEST_CASE("keyed buckets: a new key starts full, a known key keeps its TAT", "[proxy][limits][keyed]") {
  KeyedBuckets table(4);
  CHECK(table.tat(7) == 0);
  table.tat(7) = 1234;
  CHECK(table.tat(8) == 0);
  CHECK(table.tat(7) == 1234);
  CHECK(table.size() == 2);
}

TEST_CASE("keyed buckets: the table never holds more than its capacity", "[proxy][limits][keyed]") {
  KeyedBuckets table(100);
  for (std::uint64_t key = 0; key < 1000; ++key) table.tat(key * 0x9e3779b97f4a7c15ull) = key + 1;
  CHECK(table.size() == 100);
  CHECK(table.evictions() == 900);
  // The 100 most recent stay, with their state.
  for (std::uint64_t key = 900; key < 1000; ++key) {
    REQUIRE(table.contains(key * 0x9e3779b97f4a7c15ull));
    CHECK(table.tat(key * 0x9e3779b97f4a7c15ull) == key + 1);
  }
  CHECK_FALSE(table.contains(899 * 0x9e3779b97f4a7c15ull));
}

TEST_CASE("keyed buckets: the least recently used key is the one evicted", "[proxy][limits][keyed]") {
  KeyedBuckets table(3);
  table.tat(1);
  table.tat(2);
  table.tat(3);
  table.tat(1);  // 2 is now the oldest
  table.tat(4);
  CHECK(table.contains(1));
  CHECK_FALSE(table.contains(2));
  CHECK(table.contains(3));
  CHECK(table.contains(4));
}

TEST_CASE("keyed buckets: random use matches an LRU model", "[proxy][limits][keyed]") {
  // Keys from a small range collide in the index's low bits on purpose.
  constexpr std::uint32_t kCapacity = 64;
  KeyedBuckets table(kCapacity);
  std::list<std::uint64_t> order;  // most recent first
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::list<std::uint64_t>::iterator>> model;
  std::mt19937_64 random(42);
  for (int step = 0; step < 200'000; ++step) {
    const std::uint64_t key = (random() % 300) << (step % 3 == 0 ? 0 : 7);
    const std::uint64_t value = random();
    auto found = model.find(key);
    std::uint64_t expected = 0;
    if (found != model.end()) {
      expected = found->second.first;
      order.erase(found->second.second);
    } else if (model.size() == kCapacity) {
      model.erase(order.back());
      order.pop_back();
    }
    order.push_front(key);
    model[key] = {value, order.begin()};
    std::uint64_t& tat = table.tat(key);
    REQUIRE(tat == expected);
    tat = value;
    REQUIRE(table.size() == model.size());
  }
  for (const auto& [key, entry] : model) CHECK(table.contains(key));
}
