// One worker's side of the rate and concurrency limits: its view of the
// table's limits (a Generation: the table's TableLimits, the worker's share
// of each keyed limit, the counters of each limited route), its keyed
// buckets, and the copy /metrics takes of them.
//
// Worker-local: nothing here is shared but the cells TableLimits points to.
// A Generation is made the first time a request meets a new table's limits
// (phase 4) and lives while the worker serves that table or a request holds
// a concurrency slot from it (RequestLimits::holder), so a slot's cell
// outlives the table it came from.
#pragma once

#include "core/ref_counted.hpp"
#include "limits/keyed_buckets.hpp"
#include "limits/table_limits.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tg::proxy::limits {

// A limited route's decisions on one worker, carried from table to table by
// route name and tenant.
struct RouteCounters : LocalRefCounted<RouteCounters> {
  RouteCounters(std::string route_, std::string tenant_) : route(std::move(route_)), tenant(std::move(tenant_)) {}
  std::string route;
  std::string tenant;
  std::array<std::uint64_t, kLimitKinds> limited{};  // refused (429), by LimitKind
  std::array<std::uint64_t, kLimitKinds> shadow{};   // would have been refused (shadow: true), by LimitKind
};

struct Generation : LocalRefCounted<Generation> {
  std::shared_ptr<const TableLimits> table;
  std::vector<LocalPtr<RouteCounters>> counters;  // by TableLimits::limited() index
  std::vector<GcraShape> keyed_shapes;            // by the same index: the worker's share (keyed limits)
};

// What /metrics reads of one worker (summed over workers by the renderer).
struct LimitsCopy {
  struct Route {
    std::string route, tenant;
    std::array<std::uint64_t, kLimitKinds> limited{}, shadow{};
  };
  struct Tenant {
    std::string id;
    std::int64_t in_flight = 0;  // per proxy (the same cell in every worker)
    std::uint32_t max_concurrent = 0;
  };
  std::vector<Route> routes;
  std::vector<Tenant> tenants;
  bool keyed_table = false;  // the worker has met a keyed limit
  std::uint64_t keys = 0;    // keyed buckets held
  std::uint64_t key_evictions = 0;
};

class WorkerLimits {
 public:
  // Keyed buckets per worker (the LRU's bound).
  static constexpr std::uint32_t kKeysPerWorker = 16384;

  // `workers`: the proxy's worker count, which divides keyed limits.
  explicit WorkerLimits(unsigned workers, std::uint32_t key_capacity = kKeysPerWorker)
      : workers_(workers), key_capacity_(key_capacity) {}

  // The worker's view of `table`: the current one, or a new one (counters
  // carried by route name and tenant) when the table changed.
  Generation& view(const std::shared_ptr<const TableLimits>& table) {
    if (current_ && current_->table == table) [[likely]]
      return *current_;
    return refresh(table);
  }
  // The worker's keyed buckets (made at the first keyed limit).
  KeyedBuckets& keyed() {
    if (!keyed_) [[unlikely]]
      keyed_.emplace(key_capacity_);
    return *keyed_;
  }
  LimitsCopy collect() const;

 private:
  Generation& refresh(const std::shared_ptr<const TableLimits>& table);

  unsigned workers_;
  std::uint32_t key_capacity_;
  LocalPtr<Generation> current_;
  std::optional<KeyedBuckets> keyed_;
};

}  // namespace tg::proxy::limits
