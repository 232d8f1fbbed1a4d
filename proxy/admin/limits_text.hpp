// The tg_proxy_rate_limit* and tenant in-flight series of /metrics, from the
// workers' copies of phase 4's limits (limits/worker_limits.hpp).
#pragma once

#include "runtime/worker.hpp"

#include <string>
#include <vector>

namespace tg::proxy::admin {

// Appends the series to `out`: refusals and shadow refusals summed over the
// workers by (tenant, route, limit); the keyed buckets held; each limited
// tenant's requests in flight (per proxy). Nothing when no worker has met a
// limit yet.
void render_limits(std::string& out, const std::vector<WorkerStatsCopy>& workers);

}  // namespace tg::proxy::admin
