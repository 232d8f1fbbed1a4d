// A snapshot with one service under test (plus an unrelated first service, so
// indices do not start at 0 by accident) and one worker's table over it, for
// the policy tests of tests/unit/proxy/balancing.
#pragma once

#include "balancing/balancer.hpp"

#include "../table/config_builders.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <span>
#include <string>
#include <vector>

namespace tg::proxy::test {

struct ServiceFixture {
  ServiceFixture(config::LbPolicy policy, const std::vector<InstanceSpec>& instances, std::uint64_t seed = 20240611)
      : random(seed) {
    config::Config config;
    config.services.push_back(make_service("other", config::LbPolicy::round_robin,
                                           {{"o1", 1, "10.9.9.1"}, {"o2", 1, "10.9.9.2"}}));
    config.services.push_back(make_service("s", policy, instances));
    std::string error;
    snapshot = Snapshot::build(config, 1, "", error);
    INFO(error);
    REQUIRE(snapshot != nullptr);
    table = WorkerTable::build(snapshot, nullptr);
  }
  const ServiceDef& service() const { return snapshot->services[1]; }

  std::int64_t pick(balancing::PickRequest request = {}) {
    return balancing::pick(service(), *snapshot, *table, request, random);
  }
  std::string id(std::int64_t index) const {
    return index == balancing::kNone ? std::string("-") : snapshot->instances[static_cast<std::size_t>(index)].id;
  }
  std::uint32_t index_of(const std::string& id) const {
    for (std::uint32_t i = 0; i < snapshot->instances.size(); ++i)
      if (snapshot->instances[i].id == id) return i;
    FAIL("no instance " << id);
    return 0;
  }
  InstanceRuntime& state(const std::string& id) { return *table->instances[index_of(id)]; }

  // Picks `n` times with `request` and counts the ids chosen.
  std::map<std::string, int> tally(int n, balancing::PickRequest request = {}) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) ++counts[id(pick(request))];
    return counts;
  }

  std::shared_ptr<const Snapshot> snapshot;
  LocalPtr<WorkerTable> table;
  balancing::Random random;
};

}  // namespace tg::proxy::test
