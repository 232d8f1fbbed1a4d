// Breakers per proxy across table rebuilds (proxy/table/snapshot.cpp): the
// cells of one Snapshot are taken over by the next for the same instance,
// every worker's table uses them, and a health recovery closes them once.
#include "table/snapshot.hpp"
#include "table/worker_table.hpp"

#include "config_builders.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::config::AdminState;
using tg::config::Health;
using tg::config::LbPolicy;
using tg::proxy::LocalPtr;
using tg::proxy::Snapshot;
using tg::proxy::WorkerTable;
using tg::proxy::test::InstanceSpec;
using tg::proxy::test::make_route;
using tg::proxy::test::make_service;
using namespace tg::proxy::resilience;

namespace {

tg::config::Config config_with(const std::vector<InstanceSpec>& instances, bool outlier = true) {
  tg::config::Config config;
  config.services.push_back(make_service("web", LbPolicy::round_robin, instances));
  if (outlier) {
    config.services.back().outlier.emplace();
    config.services.back().outlier->consecutive_failures = 1;
    config.services.back().outlier->max_ejection_percent = 100;
  }
  config.routes.push_back(make_route("main", "web"));
  return config;
}

std::shared_ptr<const Snapshot> build(const tg::config::Config& config, std::uint64_t version,
                                      const Snapshot* previous) {
  std::string error;
  auto s = Snapshot::build(config, version, "", error, {}, previous);
  INFO(error);
  REQUIRE(s != nullptr);
  return s;
}

// Opens instance `index`'s breaker.
void eject(const Snapshot& s, std::size_t index) {
  const ServiceBreakers& service = *s.services[0].breakers;
  const std::uint32_t before = service.ejected();
  REQUIRE(s.instances[index].breaker->failed(0, s.services[0].breaker, false, {4, 100}).transition.happened());
  REQUIRE(service.ejected() == before + 1);
}

}  // namespace

TEST_CASE("a rebuilt table takes the breakers over by instance id", "[proxy][table][breaker_carry]") {
  auto first = build(config_with({{"a", 1, "10.0.0.1", 80}, {"b", 1, "10.0.0.2", 80}, {"c", 1, "10.0.0.3", 80}}), 1,
                     nullptr);
  eject(*first, 0);
  eject(*first, 1);
  // "a" kept, "b" moved to another address, "c" removed, "d" added.
  auto second = build(config_with({{"a", 1, "10.0.0.1", 80}, {"b", 1, "10.0.0.9", 80}, {"d", 1, "10.0.0.4", 80}}),
                      2, first.get());
  CHECK(second->services[0].breakers == first->services[0].breakers);
  CHECK(second->instances[0].breaker == first->instances[0].breaker);
  CHECK(second->instances[0].breaker->state() == BreakerState::open);
  CHECK(second->instances[1].breaker != first->instances[1].breaker);
  CHECK(second->instances[1].breaker->state() == BreakerState::closed);
  CHECK(second->instances[2].breaker->state() == BreakerState::closed);
  // "b"'s old breaker still counts while the old table lives; not after.
  const auto service = second->services[0].breakers;
  CHECK(service->ejected() == 2);
  first.reset();
  CHECK(service->ejected() == 1);

  // Every worker's table uses the snapshot's breakers.
  LocalPtr<WorkerTable> one = WorkerTable::build(second, nullptr);
  LocalPtr<WorkerTable> two = WorkerTable::build(second, nullptr);
  CHECK(one->instances[0]->breaker == second->instances[0].breaker);
  CHECK(two->instances[0]->breaker == second->instances[0].breaker);
  // A worker carrying its instance over by id gets the next table's breaker.
  auto third = build(config_with({{"a", 1, "10.0.0.1", 80}, {"b", 1, "10.0.0.9", 80}}), 3, second.get());
  LocalPtr<WorkerTable> next = WorkerTable::build(third, one.get());
  CHECK(next->instances[0].get() == one->instances[0].get());
  CHECK(next->instances[0]->breaker == second->instances[0].breaker);
}

TEST_CASE("a service without outlier has no breakers, and one that gains it starts closed",
          "[proxy][table][breaker_carry]") {
  auto plain = build(config_with({{"a"}, {"b"}}, false), 1, nullptr);
  CHECK(plain->services[0].breakers == nullptr);
  CHECK(plain->instances[0].breaker == nullptr);
  LocalPtr<WorkerTable> table = WorkerTable::build(plain, nullptr);
  CHECK(table->instances[0]->breaker == nullptr);
  auto with = build(config_with({{"a"}, {"b"}}), 2, plain.get());
  REQUIRE(with->instances[0].breaker != nullptr);
  CHECK(with->instances[0].breaker->state() == BreakerState::closed);
  CHECK(with->services[0].breakers->ejected() == 0);
  // Losing `outlier` again: a worker's instance keeps its breaker for the
  // requests still running on the table that had one.
  LocalPtr<WorkerTable> on_with = WorkerTable::build(with, table.get());
  REQUIRE(on_with->instances[0]->breaker == with->instances[0].breaker);
  auto without = build(config_with({{"a"}, {"b"}}, false), 3, with.get());
  LocalPtr<WorkerTable> on_without = WorkerTable::build(without, on_with.get());
  CHECK(on_without->instances[0].get() == on_with->instances[0].get());
  CHECK(on_without->instances[0]->breaker == with->instances[0].breaker);
}

TEST_CASE("a health flip unhealthy -> healthy closes the breaker once for the proxy",
          "[proxy][table][breaker_carry]") {
  auto base = build(config_with({{"a"}, {"b"}, {"c"}}), 1, nullptr);
  eject(*base, 1);
  auto unhealthy = Snapshot::with_states(*base, {{"b", AdminState::active, Health::unhealthy, ""}}, 2, {});
  CHECK(unhealthy->instances[1].breaker == base->instances[1].breaker);
  CHECK(unhealthy->instances[1].breaker->state() == BreakerState::open);
  auto healthy = Snapshot::with_states(*unhealthy, {{"b", AdminState::active, Health::healthy, ""}}, 3, {});
  const BreakerCell& b = *healthy->instances[1].breaker;
  CHECK(b.state() == BreakerState::closed);
  CHECK(b.transitions(BreakerReason::health_recovered) == 1);
  CHECK(healthy->services[0].breakers->ejected() == 0);
  // Healthy again (no flip): nothing more.
  eject(*healthy, 1);
  auto again = Snapshot::with_states(*healthy, {{"b", AdminState::active, Health::healthy, ""}}, 4, {});
  CHECK(b.state() == BreakerState::open);
  CHECK(b.transitions(BreakerReason::health_recovered) == 1);

  // A pushed config with the instance unhealthy then healthy does the same.
  auto config = config_with({{"a"}, {"b"}, {"c"}});
  config.services[0].instances[1].health = Health::unhealthy;
  auto pushed_unhealthy = build(config, 5, again.get());
  config.services[0].instances[1].health = Health::healthy;
  auto pushed_healthy = build(config, 6, pushed_unhealthy.get());
  CHECK(pushed_healthy->instances[1].breaker.get() == &b);
  CHECK(b.state() == BreakerState::closed);
  CHECK(b.transitions(BreakerReason::health_recovered) == 2);
}
