#include "server/metrics.hpp"

#include "registry/registry.hpp"
#include "text/prometheus_label.hpp"

#include <cstdio>

namespace tg::control {
namespace {

std::uint64_t micros(std::chrono::nanoseconds d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

std::string seconds(std::uint64_t us) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", static_cast<double>(us) / 1e6);
  return buffer;
}

void latency_histogram(std::string& out, const std::string& name, const std::string& labels,
                       const metrics::LatencyHistogram& h) {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < metrics::kLatencyBoundsUs.size(); ++i) {
    cumulative += h.buckets[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + seconds(metrics::kLatencyBoundsUs[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + seconds(h.sum_us) + "\n";
  out += name + "_count" + braces + " " + std::to_string(h.count) + "\n";
}


void sample(std::string& out, const char* type, const std::string& name, const std::string& help,
            std::uint64_t value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + std::to_string(value) +
         "\n";
}

void gauge(std::string& out, const std::string& name, const std::string& help, std::uint64_t value) {
  sample(out, "gauge", name, help, value);
}

// A counter without labels.
void counter(std::string& out, const std::string& name, const std::string& help, std::uint64_t value) {
  sample(out, "counter", name, help, value);
}

}  // namespace

void Metrics::record_call(const std::string& method, Code code, std::chrono::nanoseconds duration) {
  ++calls_[{method, code}];
  call_durations_[method].record(micros(duration));
}

void Metrics::record_commit(std::chrono::nanoseconds duration, std::size_t batches, bool ok) {
  if (!ok) {
    ++commit_failures_;
    return;
  }
  commit_durations_.record(micros(duration));
  std::size_t i = 0;
  while (i < batch_bounds.size() && batches > batch_bounds[i]) ++i;
  ++batch_buckets_[i];
  batch_sum_ += batches;
}

void Metrics::record_probe(bool passed, std::chrono::microseconds latency) {
  ++(passed ? probes_passed_ : probes_failed_);
  probe_durations_.record(static_cast<std::uint64_t>(latency.count()));
}

std::uint64_t Metrics::calls(const std::string& method, Code code) const {
  auto it = calls_.find({method, code});
  return it == calls_.end() ? 0 : it->second;
}

std::uint64_t Metrics::http_admin(const std::string& method, unsigned status) const {
  auto it = http_admin_.find({method, status});
  return it == http_admin_.end() ? 0 : it->second;
}

std::string Metrics::render(const Registry& registry, std::uint64_t committed_revision) const {
  std::string out;
  gauge(out, "tg_control_tenants", "Tenants in the registry.", registry.tenants().size());
  gauge(out, "tg_control_services", "Services in the registry.", registry.services().size());
  gauge(out, "tg_control_routes", "Routes in the registry.", registry.routes().size());
  std::map<std::string, std::uint64_t> by_health = {{"unknown", 0}, {"healthy", 0}, {"unhealthy", 0}};
  for (const auto& [id, instance] : registry.instances()) {
    switch (instance.health()) {
      case v1::HEALTH_HEALTHY: ++by_health["healthy"]; break;
      case v1::HEALTH_UNHEALTHY: ++by_health["unhealthy"]; break;
      default: ++by_health["unknown"]; break;
    }
  }
  out += "# HELP tg_control_instances Instances in the registry by health.\n# TYPE tg_control_instances gauge\n";
  for (const auto& [health, n] : by_health)
    out += "tg_control_instances{health=\"" + health + "\"} " + std::to_string(n) + "\n";
  // Per service: every service appears (zeros included), so a service whose
  // instances all went away reads 0, not absent.
  std::map<std::string, std::array<std::uint64_t, 3>> per_service;  // healthy, unhealthy, unknown
  for (const auto& [name, service] : registry.services()) per_service[name] = {0, 0, 0};
  for (const auto& [id, instance] : registry.instances()) {
    auto& counts = per_service[instance.service()];
    ++counts[instance.health() == v1::HEALTH_HEALTHY ? 0 : instance.health() == v1::HEALTH_UNHEALTHY ? 1 : 2];
  }
  out += "# HELP tg_control_service_instances Instances per service by health.\n"
         "# TYPE tg_control_service_instances gauge\n";
  static constexpr const char* health_names[] = {"healthy", "unhealthy", "unknown"};
  for (const auto& [name, counts] : per_service)
    for (int h = 0; h < 3; ++h)
      out += "tg_control_service_instances{service=\"" + text::prometheus_label(name) + "\",health=\"" + health_names[h] +
             "\"} " + std::to_string(counts[h]) + "\n";
  gauge(out, "tg_control_health_targets", "Instances under an active health check.", health_targets_);
  out += "# HELP tg_control_health_probes_total Active health probes by result.\n"
         "# TYPE tg_control_health_probes_total counter\n"
         "tg_control_health_probes_total{result=\"pass\"} " + std::to_string(probes_passed_) + "\n"
         "tg_control_health_probes_total{result=\"fail\"} " + std::to_string(probes_failed_) + "\n";
  out += "# HELP tg_control_health_probe_duration_seconds Active health probe duration, start to result.\n"
         "# TYPE tg_control_health_probe_duration_seconds histogram\n";
  latency_histogram(out, "tg_control_health_probe_duration_seconds", "", probe_durations_);
  gauge(out, "tg_control_registry_revision", "Revision of the last committed registry change.", committed_revision);
  gauge(out, "tg_control_registry_generation", "Start generation (bumped at every start).", registry.generation());
  gauge(out, "tg_control_store_read_only",
        "1 while the database is full: writes are refused (UNAVAILABLE), reads and the table stream go on.",
        store_read_only_ ? 1 : 0);
  out += "# HELP tg_control_store_full_total Commits and write probes that failed for lack of space.\n"
         "# TYPE tg_control_store_full_total counter\ntg_control_store_full_total " +
         std::to_string(store_full_) + "\n";
  out += "# HELP tg_control_audit_rows_deleted_total Audit rows deleted by retention (--audit-retention).\n"
         "# TYPE tg_control_audit_rows_deleted_total counter\ntg_control_audit_rows_deleted_total " +
         std::to_string(audit_deleted_) + "\n";
  out += "# HELP tg_control_event_rows_deleted_total Event groups deleted by retention (--events-retention).\n"
         "# TYPE tg_control_event_rows_deleted_total counter\ntg_control_event_rows_deleted_total " +
         std::to_string(events_deleted_) + "\n";
  out += "# HELP tg_control_rollup_rows_deleted_total Telemetry rollup rows and marks deleted by retention "
         "(--rollups-retention).\n"
         "# TYPE tg_control_rollup_rows_deleted_total counter\ntg_control_rollup_rows_deleted_total " +
         std::to_string(rollups_deleted_) + "\n";
  out += "# HELP tg_control_ingest_rows_deleted_total Event occurrences and status samples deleted by retention.\n"
         "# TYPE tg_control_ingest_rows_deleted_total counter\n";
  for (const char* table : {"occurrences", "status_samples"})
    out += std::string("tg_control_ingest_rows_deleted_total{table=\"") + table + "\"} " +
           std::to_string(ingest_deleted(table)) + "\n";

  out += "# HELP tg_control_admin_calls_total Admin API calls by method and status code.\n"
         "# TYPE tg_control_admin_calls_total counter\n";
  for (const auto& [key, n] : calls_)
    out += "tg_control_admin_calls_total{method=\"" + key.first + "\",code=\"" + std::string(code_name(key.second)) +
           "\"} " + std::to_string(n) + "\n";
  out += "# HELP tg_control_admin_call_duration_seconds Admin API call duration, receipt to answer.\n"
         "# TYPE tg_control_admin_call_duration_seconds histogram\n";
  for (const auto& [method, h] : call_durations_)
    latency_histogram(out, "tg_control_admin_call_duration_seconds", "method=\"" + method + "\"", h);
  out += "# HELP tg_control_sqlite_commit_duration_seconds Duration of one group-commit transaction.\n"
         "# TYPE tg_control_sqlite_commit_duration_seconds histogram\n";
  latency_histogram(out, "tg_control_sqlite_commit_duration_seconds", "", commit_durations_);
  out += "# HELP tg_control_sqlite_commit_batch_size Registry changes committed per transaction.\n"
         "# TYPE tg_control_sqlite_commit_batch_size histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < batch_bounds.size(); ++i) {
    cumulative += batch_buckets_[i];
    out += "tg_control_sqlite_commit_batch_size_bucket{le=\"" + std::to_string(batch_bounds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += batch_buckets_.back();
  out += "tg_control_sqlite_commit_batch_size_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += "tg_control_sqlite_commit_batch_size_sum " + std::to_string(batch_sum_) + "\n";
  out += "tg_control_sqlite_commit_batch_size_count " + std::to_string(cumulative) + "\n";
  out += "# HELP tg_control_sqlite_commit_failures_total Failed commit transactions (each stops tg-control).\n"
         "# TYPE tg_control_sqlite_commit_failures_total counter\n"
         "tg_control_sqlite_commit_failures_total " + std::to_string(commit_failures_) + "\n";
  out += "# HELP tg_control_http_requests_total Requests to the HTTP port by status.\n"
         "# TYPE tg_control_http_requests_total counter\n";
  for (const auto& [status, n] : http_)
    out += "tg_control_http_requests_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP tg_control_http_admin_requests_total HTTP JSON Admin requests (POST /v1/admin/<Method>) by "
         "method and HTTP status.\n"
         "# TYPE tg_control_http_admin_requests_total counter\n";
  for (const auto& [key, n] : http_admin_)
    out += "tg_control_http_admin_requests_total{method=\"" + text::prometheus_label(key.first) + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  counter(out, "tg_control_http_accept_errors_total",
          "Accepts on the HTTP port that failed for lack of descriptors or memory (each followed by a back-off).",
          http_accept_errors_);
  render_table(out);
  return out;
}

void Metrics::render_table(std::string& out) const {
  const TableMetrics& t = table_;
  gauge(out, "tg_control_table_generation", "Generation of the newest balancer-table version.", t.generation);
  gauge(out, "tg_control_table_sequence", "Sequence number (the counter part) of the newest balancer-table version.", t.counter);
  out += "# HELP tg_control_table_versions_total Balancer-table versions published by kind.\n"
         "# TYPE tg_control_table_versions_total counter\n"
         "tg_control_table_versions_total{kind=\"config\"} " + std::to_string(t.config_versions) + "\n"
         "tg_control_table_versions_total{kind=\"health\"} " + std::to_string(t.health_versions) + "\n";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", t.build_seconds);
  out += "# HELP tg_control_table_build_seconds Duration of the last full table build.\n"
         "# TYPE tg_control_table_build_seconds gauge\n"
         "tg_control_table_build_seconds " + std::string(buffer) + "\n";
  gauge(out, "tg_control_table_payload_bytes", "Size of the last full table (serialized Table).", t.payload_bytes);
  gauge(out, "tg_control_table_subscribers", "Proxies connected to Discovery.StreamTable (after their hello).",
        t.subscribers);
  out += "# HELP tg_control_table_updates_sent_total Table updates written to proxies by kind.\n"
         "# TYPE tg_control_table_updates_sent_total counter\n"
         "tg_control_table_updates_sent_total{kind=\"config\"} " + std::to_string(t.config_sent) + "\n"
         "tg_control_table_updates_sent_total{kind=\"health\"} " + std::to_string(t.health_sent) + "\n"
         "tg_control_table_updates_sent_total{kind=\"delta\"} " + std::to_string(t.delta_sent) + "\n";
  out += "# HELP tg_control_table_update_bytes_sent_total Bytes of table updates written to proxies by kind.\n"
         "# TYPE tg_control_table_update_bytes_sent_total counter\n"
         "tg_control_table_update_bytes_sent_total{kind=\"config\"} " + std::to_string(t.config_bytes_sent) + "\n"
         "tg_control_table_update_bytes_sent_total{kind=\"health\"} " + std::to_string(t.health_bytes_sent) + "\n"
         "tg_control_table_update_bytes_sent_total{kind=\"delta\"} " + std::to_string(t.delta_bytes_sent) + "\n";
  counter(out, "tg_control_table_delta_refusals_total",
          "Delta updates a proxy refused (NACKed); it got the full table of that version next.", t.delta_refused);
  counter(out, "tg_control_table_acks_total", "ACKs received from proxies.", t.acks);
  counter(out, "tg_control_table_nacks_total", "NACKs received from proxies.", t.nacks);
  counter(out, "tg_control_table_nacks_retryable_total",
          "NACKs that did not refuse the table (the proxy could not confirm it in time); it is sent again.",
          t.nacks_retryable);
  counter(out, "tg_control_table_resends_total", "Versions sent again after a retryable NACK.", t.resends);
  out += "# HELP tg_control_registry_info The registry id of this database.\n"
         "# TYPE tg_control_registry_info gauge\n"
         "tg_control_registry_info{registry_id=\"" + t.registry_id + "\"} 1\n";
  gauge(out, "tg_control_database_older_than_fleet",
        "1 while proxies of this registry serve newer versions than this database holds (restored backup?).",
        t.older_than_fleet ? 1 : 0);
  gauge(out, "tg_control_table_fenced_proxies",
        "Connected proxies to which nothing is pushed because the database is older than the fleet.",
        t.fenced_proxies);
  counter(out, "tg_control_generation_lifts_total", "Generation lifts above the fleet (--accept-restore).", t.generation_lifts);
  counter(out, "tg_control_table_node_replacements_total", "Streams of a connected node id replaced by a newer one.", t.node_replacements);
  out += "# HELP tg_control_table_streams_refused_total Table streams refused by reason.\n"
         "# TYPE tg_control_table_streams_refused_total counter\n"
         "tg_control_table_streams_refused_total{reason=\"unauthenticated\"} " +
         std::to_string(t.refused_unauthenticated) + "\n"
         "tg_control_table_streams_refused_total{reason=\"permission_denied\"} " +
         std::to_string(t.refused_permission) + "\n"
         "tg_control_table_streams_refused_total{reason=\"node_id_flapping\"} " +
         std::to_string(t.refused_node_clash) + "\n";
  out += "# HELP tg_control_table_streams_ended_total Table streams tg-control ended by reason (stream limits, "
         "bad input).\n"
         "# TYPE tg_control_table_streams_ended_total counter\n"
         "tg_control_table_streams_ended_total{reason=\"hello_timeout\"} " +
         std::to_string(t.ended_hello_timeout) + "\n"
         "tg_control_table_streams_ended_total{reason=\"write_timeout\"} " +
         std::to_string(t.ended_write_timeout) + "\n"
         "tg_control_table_streams_ended_total{reason=\"bad_request\"} " +
         std::to_string(t.ended_bad_request) + "\n";
  gauge(out, "tg_control_table_proxy_records", "Proxy records kept (connected, and disconnected ones retained).",
        t.proxy_records);
  counter(out, "tg_control_table_proxy_records_dropped_total",
          "Records of disconnected proxies dropped (--proxy-retention, or past the record cap).",
          t.proxy_records_dropped);
}

}  // namespace tg::control

namespace tg::control {

std::uint64_t Metrics::ingest_deleted(const std::string& table) const {
  auto it = ingest_deleted_.find(table);
  return it == ingest_deleted_.end() ? 0 : it->second;
}

}  // namespace tg::control
