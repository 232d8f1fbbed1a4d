#include "limits/table_limits.hpp"

#include "hashing/stable_hash.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>

namespace tg::proxy::limits {

std::string_view to_string(LimitKind kind) {
  switch (kind) {
    case LimitKind::route_rate: return "route_rate";
    case LimitKind::tenant_rate: return "tenant_rate";
    case LimitKind::tenant_concurrency: return "tenant_concurrency";
  }
  return "unknown";
}

namespace {

std::uint64_t period_ns(const config::Rate& rate) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(rate.period).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 1'000'000'000;
}

Policy policy_of(const config::Rate& rate) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(rate.period).count();
  return Policy{rate.count, seconds > 0 ? static_cast<std::uint64_t>(seconds) : 1};
}

// A bucket's identity: the same key in the next table means the same
// limit, whose state carries over.
std::string shape_key(const config::Rate& rate, std::uint64_t burst) {
  return std::to_string(rate.count) + '/' + std::to_string(period_ns(rate)) + '/' + std::to_string(burst);
}

std::string_view by_name(config::RouteRateLimit::By by) {
  switch (by) {
    case config::RouteRateLimit::By::tenant: return "tenant";
    case config::RouteRateLimit::By::client_ip: return "client_ip";
    case config::RouteRateLimit::By::header: return "header";
    case config::RouteRateLimit::By::route: return "route";
  }
  return "";
}

class Builder {
 public:
  Builder(TableLimits::Cells& cells, const TableLimits* previous) : cells_(cells), previous_(previous) {}

  FixedLimit fixed(const config::Rate& rate, std::uint64_t burst, bool shadow, const std::string& key) {
    FixedLimit limit;
    limit.shape = GcraShape::of(rate.count, period_ns(rate), burst);
    limit.policy = policy_of(rate);
    limit.shadow = shadow;
    limit.bucket = carried(cells_.buckets, previous_ ? &previous_->cells().buckets : nullptr, key);
    return limit;
  }

  std::shared_ptr<ConcurrencyCell> in_flight(const std::string& tenant) {
    return carried(cells_.in_flight, previous_ ? &previous_->cells().in_flight : nullptr, tenant);
  }

 private:
  // The cell under `key`: this table's (two routes may share one), else the
  // previous table's, else a new one.
  template <typename Cell>
  static std::shared_ptr<Cell> carried(std::unordered_map<std::string, std::shared_ptr<Cell>>& now,
                                       const std::unordered_map<std::string, std::shared_ptr<Cell>>* before,
                                       const std::string& key) {
    auto [it, fresh] = now.try_emplace(key);
    if (!fresh) return it->second;
    if (before) {
      auto old = before->find(key);
      if (old != before->end()) return it->second = old->second;
    }
    return it->second = std::make_shared<Cell>();
  }

  TableLimits::Cells& cells_;
  const TableLimits* previous_;
};

std::string rate_text(const config::Rate& rate) {
  // The loader takes <count>/s and <count>/m only.
  return std::to_string(rate.count) + (rate.period == std::chrono::minutes(1) ? "/m" : "/s");
}

}  // namespace

boost::json::object describe(const config::RouteRateLimit& limit) {
  using By = config::RouteRateLimit::By;
  boost::json::object o{{"rate", rate_text(limit.rate)},
                        {"burst", limit.burst ? limit.burst : limit.rate.count},
                        {"by", limit.by == By::header ? "header:" + limit.header : std::string(by_name(limit.by))}};
  if (limit.shadow) o["shadow"] = true;
  return o;
}

boost::json::object describe(const config::TenantLimits& limits) {
  boost::json::object o;
  if (limits.rate) {
    o["rate"] = rate_text(*limits.rate);
    o["burst"] = limits.burst ? limits.burst : limits.rate->count;
  }
  if (limits.max_concurrent) o["max_concurrent"] = limits.max_concurrent;
  if (limits.shadow) o["shadow"] = true;
  return o;
}

