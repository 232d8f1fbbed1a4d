// The rate and concurrency limits of one table (docs/configuration.md:
// a route's rate_limit, a tenant's limits), made off the workers when a
// Snapshot is built and read by phase 4 (pipeline/limit_gate.hpp).
//
// Immutable but for the shared cells it points to: the fixed buckets
// (SharedBucket, one per route limit by route or tenant and one per tenant
// rate, per proxy) and the tenants' in-flight counters (ConcurrencyCell).
// The next table's TableLimits takes them over by key, so a bucket keeps its
// state across table changes while its limit is unchanged (same route or
// tenant, by, rate and burst), and a tenant's in-flight count is kept while
// the tenant is (whatever its limit). A table with no limit at all has no
// TableLimits (a null pointer): such a table costs phase 4 one test.
#pragma once

#include "config/model.hpp"
#include "limits/concurrency.hpp"
#include "limits/gcra.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tg::proxy::limits {

// Which limit: the `limit` label of tg_proxy_rate_limited_total.
enum class LimitKind : std::uint8_t {
  route_rate,          // the route's rate_limit
  tenant_rate,         // the tenant's limits.rate / burst
  tenant_concurrency,  // the tenant's limits.max_concurrent
};
inline constexpr std::size_t kLimitKinds = 3;
std::string_view to_string(LimitKind kind);

// What the RateLimit-Policy field says of a bucket: `quota` requests per
// `window_s` seconds (draft-ietf-httpapi-ratelimit-headers: q and w).
struct Policy {
  std::uint64_t quota = 0;
  std::uint64_t window_s = 1;
};

// A bucket shared by the workers: a route's rate_limit by route or by
// tenant, or a tenant's rate.
struct FixedLimit {
  GcraShape shape;
  Policy policy;
  bool shadow = false;
  std::shared_ptr<SharedBucket> bucket;
};

// A route's rate_limit by client_ip or header:NAME: one bucket per key and
// worker (limits/keyed_buckets.hpp), each at the worker's share of the rate.
struct KeyedLimit {
  config::RouteRateLimit::By by = config::RouteRateLimit::By::client_ip;
  std::string header;  // By::header: the name, lower-case
  std::uint64_t count = 1;
  std::uint64_t period_ns = 1'000'000'000;
  std::uint64_t burst = 0;
  Policy policy;
  bool shadow = false;
  // Mixed into every key's hash: another limit (or this route's limit
  // changed) never finds this one's buckets.
  std::uint64_t seed = 0;
};

struct TenantLimitDef {
  std::string id;
  config::TenantLimits source;  // as the table gives them, for /config
  std::optional<FixedLimit> rate;
  std::uint32_t max_concurrent = 0;  // 0: unlimited
  bool shadow = false;               // for the rate and max_concurrent alike
  std::shared_ptr<ConcurrencyCell> in_flight;  // when max_concurrent > 0
};

// The limits a request on one route meets, in the order phase 4 applies
// them: the tenant's concurrency, the route's bucket, the tenant's bucket.
struct RouteLimitDef {
  std::string route;
  std::string tenant;  // of the route's service; "" for none
  std::int32_t tenant_limits = -1;  // index into TableLimits::tenants, or -1
  std::optional<FixedLimit> fixed;
  std::optional<KeyedLimit> keyed;
  std::optional<config::RouteRateLimit> source;  // the route's rate_limit, for /config
};

// /config's view of a limit, in the YAML's terms ("rate": "100/s", "by":
// "header:x-key", the effective burst); "shadow" only when set.
boost::json::object describe(const config::RouteRateLimit& limit);
boost::json::object describe(const config::TenantLimits& limits);

class TableLimits {
 public:
  // Null when no route has a rate_limit and no tenant (of a routed service)
  // has limits. `config.routes` is in the Snapshot's route order. Cells of
  // `previous` (the table served before, may be null) are taken over by key.
  static std::shared_ptr<const TableLimits> build(const config::Config& config, const TableLimits* previous);

  static constexpr std::int32_t kUnlimited = -1;
  // The limits of the Snapshot's route `route`: an index into limited(), or kUnlimited.
  std::int32_t slot(std::int32_t route) const {
    return static_cast<std::size_t>(route) < route_slots_.size() ? route_slots_[static_cast<std::size_t>(route)]
                                                                  : kUnlimited;
  }
  const std::vector<RouteLimitDef>& limited() const { return limited_; }
  const std::vector<TenantLimitDef>& tenants() const { return tenants_; }
  bool has_keyed() const { return has_keyed_; }

  // The shared cells by key, for the next table's build to take over.
  struct Cells {
    std::unordered_map<std::string, std::shared_ptr<SharedBucket>> buckets;
    std::unordered_map<std::string, std::shared_ptr<ConcurrencyCell>> in_flight;  // by tenant id
  };
  const Cells& cells() const { return cells_; }

 private:
  std::vector<std::int32_t> route_slots_;  // by route index
  std::vector<RouteLimitDef> limited_;
  std::vector<TenantLimitDef> tenants_;
  bool has_keyed_ = false;
  Cells cells_;
};

}  // namespace tg::proxy::limits
