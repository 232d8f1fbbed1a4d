// Prometheus text exposition of the workers' counters.
#pragma once

#include "runtime/table_feed.hpp"
#include "runtime/worker.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tg::proxy::admin {

struct ProcessGauges {
  std::uint64_t config_version = 0;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::uint64_t access_log_dropped = 0;
  bool draining = false;
  std::optional<FeedStatus> feed;  // with --control: the tg_control_* series
};

// Sums the per-worker copies (same route name / instance id) and renders them.
std::string render_metrics(const std::vector<WorkerStatsCopy>& workers, const ProcessGauges& process);

}  // namespace tg::proxy::admin
