#include "telemetry/batch.hpp"

#include "text/node_id.hpp"

#include <cstdlib>

namespace tg::control::telemetry {
namespace {

namespace v1 = tenantgate::v1;

std::string too_long(const std::string& field, std::size_t size, std::size_t limit) {
  return field + ": " + std::to_string(size) + " bytes; at most " + std::to_string(limit);
}

std::string named_problem(const std::string& field, const google::protobuf::Map<std::string, std::uint64_t>& counts) {
  if (counts.size() > BatchLimits::named_counts)
    return field + ": " + std::to_string(counts.size()) + " entries; at most " + std::to_string(BatchLimits::named_counts);
  for (const auto& [name, n] : counts) {
    if (name.empty()) return field + ": an empty name";
    if (name.size() > BatchLimits::kind) return too_long(field + " \"" + name.substr(0, 32) + "...\"", name.size(), BatchLimits::kind);
  }
  return {};
}

std::string series_problem(const v1::SeriesDelta& s) {
  if (s.tenant().size() > BatchLimits::tenant) return too_long("tenant", s.tenant().size(), BatchLimits::tenant);
  if (s.route().size() > BatchLimits::name) return too_long("route", s.route().size(), BatchLimits::name);
  if (s.service().size() > BatchLimits::name) return too_long("service", s.service().size(), BatchLimits::name);
  if (s.instance().size() > BatchLimits::instance) return too_long("instance", s.instance().size(), BatchLimits::instance);
  if (!s.route().empty() && !s.instance().empty()) return "route and instance: a series has one or the other";
  if (s.requests_by_class_size() != 0 && s.requests_by_class_size() != 5)
    return "requests_by_class has " + std::to_string(s.requests_by_class_size()) + " entries (0 or 5)";
  if (std::string problem = named_problem("gateway_errors", s.gateway_errors()); !problem.empty()) return problem;
  if (std::string problem = named_problem("fates", s.fates()); !problem.empty()) return problem;
  const v1::LatencyHistogram& h = s.latency();
  if (h.buckets_size() != 0 && h.buckets_size() != static_cast<int>(metrics::kLatencyBuckets))
    return "latency.buckets has " + std::to_string(h.buckets_size()) + " entries (0 or 21)";
  std::uint64_t sum = 0;
  for (std::uint64_t n : h.buckets()) sum += n;
  if (sum != h.count())
    return "latency: the buckets sum to " + std::to_string(sum) + ", count is " + std::to_string(h.count());
  if (h.count() == 0 && h.sum_us() != 0) return "latency.sum_us is " + std::to_string(h.sum_us()) + " with count 0";
  return {};
}

bool known_level(const std::string& level) {
  return level == "debug" || level == "info" || level == "warning" || level == "error" || level == "critical";
}

std::string event_problem(const v1::TelemetryEvent& e) {
  if (e.kind().empty()) return "kind: required";
  if (e.kind().size() > BatchLimits::kind) return too_long("kind", e.kind().size(), BatchLimits::kind);
  if (!known_level(e.level())) return "level: \"" + e.level().substr(0, 32) + "\": expected debug, info, warning, error or critical";
  if (e.tenant().size() > BatchLimits::tenant) return too_long("tenant", e.tenant().size(), BatchLimits::tenant);
  for (const std::string* name : {&e.service(), &e.route(), &e.fingerprint()})
    if (name->size() > BatchLimits::name) return too_long("service, route or fingerprint", name->size(), BatchLimits::name);
  if (e.instance().size() > BatchLimits::instance) return too_long("instance", e.instance().size(), BatchLimits::instance);
  if (e.message().size() > BatchLimits::message) return too_long("message", e.message().size(), BatchLimits::message);
  if (e.detail_json().size() > BatchLimits::detail_json)
    return too_long("detail_json", e.detail_json().size(), BatchLimits::detail_json);
  if (e.time_unix_ms() <= 0) return "time_unix_ms: must be positive";
  return {};
}

}  // namespace

std::string batch_problem(const v1::TelemetryBatch& batch) {
  if (!valid_node_id(batch.node_id()))
    return "node_id: \"" + batch.node_id().substr(0, 32) + "\": 1-128 characters of [A-Za-z0-9_.:-]";
  if (batch.boot_id().empty()) return "boot_id: required";
  if (batch.boot_id().size() > BatchLimits::boot_id) return too_long("boot_id", batch.boot_id().size(), BatchLimits::boot_id);
  if (batch.seq() == 0) return "seq: must be 1 or more";
  if (batch.interval_start_unix_ms() <= 0) return "interval_start_unix_ms: must be positive";
  if (batch.interval_ms() == 0 || batch.interval_ms() > BatchLimits::max_interval_ms)
    return "interval_ms: " + std::to_string(batch.interval_ms()) + ": between 1 and 3600000";
  if (batch.sent_unix_ms() <= 0) return "sent_unix_ms: must be positive";
  if (static_cast<std::size_t>(batch.series_size()) > BatchLimits::series)
    return "series: " + std::to_string(batch.series_size()) + " entries; at most " + std::to_string(BatchLimits::series);
  for (int i = 0; i < batch.series_size(); ++i)
    if (std::string problem = series_problem(batch.series(i)); !problem.empty())
      return "series " + std::to_string(i) + ": " + problem;
  if (static_cast<std::size_t>(batch.events_size()) > BatchLimits::events)
    return "events: " + std::to_string(batch.events_size()) + " entries; at most " + std::to_string(BatchLimits::events);
  for (int i = 0; i < batch.events_size(); ++i)
    if (std::string problem = event_problem(batch.events(i)); !problem.empty())
      return "events " + std::to_string(i) + ": " + problem;
  return {};
}

Placement place(const v1::TelemetryBatch& batch, std::int64_t received_unix_ms) {
  Placement placement;
  placement.skewed = std::llabs(batch.sent_unix_ms() - received_unix_ms) > kMaxSkewMs;
  // Lateness by the proxy's clock unless it is skewed (then its interval
  // times mean nothing here): a batch that waited in the proxy's buffer
  // through an outage.
  if (!placement.skewed) {
    const std::int64_t interval_end = batch.interval_start_unix_ms() + static_cast<std::int64_t>(batch.interval_ms());
    placement.late = received_unix_ms - interval_end > kLateAfterMs;
  }
  placement.time_unix_ms = placement.skewed || placement.late ? received_unix_ms : batch.interval_start_unix_ms();
  return placement;
}

RollupCounters counters_of(const v1::SeriesDelta& d) {
  RollupCounters c;
  for (int i = 0; i < d.requests_by_class_size() && i < 5; ++i) c.requests_by_class[static_cast<std::size_t>(i)] = d.requests_by_class(i);
  for (const auto& [kind, n] : d.gateway_errors()) c.gateway_errors += n;
  c.retries = d.retries();
  c.auth_failures = d.auth_failures();
  c.rate_limited = d.rate_limited();
  c.held = d.held();
  c.bytes_in = d.bytes_in();
  c.bytes_out = d.bytes_out();
  c.latency_count = d.latency().count();
  c.latency_sum_us = d.latency().sum_us();
  for (int i = 0; i < d.latency().buckets_size(); ++i)
    c.latency_buckets[static_cast<std::size_t>(i)] = d.latency().buckets(i);
  return c;
}

}  // namespace tg::control::telemetry
