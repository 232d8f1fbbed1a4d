// least_request and peak_ewma (proxy/balancing/two_choices.*): two weighted
// draws, the cheaper wins, ties to the first drawn; tried instances are never
// chosen; peak_ewma avoids penalised instances while others are left.
#include "service_fixture.hpp"

#include <catch2/catch.hpp>

#include <array>

using tg::config::LbPolicy;
using tg::proxy::balancing::kNone;
using tg::proxy::balancing::PickRequest;
using tg::proxy::test::ServiceFixture;

namespace {

// Counts within ±tolerance (relative) of total * share.
void check_share(const std::map<std::string, int>& counts, const std::string& id, int total, double share,
                 double tolerance) {
  const int got = counts.count(id) ? counts.at(id) : 0;
  INFO(id << ": " << got << " of " << total << ", expected share " << share);
  CHECK(got >= total * share * (1 - tolerance));
  CHECK(got <= total * share * (1 + tolerance));
}

}  // namespace

TEST_CASE("least_request with equal weights and equal load spreads evenly", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::least_request, {{"a"}, {"b"}, {"c"}, {"d"}});
  const auto counts = f.tally(40'000);
  for (const char* id : {"a", "b", "c", "d"}) check_share(counts, id, 40'000, 0.25, 0.05);
}

TEST_CASE("least_request prefers the less loaded instance", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::least_request, {{"a"}, {"b"}, {"c"}});
  f.state("a").in_flight = 5;
  f.state("b").in_flight = 1;
  f.state("c").in_flight = 0;
  // c wins every pair it is in (2/3 of pairs), b wins the pair {a, b}.
  const auto counts = f.tally(30'000);
  check_share(counts, "c", 30'000, 2.0 / 3, 0.05);
  check_share(counts, "b", 30'000, 1.0 / 3, 0.05);
  CHECK(counts.count("a") == 0);
}

TEST_CASE("least_request follows the weights at equal load", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::least_request, {{"a", 1}, {"b", 3}});
  const auto counts = f.tally(40'000);
  check_share(counts, "a", 40'000, 0.25, 0.05);
  check_share(counts, "b", 40'000, 0.75, 0.05);
}

TEST_CASE("least_request compares load per unit of weight", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::least_request, {{"a", 1}, {"b", 3}});
  SECTION("b at 2 in flight (2/3 per weight) still beats a at 1") {
    f.state("a").in_flight = 1;
    f.state("b").in_flight = 2;
    CHECK(f.tally(1'000)["b"] == 1'000);
  }
  SECTION("b at 4 in flight (4/3) loses to a at 1") {
    f.state("a").in_flight = 1;
    f.state("b").in_flight = 4;
    CHECK(f.tally(1'000)["a"] == 1'000);
  }
}

TEST_CASE("least_request under simulated load keeps in-flight counts in weight proportion",
          "[proxy][balancing][p2c]") {
  // Each pick adds a request; a random in-flight request ends after each
  // pick once 60 are in flight. The steady state holds in-flight ~ weight.
  ServiceFixture f(LbPolicy::least_request, {{"a", 1}, {"b", 2}, {"c", 3}});
  tg::proxy::balancing::Random finish(99);
  std::vector<std::uint32_t> active;
  std::map<std::string, int> counts;
  for (int i = 0; i < 60'000; ++i) {
    const std::int64_t index = f.pick();
    REQUIRE(index != kNone);
    ++f.table->instances[static_cast<std::size_t>(index)]->in_flight;
    active.push_back(static_cast<std::uint32_t>(index));
    ++counts[f.id(index)];
    if (active.size() > 60) {
      const std::size_t victim = finish.below(active.size());
      --f.table->instances[active[victim]]->in_flight;
      active[victim] = active.back();
      active.pop_back();
    }
  }
  check_share(counts, "a", 60'000, 1.0 / 6, 0.15);
  check_share(counts, "b", 60'000, 2.0 / 6, 0.15);
  check_share(counts, "c", 60'000, 3.0 / 6, 0.15);
}

TEMPLATE_TEST_CASE_SIG("two-choice policies never pick a tried instance", "[proxy][balancing][p2c]",
                       ((LbPolicy P), P), LbPolicy::least_request, LbPolicy::peak_ewma) {
  ServiceFixture f(P, {{"a", 5}, {"b"}, {"c"}});
  const std::array<std::uint32_t, 1> tried_a{f.index_of("a")};
  const auto counts = f.tally(3'000, PickRequest{tried_a, 0, 1'000});
  CHECK(counts.count("a") == 0);
  CHECK(counts.count("-") == 0);
  CHECK(counts.at("b") > 1'000);
  CHECK(counts.at("c") > 1'000);
  const std::array<std::uint32_t, 3> all{f.index_of("a"), f.index_of("b"), f.index_of("c")};
  CHECK(f.pick(PickRequest{all, 0, 1'000}) == kNone);
}

TEMPLATE_TEST_CASE_SIG("two-choice policies with one instance", "[proxy][balancing][p2c]", ((LbPolicy P), P),
                       LbPolicy::least_request, LbPolicy::peak_ewma) {
  ServiceFixture f(P, {{"only"}});
  CHECK(f.id(f.pick({{}, 0, 1'000})) == "only");
  const std::array<std::uint32_t, 1> tried{f.index_of("only")};
  CHECK(f.pick({tried, 0, 1'000}) == kNone);
}

TEST_CASE("peak_ewma prefers the lower latency estimate", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::peak_ewma, {{"fast"}, {"slow"}, {"mid"}});
  const std::uint64_t now = 100'000;
  f.state("fast").ewma.observe(1.0, now);
  f.state("mid").ewma.observe(5.0, now);
  f.state("slow").ewma.observe(50.0, now);
  const auto counts = f.tally(30'000, {{}, 0, now});
  check_share(counts, "fast", 30'000, 2.0 / 3, 0.05);
  check_share(counts, "mid", 30'000, 1.0 / 3, 0.05);
  CHECK(counts.count("slow") == 0);
}

TEST_CASE("peak_ewma probes an instance that has not answered yet", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::peak_ewma, {{"a"}, {"b"}, {"new"}});
  const std::uint64_t now = 100'000;
  f.state("a").ewma.observe(1.0, now);
  f.state("b").ewma.observe(1.0, now);
  // Idle and unmeasured: it wins every pair it is in.
  CHECK(f.tally(3'000, {{}, 0, now})["new"] > 1'800);
  // With its probe in flight it counts as 30 ms × 2 and loses to 1 ms.
  f.state("new").in_flight = 1;
  CHECK(f.tally(3'000, {{}, 0, now}).count("new") == 0);
}

TEST_CASE("peak_ewma weighs latency by in-flight requests", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::peak_ewma, {{"a"}, {"b"}});
  const std::uint64_t now = 100'000;
  f.state("a").ewma.observe(1.0, now);
  f.state("b").ewma.observe(4.0, now);
  f.state("a").in_flight = 4;  // cost 1 * 5 = 5 against 4 * 1 = 4
  CHECK(f.tally(100, {{}, 0, now})["b"] == 100);
  f.state("a").in_flight = 2;  // 3 against 4
  CHECK(f.tally(100, {{}, 0, now})["a"] == 100);
}

TEST_CASE("peak_ewma avoids a penalised instance until its window ends", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::peak_ewma, {{"a"}, {"b"}, {"c"}});
  const std::uint64_t now = 100'000;
  f.state("a").ewma.observe(0.1, now);        // the cheapest estimate…
  f.state("a").avoid_until_ms = now + 1'000;  // …but answered 503
  for (const char* id : {"b", "c"}) f.state(id).ewma.observe(2.0, now);
  CHECK(f.tally(3'000, {{}, 0, now}).count("a") == 0);
  CHECK(f.tally(3'000, {{}, 0, now + 999}).count("a") == 0);
  CHECK(f.tally(3'000, {{}, 0, now + 1'000})["a"] > 1'500);

  SECTION("when every instance is penalised the cheapest is still used") {
    for (const char* id : {"a", "b", "c"}) f.state(id).avoid_until_ms = now + 5'000;
    f.state("c").ewma.rtt_ms = 0.01;
    f.state("a").ewma.rtt_ms = 20.0;
    const auto counts = f.tally(1'000, {{}, 0, now + 1'000});
    CHECK(counts.count("-") == 0);
    CHECK(counts.at("c") == 1'000);
  }
}

TEST_CASE("peak_ewma with equal estimates follows the weights", "[proxy][balancing][p2c]") {
  ServiceFixture f(LbPolicy::peak_ewma, {{"a", 1}, {"b", 1}, {"c", 2}});
  const std::uint64_t now = 100'000;
  for (const char* id : {"a", "b", "c"}) f.state(id).ewma.observe(3.0, now);
  // c's cost is half of the others': it wins every pair it is in; a and b
  // meet in about 1/6 of the pairs and split them.
  const auto counts = f.tally(20'000, {{}, 0, now});
  check_share(counts, "c", 20'000, 5.0 / 6, 0.05);
  check_share(counts, "a", 20'000, 1.0 / 12, 0.15);
  check_share(counts, "b", 20'000, 1.0 / 12, 0.15);
}
