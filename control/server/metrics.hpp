// tg-control's Prometheus metrics. Owned by the owner loop (single writer,
// single reader): recorded and rendered on that thread only, no atomics.
//
//   tg_control_tenants / _services / _routes           registry sizes
//   tg_control_instances{health}                        instances by health
//   tg_control_service_instances{service,health}       instances per service: healthy | unhealthy | unknown
//   tg_control_health_targets                           instances under an active health check
//   tg_control_health_probes_total{result}              probes run: pass | fail
//   tg_control_health_probe_duration_seconds            histogram: probe start to result
//   tg_control_registry_revision, _generation          committed revision, start generation
//   tg_control_admin_calls_total{method,code}           every Admin call, bad input included
//   tg_control_admin_call_duration_seconds{method}      histogram (common/metrics bucket layout)
//   tg_control_sqlite_commit_duration_seconds           histogram of COMMIT transactions
//   tg_control_sqlite_commit_batch_size                 histogram: changes per transaction
//   tg_control_sqlite_commit_failures_total
//   tg_control_http_requests_total{code}                the HTTP port, 404/405 included
//   tg_control_http_accept_errors_total                 its accepts failed for lack of descriptors/memory
//   tg_control_http_admin_requests_total{method,code}   POST /v1/admin/<Method> by method and HTTP status
//   tg_control_table_generation, _counter               newest balancer-table version
//   tg_control_table_versions_total{kind}               versions published: config | health
//   tg_control_table_build_seconds, _payload_bytes      last full table build
//   tg_control_table_subscribers                        proxies connected to StreamTable
//   tg_control_table_updates_sent_total{kind}           updates written: config | health
//   tg_control_table_acks_total, _nacks_total           answers of the proxies
//   tg_control_table_nacks_retryable_total, _resends_total  retryable NACKs, versions sent again
//   tg_control_registry_info{registry_id}               1; this database's registry id
//   tg_control_database_older_than_fleet                1 while proxies serve newer versions
//   tg_control_table_fenced_proxies                     connected proxies sent nothing because of it
//   tg_control_generation_lifts_total                   --accept-restore lifts of the generation
//   tg_control_table_streams_ended_total{reason}        streams ended: hello_timeout | write_timeout | bad_request
//   tg_control_table_proxy_records, _dropped_total      proxy records kept, disconnected ones dropped
#pragma once

#include "metrics/histogram.hpp"
#include "status.hpp"
#include "stream/table_metrics.hpp"

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
  void record_http_accept_error() { ++http_accept_errors_; }
  // POST /v1/admin/<Method>: `method` is the Admin method, or "unknown".
  void record_http_admin(const std::string& method, unsigned status) { ++http_admin_[{method, status}]; }
  std::uint64_t http_admin(const std::string& method, unsigned status) const;
  // Read-only mode (docs/operations.md, "Store integrity and disk full").
  void set_store_read_only(bool read_only) { store_read_only_ = read_only; }
  void record_store_full() { ++store_full_; }
  void record_audit_deleted(std::uint64_t rows) { audit_deleted_ += rows; }
  void record_events_deleted(std::uint64_t rows) { events_deleted_ += rows; }
  void record_rollups_deleted(std::uint64_t rows) { rollups_deleted_ += rows; }
  std::uint64_t rollups_deleted() const { return rollups_deleted_; }
  // Retention of event occurrences and status samples ("occurrences", "status_samples").
  void record_ingest_deleted(const std::string& table, std::uint64_t rows) { ingest_deleted_[table] += rows; }
  std::uint64_t ingest_deleted(const std::string& table) const;
  // Active health checks (control/health/).
  void record_probe(bool passed, std::chrono::microseconds latency);
  void set_health_targets(std::size_t targets) { health_targets_ = targets; }
  std::uint64_t probes(bool passed) const { return passed ? probes_passed_ : probes_failed_; }
  std::uint64_t audit_deleted() const { return audit_deleted_; }
  std::uint64_t events_deleted() const { return events_deleted_; }
  bool store_read_only() const { return store_read_only_; }
  std::uint64_t store_full() const { return store_full_; }

  std::uint64_t calls(const std::string& method, Code code) const;
  std::uint64_t commits() const { return commit_durations_.count; }
  TableMetrics& table() { return table_; }
  const TableMetrics& table() const { return table_; }

  std::string render(const Registry& registry, std::uint64_t committed_revision) const;

 private:
  bool store_read_only_ = false;
  std::uint64_t store_full_ = 0;
  std::uint64_t audit_deleted_ = 0;
  std::uint64_t events_deleted_ = 0;
  std::uint64_t rollups_deleted_ = 0;
  std::map<std::string, std::uint64_t> ingest_deleted_;
  void render_table(std::string& out) const;

  std::map<std::pair<std::string, Code>, std::uint64_t> calls_;
  std::map<std::string, metrics::LatencyHistogram> call_durations_;
  metrics::LatencyHistogram commit_durations_;
  std::array<std::uint64_t, batch_bounds.size() + 1> batch_buckets_{};
  std::uint64_t batch_sum_ = 0;
  std::uint64_t commit_failures_ = 0;
  std::map<unsigned, std::uint64_t> http_;
  std::uint64_t http_accept_errors_ = 0;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> http_admin_;
  TableMetrics table_;
  std::size_t health_targets_ = 0;
  std::uint64_t probes_passed_ = 0, probes_failed_ = 0;
  metrics::LatencyHistogram probe_durations_;
};

}  // namespace tg::control
