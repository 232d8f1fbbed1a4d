#include "telemetry/batch_build.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace tg::proxy::telemetry {

namespace v1 = tenantgate::v1;

void to_proto(const SeriesDeltaCounts& delta, v1::SeriesDelta& out) {
  const SeriesCounts& c = delta.counts;
  out.set_tenant(delta.key.tenant);
  out.set_route(delta.key.route);
  out.set_service(delta.key.service);
  out.set_instance(delta.key.instance);
  bool any_request = false;
  for (std::uint64_t n : c.requests) any_request = any_request || n != 0;
  if (any_request)
    for (std::uint64_t n : c.requests) out.add_requests_by_class(n);
  for (std::size_t i = 0; i < kErrorKinds; ++i) {
    const auto kind = static_cast<ErrorKind>(i);
    if (c.errors[i] && is_gateway_error(kind)) (*out.mutable_gateway_errors())[std::string(to_string(kind))] = c.errors[i];
  }
  for (std::size_t i = 0; i < kFates; ++i) {
    const auto fate = static_cast<Fate>(i);
    if (c.fates[i] && fate != Fate::unset) (*out.mutable_fates())[std::string(to_string(fate))] = c.fates[i];
  }
  out.set_retries(c.retries);
  out.set_auth_failures(c.auth_failures());
  out.set_rate_limited(c.rate_limited());
  out.set_held(c.held);
  out.set_bytes_in(c.bytes_in);
  out.set_bytes_out(c.bytes_out);
  if (c.latency.count) {
    v1::LatencyHistogram* h = out.mutable_latency();
    for (std::uint64_t n : c.latency.buckets) h->add_buckets(n);
    h->set_count(c.latency.count);
    h->set_sum_us(c.latency.sum_us);
  }
}

namespace {

std::string reason_text(const BreakerEventCopy& e) {
  using resilience::BreakerReason;
  switch (e.transition.reason) {
    case BreakerReason::consecutive_failures:
      if (e.failures == 0) return "consecutive failures";
      return fmt::format("{} consecutive failure{}", e.failures, e.failures == 1 ? "" : "s");
    case BreakerReason::retry_after: return "Retry-After from the instance";
    case BreakerReason::ejection_over: return "ejection over, probing";
    case BreakerReason::probe_failed: return "probe failed";
    case BreakerReason::probe_succeeded: return "probe succeeded";
    case BreakerReason::health_recovered: return "reported healthy";
  }
  return std::string(to_string(e.transition.reason));
}

}  // namespace

void to_proto(const BreakerEventCopy& e, v1::TelemetryEvent& out) {
  const resilience::Transition& t = e.transition;
  out.set_time_unix_ms(e.unix_ms);
  out.set_kind("breaker");
  out.set_level(t.to == resilience::BreakerState::open ? "warning" : "info");
  out.set_tenant(e.tenant);
  out.set_service(e.service);
  out.set_instance(e.instance);
  out.set_fingerprint(e.instance);
  out.set_message(fmt::format("{} -> {} ({})", to_string(t.from), to_string(t.to), reason_text(e)));
  boost::json::object detail;
  detail["address"] = e.address;
  detail["from"] = to_string(t.from);
  detail["to"] = to_string(t.to);
  detail["reason"] = to_string(t.reason);
  if (t.to == resilience::BreakerState::open) detail["open_for_ms"] = e.open_for_ms;
  out.set_detail_json(boost::json::serialize(detail));
}

}  // namespace tg::proxy::telemetry
