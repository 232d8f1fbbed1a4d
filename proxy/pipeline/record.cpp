// Phase 7: record (docs/life-of-a-request.md): per-route counters and latency,
// and the access-log line into the worker's buffer (flushed by its writer).
#include "pipeline/phases.hpp"
#include "pipeline/outlier.hpp"
#include "runtime/worker.hpp"

namespace tg::proxy {

static_assert(kErrorKinds == kErrorKindSlots, "RouteRuntime::errors has a slot per ErrorKind");
static_assert(static_cast<std::size_t>(ErrorKind::forbidden) + 1 == kErrorKinds, "kErrorKinds counts ErrorKind");

void record(PhaseInput& in, std::uint16_t client_port) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  const std::uint64_t now_ns = steady_now_ns();
  // Upstream time: from the last try's head write to the end of the response.
  if (ex.response.from_upstream) ex.upstream_ns = now_ns - ex.upstream_start_ns;
  const std::uint64_t micros = (now_ns - ex.start_ns) / 1000;
  const std::size_t cls = ex.status >= 100 && ex.status < 600 ? ex.status / 100 - 1 : 4;
  // Resilience: a probe with no outcome frees its slot; the retry budget
  // stops counting the request; its fate is settled.
  if (ex.probe) outlier_request_ended(ex);
  if (ex.budget) {
    ex.budget->budget.request_ended(ex.retrying);
    ex.budget.reset();
  }
  // The tenant's concurrency slot goes back, once, whatever the fate.
  ex.limits.end();
  if (ex.fate == Fate::unset) {
    if (ex.error == ErrorKind::client_closed) {
      ex.fate = Fate::client_closed;
    } else {
      ex.fate = ex.attempts > 1 ? Fate::retried_ok : Fate::ok;
    }
  }
  // A request the client abandoned before any status is in the access log
  // (error client_closed), not in the per-route counters.
  if (ex.route >= 0 && ex.table) {
    RouteRuntime& route = *ex.table->routes[static_cast<std::size_t>(ex.route)];
    if (ex.status) {
      ++route.requests[cls];
      route.latency.record(micros);
    }
    ++route.fates[static_cast<std::size_t>(ex.fate)];
    ++route.errors[static_cast<std::size_t>(ex.error)];
    route.retries += ex.attempts > 1 ? ex.attempts - 1u : 0u;
    route.held += ex.held;
    route.bytes_in += ex.body.bytes;
    route.bytes_out += ex.response.bytes;
  } else if (ex.status) {
    ++in.worker.stats().unrouted_requests[cls];
    ++in.worker.stats().unrouted_errors[static_cast<std::size_t>(ex.error)];
  }
  if (ex.instance) {
    InstanceRuntime& instance = *ex.instance;
    instance.bytes_in += ex.body.bytes;
    instance.bytes_out += ex.response.bytes;
    if (in.worker.settings().telemetry_instance_histograms) [[unlikely]]
      instance.latency.record(micros);
  }
  AccessLogBuffer* log = in.worker.access_log();
  if (!log) return;
  AccessLogRecord entry;
  entry.request_id = {ex.request_id, ex.request_id_length};
  entry.client_ip = {c.client_ip, c.client_ip_length};
  entry.client_port = client_port;
  entry.method = ex.log_method;
  entry.host = ex.log_host;
  entry.path = ex.log_path;
  if (ex.route >= 0 && ex.table) {
    const RouteRuntime& route = *ex.table->routes[static_cast<std::size_t>(ex.route)];
    entry.route = route.name_json;
    entry.service = route.service_json;
    entry.tenant = ex.service_def->tenant_json;
  }
  if (ex.instance) {
    entry.instance = ex.instance->id_json;
    entry.upstream = ex.instance->address;
  }
  entry.status = ex.status;
  entry.bytes_in = ex.body.bytes;
  entry.bytes_out = ex.response.bytes;
  entry.duration_ns = now_ns - ex.start_ns;
  entry.upstream_ns = ex.upstream_ns;
  entry.error = to_string(ex.error);
  if (ex.answered_by != PhaseId::none) entry.phase = to_string(ex.answered_by);
  entry.fate = to_string(ex.fate);
  if (ex.limits.shadow_refused) entry.shadow_limited = limits::to_string(ex.limits.shadow_kind);
  log->append(entry, in.worker.now_ms());
}

}  // namespace tg::proxy
