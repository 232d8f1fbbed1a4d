#include "admin/metrics_text.hpp"

#include "admin/label.hpp"
#include "admin/limits_text.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <map>
#include <set>

namespace tg::proxy::admin {

namespace {

constexpr const char* kClasses[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr const char* kErrorKinds[kUpstreamErrorKinds] = {"connect_failure", "reset", "timeout", "protocol"};

void add_histogram(std::string& out, std::string_view name, const std::string& labels,
                   const metrics::LatencyHistogram& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < metrics::kLatencyBoundsUs.size(); ++i) {
    cumulative += h.buckets[i];
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels,
                   static_cast<double>(metrics::kLatencyBoundsUs[i]) / 1e6, cumulative);
  }
  fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, h.count);
  fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n", name, labels, static_cast<double>(h.sum_us) / 1e6);
  fmt::format_to(std::back_inserter(out), "{}_count{{{}}} {}\n", name, labels, h.count);
}

struct TenantTotals {
  std::array<std::uint64_t, 5> requests{};
  metrics::LatencyHistogram latency;
};

// The tg_tenant_* series: per-route counters summed by the route's tenant.
void render_tenants(std::string& out, const std::map<std::string, WorkerStatsCopy::Route>& routes,
                    const std::array<std::uint64_t, 5>& unrouted, TenantSeries& tenants) {
  // Admission: tenants with traffic, in name order.
  std::set<std::string> active;
  for (const auto& [name, r] : routes) {
    std::uint64_t total = 0;
    for (std::uint64_t n : r.requests) total += n;
    if (total) active.insert(r.tenant);
  }
  for (const std::string& tenant : active) tenants.offer(tenant);

  std::map<std::string, TenantTotals, std::less<>> totals;
  std::set<std::string_view> folded;
  for (const auto& [name, r] : routes) {
    const std::string_view key = tenants.label_for(r.tenant);
    if (key == "other" && !tenants.admitted(r.tenant)) {
      // Not admitted while there is room: it had no traffic yet (nothing to
      // count); its series appears with its first request.
      if (!tenants.full()) continue;
      folded.insert(r.tenant);
    }
    auto it = totals.find(key);
    if (it == totals.end()) it = totals.emplace(std::string(key), TenantTotals{}).first;
    for (std::size_t i = 0; i < 5; ++i) it->second.requests[i] += r.requests[i];
    it->second.latency.add(r.latency);
  }
  std::uint64_t unrouted_total = 0;
  for (std::uint64_t n : unrouted) unrouted_total += n;
  if (unrouted_total) {
    TenantTotals& none = totals[""];
    for (std::size_t i = 0; i < 5; ++i) none.requests[i] += unrouted[i];
  }

  auto add = [&]<typename... Args>(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
  };
  add("# HELP tg_tenant_requests_total Requests answered, by tenant of the route's service and status class "
      "(empty: no route or a service without tenant; other: tenants past --max-tenant-series).\n"
      "# TYPE tg_tenant_requests_total counter\n");
  for (const auto& [tenant, t] : totals)
    for (std::size_t i = 0; i < 5; ++i)
      add("tg_tenant_requests_total{{tenant=\"{}\",class=\"{}\"}} {}\n", label(tenant), kClasses[i], t.requests[i]);
  add("# HELP tg_tenant_request_duration_seconds Time from request head to the end of the response, by tenant "
      "(routed requests).\n# TYPE tg_tenant_request_duration_seconds histogram\n");
  for (const auto& [tenant, t] : totals)
    add_histogram(out, "tg_tenant_request_duration_seconds", fmt::format("tenant=\"{}\"", label(tenant)), t.latency);
  add("# HELP tg_tenant_series_folded Tenants in the table counted as tenant other (past --max-tenant-series).\n"
      "# TYPE tg_tenant_series_folded gauge\ntg_tenant_series_folded {}\n",
      folded.size());
}

}  // namespace

void TenantSeries::offer(const std::string& tenant) {
  if (tenant.empty() || admitted_.size() >= limit_) return;
  admitted_.insert(tenant);
}

std::string_view TenantSeries::label_for(const std::string& tenant) const {
  if (tenant.empty() || admitted_.count(tenant)) return tenant;
  return "other";
}

