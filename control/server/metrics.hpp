// tg-control's Prometheus metrics. Owned by the owner loop (single writer,
// single reader): recorded and rendered on that thread only, no atomics.
//
//   tg_control_tenants / _services / _routes           registry sizes
//   tg_control_instances{health}                        instances by health
//   tg_control_registry_revision, _generation          committed revision, start generation
//   tg_control_admin_calls_total{method,code}           every Admin call, bad input included
//   tg_control_admin_call_duration_seconds{method}      histogram (common/metrics bucket layout)
//   tg_control_sqlite_commit_duration_seconds           histogram of COMMIT transactions
//   tg_control_sqlite_commit_batch_size                 histogram: changes per transaction
//   tg_control_sqlite_commit_failures_total
//   tg_control_http_requests_total{code}                the HTTP port, 404/405 included
#pragma once

#include "metrics/histogram.hpp"
#include "status.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace tg::control {

class Registry;

class Metrics {
 public:
  // Upper bounds of the batch-size histogram (the last bucket, +Inf, implicit).
  static constexpr std::array<std::uint64_t, 11> batch_bounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

  void record_call(const std::string& method, Code code, std::chrono::nanoseconds duration);
  void record_commit(std::chrono::nanoseconds duration, std::size_t batches, bool ok);
  void record_http(unsigned status) { ++http_[status]; }

  std::uint64_t calls(const std::string& method, Code code) const;
  std::uint64_t commits() const { return commit_durations_.count; }

  std::string render(const Registry& registry, std::uint64_t committed_revision) const;

 private:
  std::map<std::pair<std::string, Code>, std::uint64_t> calls_;
  std::map<std::string, metrics::LatencyHistogram> call_durations_;
  metrics::LatencyHistogram commit_durations_;
  std::array<std::uint64_t, batch_bounds.size() + 1> batch_buckets_{};
  std::uint64_t batch_sum_ = 0;
  std::uint64_t commit_failures_ = 0;
  std::map<unsigned, std::uint64_t> http_;
};

}  // namespace tg::control
