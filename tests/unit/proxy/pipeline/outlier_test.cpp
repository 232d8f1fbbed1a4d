// Phase 5's view of the breakers (proxy/pipeline/outlier.cpp, outlier_pick_set):
// which instances are skipped, panic below half admitting, and none admitting.
#include "pipeline/outlier.hpp"

#include "../table/config_builders.hpp"
#include "table/worker_table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace tg::proxy;
using tg::proxy::test::InstanceSpec;
using tg::proxy::test::make_service;

namespace {

struct Service4 {
  Service4() {
    tg::config::Config config;
    tg::config::Service s =
        make_service("s", tg::config::LbPolicy::round_robin, {{"a"}, {"b"}, {"c"}, {"d"}});
    s.outlier.emplace();
    s.outlier->consecutive_failures = 1;
    s.outlier->max_ejection_percent = 100;
    config.services.push_back(s);
    std::string error;
    snapshot = Snapshot::build(config, 1, "", error);
    INFO(error);
    REQUIRE(snapshot != nullptr);
    table = WorkerTable::build(snapshot, nullptr);
  }
  const ServiceDef& service() const { return snapshot->services[0]; }
  // Opens instance `index`'s breaker at time 0 (base_ejection 10 s).
  void eject(std::uint32_t index) {
    const resilience::BreakerCell::Change change =
        table->instances[index]->breaker->failed(0, service().breaker, false, {4, 100});
    REQUIRE(change.transition.to == resilience::BreakerState::open);
  }
  std::vector<std::uint32_t> skipped(std::vector<std::uint32_t> tried, std::uint64_t now = 1) {
    OutlierPickSet set = outlier_pick_set(service(), *table, tried, now, scratch);
    std::vector<std::uint32_t> out(set.exclude.begin(), set.exclude.end());
    std::sort(out.begin(), out.end());
    if (set.all_ejected) out.push_back(99);
    return out;
  }
  std::shared_ptr<const Snapshot> snapshot;
  LocalPtr<WorkerTable> table;
  std::vector<std::uint32_t> scratch;
};

using Indices = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("pick set: ejected instances are skipped along with the tried ones, once each",
          "[proxy][pipeline][outlier]") {
  Service4 s;
  s.eject(1);
  CHECK(s.skipped({}) == Indices{1});
  CHECK(s.skipped({0}) == Indices{0, 1});
  CHECK(s.skipped({1}) == Indices{1});  // tried and ejected: listed once
  s.eject(2);
  CHECK(s.skipped({}) == Indices{1, 2});  // two of four admit: not yet panic
}

TEST_CASE("pick set: an ejection over admits the instance again", "[proxy][pipeline][outlier]") {
  Service4 s;
  s.eject(3);
  CHECK(s.skipped({}, 9'999) == Indices{3});
  CHECK(s.skipped({}, 10'000).empty());
}

TEST_CASE("pick set: below half admitting, every instance is used again (panic)", "[proxy][pipeline][outlier]") {
  Service4 s;
  s.eject(0);
  s.eject(1);
  s.eject(2);
  CHECK(s.skipped({}).empty());
  CHECK(s.skipped({3}) == Indices{3});
}

TEST_CASE("pick set: none admitting", "[proxy][pipeline][outlier]") {
  Service4 s;
  for (std::uint32_t i = 0; i < 4; ++i) s.eject(i);
  CHECK(s.skipped({}) == Indices{99});
}

TEST_CASE("the workers' tables share one breaker per instance and one count per service",
          "[proxy][pipeline][outlier]") {
  Service4 s;
  LocalPtr<WorkerTable> other = WorkerTable::build(s.snapshot, nullptr);  // a second worker's table
  s.eject(1);
  CHECK(other->instances[1]->breaker == s.table->instances[1]->breaker);
  CHECK(s.service().breakers->ejected() == 1);
  std::vector<std::uint32_t> scratch;
  const OutlierPickSet set = outlier_pick_set(s.service(), *other, {}, 1, scratch);
  CHECK(std::vector<std::uint32_t>(set.exclude.begin(), set.exclude.end()) == Indices{1});
}