std::shared_ptr<const TableLimits> TableLimits::build(const config::Config& config, const TableLimits* previous) {
  std::unordered_map<std::string_view, const config::Tenant*> limited_tenants;
  for (const config::Tenant& tenant : config.tenants)
    if (tenant.limits.rate || tenant.limits.max_concurrent > 0) limited_tenants.emplace(tenant.id, &tenant);
  std::unordered_map<std::string_view, std::string_view> service_tenant;
  for (const config::Service& service : config.services) service_tenant.emplace(service.name, service.tenant);
  const auto tenant_of = [&](const config::Route& route) -> std::string_view {
    const auto it = service_tenant.find(route.service);
    return it == service_tenant.end() ? std::string_view{} : it->second;
  };

  bool any = false;
  for (const config::Route& route : config.routes)
    any = any || route.rate_limit || limited_tenants.count(tenant_of(route)) > 0;
  if (!any) return nullptr;

  auto out = std::make_shared<TableLimits>();
  Builder builder(out->cells_, previous);
  std::unordered_map<std::string_view, std::int32_t> tenant_index;
  const auto tenant_limits = [&](const config::Tenant& tenant) -> std::int32_t {
    auto [it, fresh] = tenant_index.try_emplace(tenant.id, static_cast<std::int32_t>(out->tenants_.size()));
    if (!fresh) return it->second;
    TenantLimitDef def;
    def.id = tenant.id;
    def.source = tenant.limits;
    def.shadow = tenant.limits.shadow;
    def.max_concurrent = tenant.limits.max_concurrent;
    if (tenant.limits.rate)
      def.rate = builder.fixed(*tenant.limits.rate, tenant.limits.burst, tenant.limits.shadow,
                               "tenant\n" + tenant.id + '\n' + shape_key(*tenant.limits.rate, tenant.limits.burst));
    if (def.max_concurrent > 0) def.in_flight = builder.in_flight(tenant.id);
    out->tenants_.push_back(std::move(def));
    return it->second;
  };

  out->route_slots_.reserve(config.routes.size());
  for (const config::Route& route : config.routes) {
    const std::string_view tenant = tenant_of(route);
    const auto limited_tenant = limited_tenants.find(tenant);
    if (!route.rate_limit && limited_tenant == limited_tenants.end()) {
      out->route_slots_.push_back(kUnlimited);
      continue;
    }
    RouteLimitDef def;
    def.route = route.name;
    def.tenant = std::string(tenant);
    if (limited_tenant != limited_tenants.end()) def.tenant_limits = tenant_limits(*limited_tenant->second);
    def.source = route.rate_limit;
    if (const auto& limit = route.rate_limit) {
      using By = config::RouteRateLimit::By;
      // by: tenant counts the route's requests for its service's tenant (the
      // only tenant whose requests reach it): one bucket per route and tenant;
      // a service without tenant makes it one bucket for the route.
      const std::string identity = "route\n" + route.name + '\n' + std::string(by_name(limit->by)) + '\n' +
                                   (limit->by == By::tenant ? std::string(tenant) : std::string()) + '\n' +
                                   limit->header + '\n' + shape_key(limit->rate, limit->burst);
      if (limit->by == By::route || limit->by == By::tenant) {
        def.fixed = builder.fixed(limit->rate, limit->burst, limit->shadow, identity);
      } else {
        KeyedLimit keyed;
        keyed.by = limit->by;
        keyed.header = limit->header;
        keyed.count = limit->rate.count;
        keyed.period_ns = period_ns(limit->rate);
        keyed.burst = limit->burst;
        keyed.policy = policy_of(limit->rate);
        keyed.shadow = limit->shadow;
        keyed.seed = hashing::stable_hash(identity);
        def.keyed = std::move(keyed);
        out->has_keyed_ = true;
      }
    }
    out->route_slots_.push_back(static_cast<std::int32_t>(out->limited_.size()));
    out->limited_.push_back(std::move(def));
  }
  return out;
}

}  // namespace tg::proxy::limits
