#include "table/worker_table.hpp"

#include <algorithm>

namespace tg::proxy {

namespace {

// The worker's state for the instance at `index` of `snapshot`: the
// previous table's for the same id, address and service, else new. It
// points at the snapshot's breaker for it.
LocalPtr<InstanceRuntime> carry_instance(const Snapshot& snapshot, std::uint32_t index, const WorkerTable* previous) {
  const InstanceDef& def = snapshot.instances[index];
  const std::string& service = snapshot.services[def.service].name;
  LocalPtr<InstanceRuntime> runtime;
  if (previous) {
    const std::uint32_t* found = previous->snapshot->instance_ids.find(def.id);
    if (found) {
      InstanceRuntime* old = previous->instances[*found].get();
      if (old->endpoint == def.endpoint && old->service == service) runtime = old;
    }
  }
  if (!runtime) runtime = new InstanceRuntime(def.id, service, def.endpoint);
  // A service that lost `outlier` leaves the cell in place: requests still
  // running on the previous table (with `outlier`) report to it.
  if (def.breaker && runtime->breaker != def.breaker) runtime->breaker = def.breaker;
  return runtime;
}

LocalPtr<RouteRuntime> carry_route(const Snapshot& snapshot, std::uint32_t index, const WorkerTable* previous) {
  const RouteDef& def = snapshot.routes[index];
  const std::string& service = snapshot.services[def.service].name;
  if (previous) {
    const std::uint32_t* found = previous->snapshot->route_ids.find(def.name);
    if (found && previous->routes[*found]->service == service) return previous->routes[*found];
  }
  return LocalPtr<RouteRuntime>(new RouteRuntime(def.name, service));
}

LocalPtr<ServiceRuntime> carry_service(const Snapshot& snapshot, std::uint32_t index, const WorkerTable* previous) {
  const ServiceDef& def = snapshot.services[index];
  if (previous) {
    const std::uint32_t* found = previous->snapshot->service_ids.find(def.name);
    if (found) return previous->services[*found];
  }
  return LocalPtr<ServiceRuntime>(new ServiceRuntime(def.name));
}

}  // namespace

LocalPtr<WorkerTable> WorkerTable::build(std::shared_ptr<const Snapshot> snapshot, const WorkerTable* previous,
                                         unsigned workers) {
  LocalPtr<WorkerTable> table(new WorkerTable);
  if (previous && !previous->snapshot) previous = nullptr;
  if (previous && snapshot->layout != 0 && previous->snapshot->layout == snapshot->layout) {
    // Only states changed (Snapshot::with_states): same instances and routes
    // at the same positions.
    table->instances = previous->instances;
    table->routes = previous->routes;
    table->services = previous->services;
    table->snapshot = std::move(snapshot);  // with_states keeps the breakers too
    return table;
  }
  const Snapshot& s = *snapshot;
  if (previous && s.change && previous->snapshot->layout == s.change->base_layout) {
    // A delta update on the table this worker serves (Snapshot::apply):
    // every position keeps its state but those the change lists.
    table->instances = previous->instances;
    table->routes = previous->routes;
    table->services = previous->services;
    table->instances.resize(s.instances.size());
    table->routes.resize(s.routes.size());
    table->services.resize(s.services.size());
    for (std::uint32_t i : s.change->instances) table->instances[i] = carry_instance(s, i, previous);
    for (std::uint32_t i : s.change->routes) table->routes[i] = carry_route(s, i, previous);
    for (std::uint32_t i : s.change->services) table->services[i] = carry_service(s, i, previous);
    table->snapshot = std::move(snapshot);
    table->share_limits(workers, table->snapshot->change->instances);
    return table;
  }
  table->instances.reserve(s.instances.size());
  for (std::uint32_t i = 0; i < s.instances.size(); ++i) table->instances.push_back(carry_instance(s, i, previous));
  table->routes.reserve(s.routes.size());
  for (std::uint32_t i = 0; i < s.routes.size(); ++i) table->routes.push_back(carry_route(s, i, previous));
  table->services.reserve(s.services.size());
  for (std::uint32_t i = 0; i < s.services.size(); ++i) table->services.push_back(carry_service(s, i, previous));
  table->snapshot = std::move(snapshot);
  table->share_limits(workers);
  return table;
}

void WorkerTable::share_limit(unsigned workers, std::uint32_t index) {
  const config::Limits& limits = snapshot->services[snapshot->instances[index].service].limits;
  InstanceRuntime& instance = *instances[index];
  instance.connection_limit = std::max<std::uint32_t>(1, limits.max_connections_per_instance / workers);
  // At least one waiter per worker when the service allows any.
  const std::uint32_t pending = limits.max_pending_per_instance;
  instance.pending.set_max(pending == 0 ? 0 : std::max<std::uint32_t>(1, pending / workers));
}

void WorkerTable::share_limits(unsigned workers) {
  workers = std::max(1u, workers);
  for (std::uint32_t i = 0; i < instances.size(); ++i) share_limit(workers, i);
}

void WorkerTable::share_limits(unsigned workers, const std::vector<std::uint32_t>& changed) {
  workers = std::max(1u, workers);
  for (std::uint32_t i : changed) share_limit(workers, i);
}

}  // namespace tg::proxy
