// Cost of turning a pushed table into what the workers serve, on the proxy
// side: Snapshot::build for a whole table, Snapshot::with_states for one
// instance's health change, Snapshot::apply for a delta update (one instance
// registered, one route created) and the worker's WorkerTable::build after
// each (whole, and remapping only the changed positions), at 10,000 tenants / 10,000 services / 50,000
// instances / 10,000 routes (the scale of the budgets in docs/architecture.md). A microbenchmark, not a
// test: built with the tests, never run by ctest or CI.
//
//   build/bin/snapshot-build-bench [services, default 10000] [instances per service, default 5]
//
// The control-plane side (building and encoding the Table) is
// tg-bench-table-build; the end to end figures are tests/bench/table_stream.sh.
#include "table/snapshot.hpp"
#include "table/worker_table.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using tg::proxy::Snapshot;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int services = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int per_service = argc > 2 ? std::atoi(argv[2]) : 5;
  tg::config::Config config;
  for (int i = 0; i < services; ++i) {
    const std::string n = std::to_string(i);
    config.tenants.push_back({"t" + n, {}, {}});
    tg::config::Service svc;
    svc.name = "s" + n;
    svc.tenant = "t" + n;
    svc.lb = i % 4 == 0 ? tg::config::LbPolicy::least_request : tg::config::LbPolicy::round_robin;
    for (int k = 0; k < per_service; ++k) {
      tg::config::Instance inst;
      inst.id = svc.name + "/" + std::to_string(k);
      inst.host = "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + "." + std::to_string(k + 1);
      inst.port = 8080;
      inst.address = inst.host + ":8080";
      svc.instances.push_back(inst);
    }
    config.services.push_back(std::move(svc));
    tg::config::Route route;
    route.name = "r" + n;
    route.service = "s" + n;
    route.match.host = "t" + n + ".example.com";
    route.match.path_prefix = "/";
    config.routes.push_back(std::move(route));
  }
  std::string error;
  std::shared_ptr<const Snapshot> snapshot;
  double best_build = 1e9;
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    snapshot = Snapshot::build(config, 1, "bench", error, {1, 1});
    best_build = std::min(best_build, ms_since(start));
    if (!snapshot) {
      std::fprintf(stderr, "build failed: %s\n", error.c_str());
      return 1;
    }
  }
  double best_states = 1e9;
  for (int round = 0; round < 5; ++round) {
    const auto start = Clock::now();
    auto next = Snapshot::with_states(
        *snapshot, {{"s17/2", tg::config::AdminState::active, tg::config::Health::unhealthy, "bench"}}, 2, {1, 2});
    best_states = std::min(best_states, ms_since(start));
  }
  // Delta updates: each applied on the snapshot a worker serves, then that
  // worker's table remapped.
  using tg::proxy::LocalPtr;
  using tg::proxy::WorkerTable;
  double best_worker_full = 1e9;
  LocalPtr<WorkerTable> worker;
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    worker = WorkerTable::build(snapshot, nullptr, 2);
    best_worker_full = std::min(best_worker_full, ms_since(start));
  }
  auto delta = [&](const tg::proxy::TableChange& change, double& apply_ms, double& worker_ms) {
    apply_ms = worker_ms = 1e9;
    for (int round = 0; round < 5; ++round) {
      auto start = Clock::now();
      auto next = Snapshot::apply(*snapshot, change, 3, {1, 3}, error);
      apply_ms = std::min(apply_ms, ms_since(start));
      if (!next) {
        std::fprintf(stderr, "apply failed: %s\n", error.c_str());
        std::exit(1);
      }
      start = Clock::now();
      LocalPtr<WorkerTable> table = WorkerTable::build(next, worker.get(), 2);
      worker_ms = std::min(worker_ms, ms_since(start));
    }
  };
  tg::proxy::TableChange instance_change;
  instance_change.instances.push_back({"s17", {}});
  tg::config::Instance& added = instance_change.instances.back().instance;
  added.id = "s17/new";
  added.host = "10.200.0.1";
  added.port = 8080;
  added.address = "10.200.0.1:8080";
  tg::proxy::TableChange route_change;
  tg::config::Route route;
  route.name = "r-new";
  route.service = "s17";
  route.match.host = "new.example.com";
  route.match.path_prefix = "/";
  route_change.routes.push_back(route);
  double instance_apply, instance_worker, route_apply, route_worker;
  delta(instance_change, instance_apply, instance_worker);
  delta(route_change, route_apply, route_worker);
  std::printf("services %d, instances %zu, routes %zu\n", services, snapshot->instances.size(),
              snapshot->routes.size());
  std::printf("Snapshot::build        %8.1f ms (best of 3)\n", best_build);
  std::printf("Snapshot::with_states  %8.1f ms (one instance, best of 5)\n", best_states);
  std::printf("WorkerTable::build     %8.1f ms (whole, best of 3)\n", best_worker_full);
  std::printf("Snapshot::apply        %8.3f ms (one instance registered, best of 5)\n", instance_apply);
  std::printf("  WorkerTable::build   %8.3f ms (after it)\n", instance_worker);
  std::printf("Snapshot::apply        %8.3f ms (one route created, best of 5)\n", route_apply);
  std::printf("  WorkerTable::build   %8.3f ms (after it)\n", route_worker);
  return 0;
}
