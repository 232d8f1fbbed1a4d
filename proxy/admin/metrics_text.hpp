// Prometheus text exposition of the workers' counters.
#pragma once

#include "runtime/worker.hpp"
#include "table/table_feed.hpp"
#include "telemetry/telemetry_sink.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace tg::proxy::admin {

struct ProcessGauges {
  std::uint64_t config_version = 0;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::uint64_t access_log_dropped = 0;
  std::uint64_t admin_accept_errors = 0;  // accepts on this port that failed for lack of descriptors or memory
  bool draining = false;
  std::optional<FeedStatus> feed;  // with --control: the tg_control_* series
  std::optional<TelemetryStatus> telemetry;  // with telemetry on: the tg_telemetry_* series
};

// Which tenants have tg_tenant_* series of their own (--max-tenant-series N).
// The first N tenants seen with traffic are admitted (in name order within
// one scrape) and keep their series for the life of the process, so a series
// never moves between a tenant and "other" from one scrape to the next; the
// others are summed into tenant="other". Kept by the admin (main) thread; the
// workers only count per route, and the tenant of a route is known here, so
// the request path pays nothing for it.
class TenantSeries {
 public:
  explicit TenantSeries(std::size_t limit) : limit_(limit) {}
  bool enabled() const { return limit_ > 0; }
  // Admits `tenant` if there is room. "" (no tenant) is never admitted: it
  // always has its own series.
  void offer(const std::string& tenant);
  // The label value for `tenant`: itself, "" or "other".
  std::string_view label_for(const std::string& tenant) const;
  bool admitted(const std::string& tenant) const { return admitted_.count(tenant) > 0; }
  bool full() const { return admitted_.size() >= limit_; }

 private:
  std::size_t limit_;
  std::unordered_set<std::string> admitted_;
};

// Sums the per-worker copies (same route name / instance id) and renders them.
// With `tenants` enabled, also the tg_tenant_* series (and it admits tenants).
std::string render_metrics(const std::vector<WorkerStatsCopy>& workers, const ProcessGauges& process,
                           TenantSeries* tenants = nullptr);

}  // namespace tg::proxy::admin
