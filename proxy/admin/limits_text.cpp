#include "admin/limits_text.hpp"

#include "admin/label.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

namespace tg::proxy::admin {

void render_limits(std::string& out, const std::vector<WorkerStatsCopy>& workers) {
  std::map<std::pair<std::string, std::string>, limits::LimitsCopy::Route> routes;  // by (tenant, route)
  std::map<std::string, limits::LimitsCopy::Tenant> tenants;
  std::uint64_t keys = 0, evictions = 0;
  for (const WorkerStatsCopy& w : workers) {
    keys += w.limits.keys;
    evictions += w.limits.key_evictions;
    for (const auto& r : w.limits.routes) {
      auto [it, fresh] = routes.try_emplace({r.tenant, r.route}, r);
      if (fresh) continue;
      for (std::size_t i = 0; i < limits::kLimitKinds; ++i) {
        it->second.limited[i] += r.limited[i];
        it->second.shadow[i] += r.shadow[i];
      }
    }
    // One cell per proxy: every worker's copy reads the same count.
    for (const auto& t : w.limits.tenants) {
      auto [it, fresh] = tenants.try_emplace(t.id, t);
      if (!fresh) it->second.in_flight = std::max(it->second.in_flight, t.in_flight);
    }
  }
  // A table that never had limits shows none of these families.
  const bool keyed_ever = std::any_of(workers.begin(), workers.end(),
                                      [](const WorkerStatsCopy& w) { return w.limits.keyed_table; });
  if (routes.empty() && tenants.empty() && !keyed_ever) return;
  auto add = [&]<typename... Args>(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
  };
  const auto series = [&](std::string_view name, bool shadow) {
    for (const auto& [key, r] : routes)
      for (std::size_t i = 0; i < limits::kLimitKinds; ++i) {
        const std::uint64_t n = shadow ? r.shadow[i] : r.limited[i];
        add("{}{{tenant=\"{}\",route=\"{}\",limit=\"{}\"}} {}\n", name, label(key.first), label(key.second),
            limits::to_string(static_cast<limits::LimitKind>(i)), n);
      }
  };
  add("# HELP tg_proxy_rate_limited_total Requests refused 429 rate_limited, by tenant of the route's service, route "
      "and limit (route_rate, tenant_rate, tenant_concurrency).\n"
      "# TYPE tg_proxy_rate_limited_total counter\n");
  series("tg_proxy_rate_limited_total", false);
  add("# HELP tg_proxy_rate_limited_shadow_total Requests a limit with shadow: true would have refused (they were "
      "served), by tenant, route and limit.\n"
      "# TYPE tg_proxy_rate_limited_shadow_total counter\n");
  series("tg_proxy_rate_limited_shadow_total", true);
  add("# HELP tg_proxy_rate_limit_keys Keys held in the workers' keyed-bucket tables (rate_limit by client_ip or "
      "header; at most --rate-limit-max-keys per worker, least recently used evicted).\n"
      "# TYPE tg_proxy_rate_limit_keys gauge\ntg_proxy_rate_limit_keys {}\n",
      keys);
  add("# HELP tg_proxy_rate_limit_key_evictions_total Keys evicted from a full keyed-bucket table (a key that comes "
      "back starts with a full bucket).\n"
      "# TYPE tg_proxy_rate_limit_key_evictions_total counter\ntg_proxy_rate_limit_key_evictions_total {}\n",
      evictions);
  add("# HELP tg_proxy_tenant_requests_in_flight Requests in flight per tenant with limits.max_concurrent "
      "(per proxy).\n# TYPE tg_proxy_tenant_requests_in_flight gauge\n");
  for (const auto& [id, t] : tenants)
    add("tg_proxy_tenant_requests_in_flight{{tenant=\"{}\"}} {}\n", label(id), t.in_flight);
}

}  // namespace tg::proxy::admin
