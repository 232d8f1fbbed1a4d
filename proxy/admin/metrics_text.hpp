// Prometheus text exposition of the workers' counters.
#pragma once

#include "runtime/worker.hpp"

#include <string>
#include <vector>

namespace tg::proxy::admin {

struct ProcessGauges {
  std::uint64_t config_version = 0;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::uint64_t access_log_dropped = 0;
  bool draining = false;
};

// Sums the per-worker copies (same route name / instance id) and renders them.
std::string render_metrics(const std::vector<WorkerStatsCopy>& workers, const ProcessGauges& process);

}  // namespace tg::proxy::admin
