#include "table/worker_table.hpp"

#include <algorithm>
#include <unordered_map>

namespace tg::proxy {

LocalPtr<WorkerTable> WorkerTable::build(std::shared_ptr<const Snapshot> snapshot, const WorkerTable* previous,
                                         unsigned workers) {
  LocalPtr<WorkerTable> table(new WorkerTable);
  if (previous && previous->snapshot && snapshot->layout != 0 && previous->snapshot->layout == snapshot->layout) {
    // Only states changed (Snapshot::with_states): same instances and routes
    // at the same positions.
    table->instances = previous->instances;
    table->routes = previous->routes;
    table->services = previous->services;
    table->snapshot = std::move(snapshot);  // with_states keeps the breakers too
    table->share_limits(workers);
    return table;
  }
  std::unordered_map<std::string_view, InstanceRuntime*> old_instances;
  std::unordered_map<std::string_view, RouteRuntime*> old_routes;
  if (previous) {
    for (const auto& inst : previous->instances) old_instances.emplace(inst->id, inst.get());
    for (const auto& route : previous->routes) old_routes.emplace(route->name, route.get());
  }
  table->instances.reserve(snapshot->instances.size());
  for (const InstanceDef& def : snapshot->instances) {
    const std::string& service = snapshot->services[def.service].name;
    auto it = old_instances.find(def.id);
    if (it != old_instances.end() && it->second->endpoint == def.endpoint && it->second->service == service) {
      table->instances.emplace_back(it->second);
    } else {
      table->instances.emplace_back(new InstanceRuntime(def.id, service, def.endpoint));
    }
    // A service that lost `outlier` leaves the cell in place: requests still
    // running on the previous table (with `outlier`) report to it.
    if (def.breaker && table->instances.back()->breaker != def.breaker) table->instances.back()->breaker = def.breaker;
  }
  table->routes.reserve(snapshot->routes.size());
  for (const RouteDef& def : snapshot->routes) {
    const std::string& service = snapshot->services[def.service].name;
    auto it = old_routes.find(def.name);
    if (it != old_routes.end() && it->second->service == service) {
      table->routes.emplace_back(it->second);
    } else {
      table->routes.emplace_back(new RouteRuntime(def.name, service));
    }
  }
  std::unordered_map<std::string_view, ServiceRuntime*> old_services;
  if (previous)
    for (const auto& svc : previous->services) old_services.emplace(svc->name, svc.get());
  table->services.reserve(snapshot->services.size());
  for (const ServiceDef& def : snapshot->services) {
    auto it = old_services.find(def.name);
    if (it != old_services.end()) {
      table->services.emplace_back(it->second);
    } else {
      table->services.emplace_back(new ServiceRuntime(def.name));
    }
  }
  table->snapshot = std::move(snapshot);
  table->share_limits(workers);
  return table;
}

void WorkerTable::share_limits(unsigned workers) {
  workers = std::max(1u, workers);
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const config::Limits& limits = snapshot->services[snapshot->instances[i].service].limits;
    InstanceRuntime& instance = *instances[i];
    instance.connection_limit = std::max<std::uint32_t>(1, limits.max_connections_per_instance / workers);
    // At least one waiter per worker when the service allows any.
    const std::uint32_t pending = limits.max_pending_per_instance;
    instance.pending.set_max(pending == 0 ? 0 : std::max<std::uint32_t>(1, pending / workers));
  }
}

}  // namespace tg::proxy