std::string render_metrics(const std::vector<WorkerStatsCopy>& workers, const ProcessGauges& process,
                           TenantSeries* tenants) {
  std::map<std::string, WorkerStatsCopy::Route> routes;
  std::map<std::string, WorkerStatsCopy::Instance> instances;
  WorkerStats totals;
  for (const WorkerStatsCopy& w : workers) {
    totals.downstream_connections += w.stats.downstream_connections;
    totals.upstream_connections += w.stats.upstream_connections;
    totals.connections_accepted += w.stats.connections_accepted;
    totals.accept_errors += w.stats.accept_errors;
    totals.header_timeouts += w.stats.header_timeouts;
    totals.idle_connections += w.stats.idle_connections;
    totals.tunnels_active += w.stats.tunnels_active;
    totals.tunnels_opened += w.stats.tunnels_opened;
    totals.interim_responses += w.stats.interim_responses;
    totals.suspended += w.stats.suspended;
    totals.suspensions += w.stats.suspensions;
    totals.suspension_timeouts += w.stats.suspension_timeouts;
    totals.suspension_client_closed += w.stats.suspension_client_closed;
    totals.bodies_kept_whole += w.stats.bodies_kept_whole;
    totals.body_timeouts += w.stats.body_timeouts;
    totals.breaker_log_dropped += w.stats.breaker_log_dropped;
    totals.auth_checks += w.stats.auth_checks;
    totals.auth_cache_hits += w.stats.auth_cache_hits;
    totals.auth_cached_tokens += w.stats.auth_cached_tokens;
    totals.auth_failing_addresses += w.stats.auth_failing_addresses;
    totals.auth_key_requests += w.stats.auth_key_requests;
    for (std::size_t i = 0; i < 5; ++i) totals.unrouted_requests[i] += w.stats.unrouted_requests[i];
    for (const auto& r : w.routes) {
      auto [it, fresh] = routes.try_emplace(r.name, r);
      if (fresh) continue;
      for (std::size_t i = 0; i < 5; ++i) it->second.requests[i] += r.requests[i];
      for (std::size_t i = 0; i < resilience::kFates; ++i) it->second.fates[i] += r.fates[i];
      for (std::size_t i = 0; i < auth::kAuthFailures; ++i) it->second.auth_failures[i] += r.auth_failures[i];
      it->second.latency.add(r.latency);
    }
    for (const auto& inst : w.instances) {
      auto [it, fresh] = instances.try_emplace(inst.id, inst);
      if (fresh) continue;
      for (std::size_t i = 0; i < 5; ++i) it->second.responses[i] += inst.responses[i];
      for (std::size_t i = 0; i < kUpstreamErrorKinds; ++i) it->second.errors[i] += inst.errors[i];
      it->second.in_flight += inst.in_flight;
      it->second.open_connections += inst.open_connections;
      it->second.idle_connections += inst.idle_connections;
      it->second.pending += inst.pending;
      it->second.pending_waits += inst.pending_waits;
      it->second.pending_refused += inst.pending_refused;
      it->second.pending_timeouts += inst.pending_timeouts;
      // The breaker is per proxy: every worker's copy shows the same one, not
      // a share to add (a later copy may have seen a few more transitions).
      for (std::size_t i = 0; i < resilience::kBreakerReasons; ++i)
        it->second.transitions[i] = std::max(it->second.transitions[i], inst.transitions[i]);
    }
  }

  std::string out;
  auto add = [&]<typename... Args>(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
  };

  add("# HELP tg_requests_total Requests answered, by route and status class of the response sent.\n"
      "# TYPE tg_requests_total counter\n");
  for (const auto& [name, r] : routes)
    for (std::size_t i = 0; i < 5; ++i)
      add("tg_requests_total{{route=\"{}\",service=\"{}\",class=\"{}\"}} {}\n", label(name), label(r.service),
          kClasses[i], r.requests[i]);
  for (std::size_t i = 0; i < 5; ++i)
    if (totals.unrouted_requests[i])
      add("tg_requests_total{{route=\"\",service=\"\",class=\"{}\"}} {}\n", kClasses[i], totals.unrouted_requests[i]);

  add("# HELP tg_upstream_responses_total Upstream responses, by instance and status class.\n"
      "# TYPE tg_upstream_responses_total counter\n");
  for (const auto& [id, inst] : instances)
    for (std::size_t i = 0; i < 5; ++i)
      add("tg_upstream_responses_total{{service=\"{}\",instance=\"{}\",class=\"{}\"}} {}\n", label(inst.service),
          label(id), kClasses[i], inst.responses[i]);

  add("# HELP tg_upstream_errors_total Failed upstream tries, by instance and kind.\n"
      "# TYPE tg_upstream_errors_total counter\n");
  for (const auto& [id, inst] : instances)
    for (std::size_t i = 0; i < kUpstreamErrorKinds; ++i)
      add("tg_upstream_errors_total{{service=\"{}\",instance=\"{}\",kind=\"{}\"}} {}\n", label(inst.service),
          label(id), kErrorKinds[i], inst.errors[i]);

  add("# HELP tg_upstream_in_flight Requests in flight to an instance.\n# TYPE tg_upstream_in_flight gauge\n");
  for (const auto& [id, inst] : instances)
    add("tg_upstream_in_flight{{service=\"{}\",instance=\"{}\"}} {}\n", label(inst.service), label(id),
        inst.in_flight);

  add("# HELP tg_upstream_pending_requests Requests waiting for a connection to an instance (pending queue).\n"
      "# TYPE tg_upstream_pending_requests gauge\n");
  for (const auto& [id, inst] : instances)
    add("tg_upstream_pending_requests{{service=\"{}\",instance=\"{}\"}} {}\n", label(inst.service), label(id),
        inst.pending);
  add("# HELP tg_upstream_pending_waits_total Requests that waited for a connection to an instance.\n"
      "# TYPE tg_upstream_pending_waits_total counter\n");
  for (const auto& [id, inst] : instances)
    add("tg_upstream_pending_waits_total{{service=\"{}\",instance=\"{}\"}} {}\n", label(inst.service), label(id),
        inst.pending_waits);
  add("# HELP tg_upstream_pending_overflows_total Requests answered 503 overflow by the pending queue: full "
      "(at once) or timeout (after pending_timeout).\n"
      "# TYPE tg_upstream_pending_overflows_total counter\n");
  for (const auto& [id, inst] : instances) {
    add("tg_upstream_pending_overflows_total{{service=\"{}\",instance=\"{}\",reason=\"full\"}} {}\n",
        label(inst.service), label(id), inst.pending_refused);
    add("tg_upstream_pending_overflows_total{{service=\"{}\",instance=\"{}\",reason=\"timeout\"}} {}\n",
        label(inst.service), label(id), inst.pending_timeouts);
  }

  add("# HELP tg_request_fates_total Requests by how they ended (ok, retried_ok, retry_budget_exhausted, "
      "not_retryable, attempts_exhausted, ejected_all, client_closed, ...), by route.\n"
      "# TYPE tg_request_fates_total counter\n");
  for (const auto& [name, r] : routes)
    for (std::size_t i = 0; i < resilience::kFates; ++i)
      if (r.fates[i] || static_cast<resilience::Fate>(i) == resilience::Fate::ok)
        add("tg_request_fates_total{{route=\"{}\",fate=\"{}\"}} {}\n", label(name), resilience::to_string(static_cast<resilience::Fate>(i)),
            r.fates[i]);

  // The tenant is the route's (of its service), never the one a credential
  // claims: the series stay bounded by the table's routes.
  add("# HELP tg_auth_failures_total Requests refused by authentication on routes with auth: required (401, 403 "
      "for forbidden), by tenant of the route's service, route and reason.\n"
      "# TYPE tg_auth_failures_total counter\n");
  for (const auto& [name, r] : routes)
    for (std::size_t i = 1; i < auth::kAuthFailures; ++i)
      if (r.auth_failures[i])
        add("tg_auth_failures_total{{tenant=\"{}\",route=\"{}\",reason=\"{}\"}} {}\n", label(r.tenant),
            label(name), auth::to_string(static_cast<auth::AuthFailure>(i)), r.auth_failures[i]);
  add("# HELP tg_auth_checks_total Credentials checked (an API key's hash looked up, a JWT parsed and its signature "
      "verified); cached JWTs and throttled addresses are not checked.\n"
      "# TYPE tg_auth_checks_total counter\ntg_auth_checks_total {}\n",
      totals.auth_checks);
  add("# HELP tg_auth_token_cache_hits_total JWTs found verified in a worker's token cache.\n"
      "# TYPE tg_auth_token_cache_hits_total counter\ntg_auth_token_cache_hits_total {}\n",
      totals.auth_cache_hits);
  add("# HELP tg_auth_token_cache_entries Verified JWTs cached, summed over workers.\n"
      "# TYPE tg_auth_token_cache_entries gauge\ntg_auth_token_cache_entries {}\n",
      totals.auth_cached_tokens);
  add("# HELP tg_auth_failing_addresses Client addresses tracked by the authentication failure limiter, summed "
      "over workers.\n# TYPE tg_auth_failing_addresses gauge\ntg_auth_failing_addresses {}\n",
      totals.auth_failing_addresses);
  add("# HELP tg_auth_key_requests_total Tokens naming a kid their issuer's key set lacks, reported for a key "
      "refetch (at most one per issuer and worker every 30 s).\n"
      "# TYPE tg_auth_key_requests_total counter\ntg_auth_key_requests_total {}\n",
      totals.auth_key_requests);

  add("# HELP tg_upstream_breaker_state 1 for the state the instance's breaker is in (one breaker per instance "
      "and proxy; services with outlier).\n# TYPE tg_upstream_breaker_state gauge\n");
  for (const auto& [id, inst] : instances)
    if (inst.outlier)
      for (std::size_t i = 0; i < resilience::kBreakerStates; ++i)
        add("tg_upstream_breaker_state{{service=\"{}\",instance=\"{}\",state=\"{}\"}} {}\n", label(inst.service),
            label(id), resilience::to_string(static_cast<resilience::BreakerState>(i)),
            static_cast<std::size_t>(inst.breaker_state) == i ? 1 : 0);
  add("# HELP tg_upstream_breaker_transitions_total Breaker transitions, by instance and reason (once per proxy).\n"
      "# TYPE tg_upstream_breaker_transitions_total counter\n");
  for (const auto& [id, inst] : instances)
    if (inst.outlier)
      for (std::size_t i = 0; i < resilience::kBreakerReasons; ++i)
        add("tg_upstream_breaker_transitions_total{{service=\"{}\",instance=\"{}\",reason=\"{}\"}} {}\n",
            label(inst.service), label(id), resilience::to_string(static_cast<resilience::BreakerReason>(i)),
            inst.transitions[i]);

  add("# HELP tg_request_duration_seconds Time from request head to the end of the response.\n"
      "# TYPE tg_request_duration_seconds histogram\n");
  for (const auto& [name, r] : routes)
    add_histogram(out, "tg_request_duration_seconds",
                  fmt::format("route=\"{}\",service=\"{}\"", label(name), label(r.service)), r.latency);
  if (tenants && tenants->enabled()) render_tenants(out, routes, totals.unrouted_requests, *tenants);
  render_limits(out, workers);

  add("# HELP tg_downstream_connections_active Client connections open.\n"
      "# TYPE tg_downstream_connections_active gauge\ntg_downstream_connections_active {}\n",
      totals.downstream_connections);
  add("# HELP tg_downstream_connections_total Client connections accepted.\n"
      "# TYPE tg_downstream_connections_total counter\ntg_downstream_connections_total {}\n",
      totals.connections_accepted);
  add("# HELP tg_accept_errors_total Failed accepts (e.g. out of descriptors).\n"
      "# TYPE tg_accept_errors_total counter\ntg_accept_errors_total {}\n",
      totals.accept_errors);
  add("# HELP tg_header_timeouts_total Client connections closed at the header-read deadline.\n"
      "# TYPE tg_header_timeouts_total counter\ntg_header_timeouts_total {}\n",
      totals.header_timeouts);
  add("# HELP tg_downstream_connections_idle Keep-alive client connections idle past the buffer grace period (no buffers, no asio state).\n"
      "# TYPE tg_downstream_connections_idle gauge\ntg_downstream_connections_idle {}\n",
      totals.idle_connections);
  add("# HELP tg_tunnels_active Upgraded connections (e.g. WebSocket) being relayed.\n"
      "# TYPE tg_tunnels_active gauge\ntg_tunnels_active {}\n",
      totals.tunnels_active);
  add("# HELP tg_tunnels_total Upgraded connections opened (101 relayed).\n"
      "# TYPE tg_tunnels_total counter\ntg_tunnels_total {}\n",
      totals.tunnels_opened);
  add("# HELP tg_interim_responses_total Interim 1xx responses (e.g. 103 Early Hints) relayed to clients.\n"
      "# TYPE tg_interim_responses_total counter\ntg_interim_responses_total {}\n",
      totals.interim_responses);
  add("# HELP tg_requests_suspended Requests waiting now for an event other than socket I/O (a phase suspended them).\n"
      "# TYPE tg_requests_suspended gauge\ntg_requests_suspended {}\n",
      totals.suspended);
  add("# HELP tg_request_suspensions_total Requests that waited, by how the wait ended early (timeout: answered at "
      "the deadline; client_closed: the client went away) or started (all).\n"
      "# TYPE tg_request_suspensions_total counter\n"
      "tg_request_suspensions_total{{outcome=\"all\"}} {}\n"
      "tg_request_suspensions_total{{outcome=\"timeout\"}} {}\n"
      "tg_request_suspensions_total{{outcome=\"client_closed\"}} {}\n",
      totals.suspensions, totals.suspension_timeouts, totals.suspension_client_closed);
  add("# HELP tg_request_bodies_kept_whole_total Request bodies received whole before the first try (limits.buffer_body).\n"
      "# TYPE tg_request_bodies_kept_whole_total counter\ntg_request_bodies_kept_whole_total {}\n",
      totals.bodies_kept_whole);
  add("# HELP tg_request_body_timeouts_total Request bodies that stopped arriving before the first try: answered 408, "
      "nothing forwarded.\n"
      "# TYPE tg_request_body_timeouts_total counter\ntg_request_body_timeouts_total {}\n",
      totals.body_timeouts);
  add("# HELP tg_breaker_log_dropped_total Breaker transitions not logged because the worker's queue was full "
      "(still counted).\n# TYPE tg_breaker_log_dropped_total counter\ntg_breaker_log_dropped_total {}\n",
      totals.breaker_log_dropped);
  add("# HELP tg_upstream_connections_active Upstream connections open (busy and pooled).\n"
      "# TYPE tg_upstream_connections_active gauge\ntg_upstream_connections_active {}\n",
      totals.upstream_connections);
  add("# HELP tg_config_version Version of the table being served.\n"
      "# TYPE tg_config_version gauge\ntg_config_version {}\n",
      process.config_version);
  add("# HELP tg_worker_config_version Version of the table each worker has switched to.\n"
      "# TYPE tg_worker_config_version gauge\n");
  for (std::size_t i = 0; i < workers.size(); ++i)
    add("tg_worker_config_version{{worker=\"{}\"}} {}\n", i, workers[i].table_version);
  add("# HELP tg_config_reloads_total Table reloads by result.\n# TYPE tg_config_reloads_total counter\n"
      "tg_config_reloads_total{{result=\"ok\"}} {}\ntg_config_reloads_total{{result=\"error\"}} {}\n",
      process.reloads_ok, process.reloads_failed);
  add("# HELP tg_access_log_dropped_total Access-log lines dropped because the writer fell behind.\n"
      "# TYPE tg_access_log_dropped_total counter\ntg_access_log_dropped_total {}\n",
      process.access_log_dropped);
  add("# HELP tg_proxy_admin_accept_errors_total Accepts on the admin port that failed for lack of descriptors or "
      "memory (each followed by a back-off).\n"
      "# TYPE tg_proxy_admin_accept_errors_total counter\ntg_proxy_admin_accept_errors_total {}\n",
      process.admin_accept_errors);
  add("# HELP tg_draining 1 while the proxy drains before exiting.\n# TYPE tg_draining gauge\ntg_draining {}\n",
      process.draining ? 1 : 0);
  if (process.feed) {
    const FeedStatus& f = *process.feed;
    add("# HELP tg_control_connected 1 while the table stream to tg-control is up.\n"
        "# TYPE tg_control_connected gauge\ntg_control_connected {}\n",
        f.connected ? 1 : 0);
    add("# HELP tg_control_connects_total Table streams opened to tg-control.\n"
        "# TYPE tg_control_connects_total counter\ntg_control_connects_total {}\n",
        f.connects);
    add("# HELP tg_control_disconnects_total Open table streams that ended.\n"
        "# TYPE tg_control_disconnects_total counter\ntg_control_disconnects_total {}\n",
        f.disconnects);
    add("# HELP tg_control_updates_total Pushed updates answered, by kind and answer.\n"
        "# TYPE tg_control_updates_total counter\n"
        "tg_control_updates_total{{kind=\"config\",result=\"ack\"}} {}\n"
        "tg_control_updates_total{{kind=\"config\",result=\"nack\"}} {}\n"
        "tg_control_updates_total{{kind=\"health\",result=\"ack\"}} {}\n"
        "tg_control_updates_total{{kind=\"health\",result=\"nack\"}} {}\n",
        f.config_acks, f.config_nacks, f.health_acks, f.health_nacks);
    add("# HELP tg_control_table_generation Generation of the pushed table version served (0: none).\n"
        "# TYPE tg_control_table_generation gauge\ntg_control_table_generation {}\n",
        f.applied.generation);
    add("# HELP tg_control_table_sequence Sequence number (the counter part) of the pushed table version served (0: none).\n"
        "# TYPE tg_control_table_sequence gauge\ntg_control_table_sequence {}\n",
        f.applied.counter);
    add("# HELP tg_control_last_update_timestamp_seconds When the last pushed update was applied (0: never).\n"
        "# TYPE tg_control_last_update_timestamp_seconds gauge\ntg_control_last_update_timestamp_seconds {}\n",
        static_cast<double>(f.last_update_unix_ms) / 1e3);
    add("# HELP tg_control_state_save_failures_total Applied tables that could not be saved in --state-dir.\n"
        "# TYPE tg_control_state_save_failures_total counter\ntg_control_state_save_failures_total {}\n",
        f.state_save_failures);
    add("# HELP tg_control_state_load_failures_total Saved tables ignored at start (corrupt or unusable).\n"
        "# TYPE tg_control_state_load_failures_total counter\ntg_control_state_load_failures_total {}\n",
        f.state_load_failures);
    add("# HELP tg_control_table_registry_info The registry of the pushed table served (label registry_id; "
        "empty: none).\n# TYPE tg_control_table_registry_info gauge\ntg_control_table_registry_info{{registry_id=\"{}\"}} 1\n",
        f.registry_id);
    add("# HELP tg_control_refused_updates_total Pushed updates NACKed by the table-stream envelope rules or as an "
        "unusable table (invalid), by reason.\n"
        "# TYPE tg_control_refused_updates_total counter\n"
        "tg_control_refused_updates_total{{reason=\"malformed\"}} {}\n"
        "tg_control_refused_updates_total{{reason=\"foreign_registry\"}} {}\n"
        "tg_control_refused_updates_total{{reason=\"not_newer\"}} {}\n"
        "tg_control_refused_updates_total{{reason=\"base_mismatch\"}} {}\n"
        "tg_control_refused_updates_total{{reason=\"digest_mismatch\"}} {}\n"
        "tg_control_refused_updates_total{{reason=\"invalid\"}} {}\n",
        f.refusals[1], f.refusals[2], f.refusals[3], f.refusals[4], f.refusals[5], f.refusals[6]);
    add("# HELP tg_table_from_state_dir 1 while the table served is the one saved in --state-dir (nothing pushed yet).\n"
        "# TYPE tg_table_from_state_dir gauge\ntg_table_from_state_dir {}\n",
        f.from_state_dir ? 1 : 0);
  }
  if (process.telemetry) {
    const TelemetryStatus& t = *process.telemetry;
    std::uint64_t events_dropped = 0;
    for (const WorkerStatsCopy& w : workers) events_dropped += w.stats.telemetry_events_dropped;
    add("# HELP tg_telemetry_batches_total Telemetry batches by how they ended: acked stored or duplicate by "
        "tg-control, refused by it (dropped), or dropped unacked because the buffer was full.\n"
        "# TYPE tg_telemetry_batches_total counter\n"
        "tg_telemetry_batches_total{{result=\"stored\"}} {}\n"
        "tg_telemetry_batches_total{{result=\"duplicate\"}} {}\n"
        "tg_telemetry_batches_total{{result=\"refused\"}} {}\n"
        "tg_telemetry_batches_total{{result=\"dropped_buffer_full\"}} {}\n",
        t.stored, t.duplicate, t.refused, t.dropped_buffer_full);
    add("# HELP tg_telemetry_buffered_batches Telemetry batches held, not acked yet.\n"
        "# TYPE tg_telemetry_buffered_batches gauge\ntg_telemetry_buffered_batches {}\n",
        t.buffered);
    add("# HELP tg_telemetry_events_dropped_total Breaker transitions not reported to tg-control (a worker's queue "
        "was full).\n# TYPE tg_telemetry_events_dropped_total counter\ntg_telemetry_events_dropped_total {}\n",
        events_dropped);
    add("# HELP tg_telemetry_stream_connects_total Telemetry streams on which tg-control answered.\n"
        "# TYPE tg_telemetry_stream_connects_total counter\ntg_telemetry_stream_connects_total {}\n",
        t.connects);
  }
  return out;
}

}  // namespace tg::proxy::admin
