// Per-worker state across table swaps (proxy/table/worker_table.cpp):
// instances carried over by id and address, routes by name and service.
#include "table/worker_table.hpp"

#include "config_builders.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::config::LbPolicy;
using tg::proxy::InstanceRuntime;
using tg::proxy::LocalPtr;
using tg::proxy::Snapshot;
using tg::proxy::WorkerTable;
using tg::proxy::test::InstanceSpec;
using tg::proxy::test::make_route;
using tg::proxy::test::make_service;

namespace {

std::shared_ptr<const Snapshot> snapshot_of(const tg::config::Config& config, std::uint64_t version) {
  std::string error;
  auto s = Snapshot::build(config, version, "", error);
  INFO(error);
  REQUIRE(s != nullptr);
  return s;
}

tg::config::Config config_with(const std::vector<InstanceSpec>& instances) {
  tg::config::Config config;
  config.services.push_back(make_service("web", LbPolicy::round_robin, instances));
  config.routes.push_back(make_route("main", "web"));
  return config;
}

}  // namespace

TEST_CASE("a fresh table has one runtime per instance and route", "[proxy][runtime][worker_table]") {
  auto s = snapshot_of(config_with({{"b", 1, "10.0.0.2", 80}, {"a", 1, "10.0.0.1", 80}}), 1);
  LocalPtr<WorkerTable> table = WorkerTable::build(s, nullptr);
  CHECK(table->snapshot == s);
  REQUIRE(table->instances.size() == 2);
  CHECK(table->instances[0]->id == "a");
  CHECK(table->instances[0]->service == "web");
  CHECK(table->instances[0]->endpoint == s->instances[0].endpoint);
  CHECK(table->instances[1]->id == "b");
  CHECK(table->instances[0]->in_flight == 0);
  CHECK(table->instances[0]->swrr_current == 0);
  REQUIRE(table->routes.size() == 1);
  CHECK(table->routes[0]->name == "main");
  CHECK(table->routes[0]->service == "web");
}

TEST_CASE("rebuilding with the same ids carries instance state over", "[proxy][runtime][worker_table]") {
  const auto config = config_with({{"a"}, {"b"}, {"c"}});
  LocalPtr<WorkerTable> first = WorkerTable::build(snapshot_of(config, 1), nullptr);
  first->instances[0]->swrr_current = -4;
  first->instances[0]->in_flight = 3;
  first->instances[2]->swrr_current = 7;
  first->routes[0]->requests[1] = 11;

  LocalPtr<WorkerTable> second = WorkerTable::build(snapshot_of(config, 2), first.get());
  REQUIRE(second->instances.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(second->instances[i].get() == first->instances[i].get());
  CHECK(second->instances[0]->swrr_current == -4);
  CHECK(second->instances[0]->in_flight == 3);
  CHECK(second->instances[2]->swrr_current == 7);
  CHECK(second->routes[0].get() == first->routes[0].get());
  CHECK(second->routes[0]->requests[1] == 11);
  CHECK(second->snapshot->version == 2);
}

TEST_CASE("state follows the id when instance indices shift", "[proxy][runtime][worker_table]") {
  LocalPtr<WorkerTable> first = WorkerTable::build(snapshot_of(config_with({{"b"}, {"c"}}), 1), nullptr);
  // Same ports as before for b and c (8000 + position in the service as written).
  auto config = config_with({{"b"}, {"c"}, {"a", 1, "127.0.0.1", 9000}});
  first->instances[0]->in_flight = 5;  // b
  LocalPtr<WorkerTable> second = WorkerTable::build(snapshot_of(config, 2), first.get());
  REQUIRE(second->instances.size() == 3);
  CHECK(second->instances[0]->id == "a");
  CHECK(second->instances[0]->in_flight == 0);
  CHECK(second->instances[1].get() == first->instances[0].get());
  CHECK(second->instances[1]->in_flight == 5);
  CHECK(second->instances[2].get() == first->instances[1].get());
}

TEST_CASE("a removed and re-added instance starts fresh", "[proxy][runtime][worker_table]") {
  const std::vector<InstanceSpec> with_b = {{"a", 1, "127.0.0.1", 8001}, {"b", 1, "127.0.0.1", 8002}};
  const std::vector<InstanceSpec> without_b = {{"a", 1, "127.0.0.1", 8001}};
  LocalPtr<WorkerTable> first = WorkerTable::build(snapshot_of(config_with(with_b), 1), nullptr);
  InstanceRuntime* old_b = first->instances[1].get();
  old_b->swrr_current = 9;
  old_b->in_flight = 2;
  first->instances[0]->swrr_current = 4;

  LocalPtr<WorkerTable> second = WorkerTable::build(snapshot_of(config_with(without_b), 2), first.get());
  REQUIRE(second->instances.size() == 1);
  LocalPtr<WorkerTable> third = WorkerTable::build(snapshot_of(config_with(with_b), 3), second.get());
  REQUIRE(third->instances.size() == 2);
  CHECK(third->instances[0].get() == first->instances[0].get());
  CHECK(third->instances[0]->swrr_current == 4);
  CHECK(third->instances[1]->id == "b");
  CHECK(third->instances[1].get() != old_b);  // `first` still holds the old one, so the address differs
  CHECK(third->instances[1]->swrr_current == 0);
  CHECK(third->instances[1]->in_flight == 0);
  CHECK(old_b->in_flight == 2);  // untouched, still owned by `first`
}

TEST_CASE("same id at a new address is a new instance", "[proxy][runtime][worker_table]") {
  LocalPtr<WorkerTable> first =
      WorkerTable::build(snapshot_of(config_with({{"a", 1, "127.0.0.1", 8001}}), 1), nullptr);
  first->instances[0]->in_flight = 1;
  LocalPtr<WorkerTable> second =
      WorkerTable::build(snapshot_of(config_with({{"a", 1, "127.0.0.1", 8009}}), 2), first.get());
  CHECK(second->instances[0].get() != first->instances[0].get());
  CHECK(second->instances[0]->in_flight == 0);
  CHECK(second->instances[0]->endpoint.port() == 8009);
}

TEST_CASE("a route is carried by name while its service stays the same", "[proxy][runtime][worker_table]") {
  tg::config::Config config;
  config.services.push_back(make_service("one", LbPolicy::round_robin, {{"a"}}));
  config.services.push_back(make_service("two", LbPolicy::round_robin, {{"b", 1, "127.0.0.1", 9000}}));
  config.routes.push_back(make_route("r", "one"));
  config.routes.push_back(make_route("s", "one", "/s"));
  LocalPtr<WorkerTable> first = WorkerTable::build(snapshot_of(config, 1), nullptr);

  config.routes[1].service = "two";
  LocalPtr<WorkerTable> second = WorkerTable::build(snapshot_of(config, 2), first.get());
  CHECK(second->routes[0].get() == first->routes[0].get());
  CHECK(second->routes[1].get() != first->routes[1].get());
  CHECK(second->routes[1]->service == "two");
}
