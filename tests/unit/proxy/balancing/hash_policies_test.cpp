// ip_hash, ring_hash and maglev through pick() (proxy/balancing/balancer.cpp):
// a key always reaches the same instance, retries walk to another one, and
// the keys spread by weight over the service's own instances.
#include "hashing/stable_hash.hpp"
#include "service_fixture.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <set>

using tg::config::LbPolicy;
using tg::proxy::balancing::kNone;
using tg::proxy::balancing::PickRequest;
using tg::proxy::hashing::stable_hash;
using tg::proxy::test::ServiceFixture;

TEMPLATE_TEST_CASE_SIG("hash policies: one key, one instance, and retries walk on", "[proxy][balancing][hash]",
                       ((LbPolicy P), P), LbPolicy::ip_hash, LbPolicy::ring_hash, LbPolicy::maglev) {
  ServiceFixture f(P, {{"a"}, {"b", 2}, {"c"}, {"d"}});
  std::map<std::string, int> counts;
  for (int k = 0; k < 40'000; ++k) {
    const std::uint64_t h = stable_hash("key-" + std::to_string(k));
    const std::int64_t first = f.pick({{}, h, 0});
    REQUIRE(first != kNone);
    REQUIRE(f.snapshot->instances[static_cast<std::size_t>(first)].service == 1);  // never the other service's
    REQUIRE(f.pick({{}, h, 0}) == first);
    ++counts[f.id(first)];
    const std::array<std::uint32_t, 1> tried{static_cast<std::uint32_t>(first)};
    const std::int64_t second = f.pick({tried, h, 0});
    REQUIRE(second != kNone);
    REQUIRE(second != first);
    REQUIRE(f.pick({tried, h, 0}) == second);
  }
  // b has weight 2 of 5.
  CHECK(counts["b"] > 40'000 * 0.4 * 0.85);
  CHECK(counts["b"] < 40'000 * 0.4 * 1.15);
  for (const char* id : {"a", "c", "d"}) {
    INFO(id << ": " << counts[id]);
    CHECK(counts[id] > 40'000 * 0.2 * 0.85);
    CHECK(counts[id] < 40'000 * 0.2 * 1.15);
  }
  const std::array<std::uint32_t, 4> all{f.index_of("a"), f.index_of("b"), f.index_of("c"), f.index_of("d")};
  CHECK(f.pick({all, 1, 0}) == kNone);
  // Indices of another service do not count as tried here.
  const std::array<std::uint32_t, 4> foreign{0, 1, f.index_of("a"), f.index_of("b")};
  CHECK(f.pick({foreign, stable_hash("x"), 0}) != kNone);
}

TEMPLATE_TEST_CASE_SIG("a service without instances has nothing to pick", "[proxy][balancing][hash]",
                       ((LbPolicy P), P), LbPolicy::ip_hash, LbPolicy::ring_hash, LbPolicy::maglev,
                       LbPolicy::least_request, LbPolicy::peak_ewma) {
  ServiceFixture f(P, {});
  CHECK(f.pick({{}, 42, 1'000}) == kNone);
}
