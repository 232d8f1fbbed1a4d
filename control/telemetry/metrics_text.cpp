// Ingest::render_metrics: the telemetry families of tg-control's /metrics
// (docs/operations.md lists them). Tenant totals count since this process
// started (Prometheus sees a restart as a counter reset); they come from
// route series, so each answered request counts once whatever instance
// served it.
#include "telemetry/ingest.hpp"

#include "text/prometheus_label.hpp"

#include <cstdio>

namespace tg::control::telemetry {
namespace {

std::string seconds(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string tenant_labels(const std::pair<std::string, std::string>& key) {
  return "tenant=\"" + text::prometheus_label(key.first) + "\",service=\"" + text::prometheus_label(key.second) + "\"";
}

}  // namespace

std::string Ingest::render_metrics() const {
  std::string out;
  header(out, "tg_control_tenant_requests_total", "counter",
         "Requests answered by the proxies, by tenant, service and status class (route series, all proxies).");
  static const char* const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (const auto& [key, c] : totals_)
    for (std::size_t i = 0; i < 5; ++i)
      out += "tg_control_tenant_requests_total{" + tenant_labels(key) + ",class=\"" + classes[i] + "\"} " +
             std::to_string(c.requests_by_class[i]) + "\n";
  header(out, "tg_control_tenant_gateway_errors_total", "counter",
         "The proxies' own errors (connect failed, upstream timeout, no instance, ...) by tenant and service.");
  for (const auto& [key, c] : totals_)
    out += "tg_control_tenant_gateway_errors_total{" + tenant_labels(key) + "} " + std::to_string(c.gateway_errors) +
           "\n";
  header(out, "tg_control_tenant_request_duration_seconds", "histogram",
         "Request latency at the proxies (start to end of the response), by tenant and service.");
  for (const auto& [key, c] : totals_) {
    const std::string labels = tenant_labels(key);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < metrics::kLatencyBoundsUs.size(); ++i) {
      cumulative += c.latency_buckets[i];
      out += "tg_control_tenant_request_duration_seconds_bucket{" + labels + ",le=\"" +
             seconds(static_cast<double>(metrics::kLatencyBoundsUs[i]) / 1e6) + "\"} " + std::to_string(cumulative) +
             "\n";
    }
    out += "tg_control_tenant_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(c.latency_count) + "\n";
    out += "tg_control_tenant_request_duration_seconds_sum{" + labels + "} " +
           seconds(static_cast<double>(c.latency_sum_us) / 1e6) + "\n";
    out += "tg_control_tenant_request_duration_seconds_count{" + labels + "} " + std::to_string(c.latency_count) + "\n";
  }
  header(out, "tg_control_telemetry_batches_total", "counter",
         "Telemetry batches by result: stored, duplicate (a resend, counted nowhere else), refused (malformed), "
         "failed (the commit failed; the proxy resends).");
  const std::pair<const char*, std::uint64_t> results[] = {{"stored", counters_.stored},
                                                           {"duplicate", counters_.duplicate},
                                                           {"refused", counters_.refused},
                                                           {"failed", counters_.failed}};
  for (const auto& [result, n] : results)
    out += std::string("tg_control_telemetry_batches_total{result=\"") + result + "\"} " + std::to_string(n) + "\n";
  header(out, "tg_control_telemetry_late_total", "counter",
         "Stored batches whose interval ended more than 2 minutes before they arrived (bucketed by receive time).");
  out += "tg_control_telemetry_late_total " + std::to_string(counters_.late) + "\n";
  header(out, "tg_control_telemetry_skewed_total", "counter",
         "Stored batches sent by a clock more than 5 s off tg-control's (bucketed by receive time).");
  out += "tg_control_telemetry_skewed_total " + std::to_string(counters_.skewed) + "\n";
  header(out, "tg_control_telemetry_series_overflow_total", "counter",
         "Series deltas folded into their tenant's \"other\" series: the tenant has --max-series-per-tenant series.");
  out += "tg_control_telemetry_series_overflow_total " + std::to_string(counters_.overflow) + "\n";
  header(out, "tg_control_telemetry_window_series", "gauge", "Series held in the in-memory last hour.");
  out += "tg_control_telemetry_window_series " + std::to_string(window_.series_count()) + "\n";
  const std::int64_t now = clock_.unix_ms();
  header(out, "tg_control_telemetry_lag_seconds", "gauge",
         "Per proxy: receive time minus the interval end of its newest stored batch (proxies heard from in the "
         "last 10 minutes).");
  for (const auto& [node, proxy] : proxies_)
    if (now - proxy.last_unix_ms <= kProxyGaugeTtlMs)
      out += "tg_control_telemetry_lag_seconds{node=\"" + text::prometheus_label(node) + "\"} " +
             seconds(static_cast<double>(proxy.lag_ms) / 1000.0) + "\n";
  header(out, "tg_control_telemetry_proxy_dropped_batches", "gauge",
         "Per proxy: batches it dropped since it started (buffer full, refused), as its newest batch says.");
  for (const auto& [node, proxy] : proxies_)
    if (now - proxy.last_unix_ms <= kProxyGaugeTtlMs)
      out += "tg_control_telemetry_proxy_dropped_batches{node=\"" + text::prometheus_label(node) + "\"} " +
             std::to_string(proxy.dropped_batches) + "\n";
  return out;
}

}  // namespace tg::control::telemetry
