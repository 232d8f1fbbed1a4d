#include "limits/worker_limits.hpp"

#include <unordered_map>

namespace tg::proxy::limits {

Generation& WorkerLimits::refresh(const std::shared_ptr<const TableLimits>& table) {
  LocalPtr<Generation> next(new Generation);
  next->table = table;
  std::unordered_map<std::string, RouteCounters*> before;
  if (current_)
    for (const auto& counters : current_->counters) before.emplace(counters->route + '\n' + counters->tenant, counters.get());
  next->counters.reserve(table->limited().size());
  next->keyed_shapes.resize(table->limited().size());
  for (std::size_t i = 0; i < table->limited().size(); ++i) {
    const RouteLimitDef& def = table->limited()[i];
    const auto old = before.find(def.route + '\n' + def.tenant);
    if (old != before.end()) next->counters.emplace_back(old->second);
    else next->counters.emplace_back(new RouteCounters(def.route, def.tenant));
    if (def.keyed) next->keyed_shapes[i] = GcraShape::of(def.keyed->count, def.keyed->period_ns, def.keyed->burst, workers_);
  }
  current_ = std::move(next);
  return *current_;
}

LimitsCopy WorkerLimits::collect() const {
  LimitsCopy copy;
  if (keyed_) {
    copy.keyed_table = true;
    copy.keys = keyed_->size();
    copy.key_evictions = keyed_->evictions();
  }
  if (!current_) return copy;
  for (const auto& counters : current_->counters)
    copy.routes.push_back({counters->route, counters->tenant, counters->limited, counters->shadow});
  for (const TenantLimitDef& tenant : current_->table->tenants())
    if (tenant.in_flight) copy.tenants.push_back({tenant.id, tenant.in_flight->in_flight(), tenant.max_concurrent});
  return copy;
}

}  // namespace tg::proxy::limits
