#include "ingest/ingest_metrics.hpp"

namespace tg::control::ingest {

std::string_view endpoint_name(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::events: return "events";
    case Endpoint::status: return "status";
    case Endpoint::heartbeat: return "heartbeat";
    case Endpoint::register_instance: return "register";
    case Endpoint::deregister: return "deregister";
    case Endpoint::logs: return "logs";
  }
  return "unknown";
}

std::string_view result_name(Result result) {
  switch (result) {
    case Result::ok: return "ok";
    case Result::bad_request: return "bad_request";
    case Result::unauthenticated: return "unauthenticated";
    case Result::forbidden: return "forbidden";
    case Result::too_large: return "too_large";
    case Result::overloaded: return "overloaded";
    case Result::error: return "error";
  }
  return "error";
}

Result result_of_status(unsigned status) {
  if (status < 300) return Result::ok;
  if (status == 401) return Result::unauthenticated;
  if (status == 403) return Result::forbidden;
  if (status == 413) return Result::too_large;
  if (status == 429 || status == 503) return Result::overloaded;
  if (status < 500) return Result::bad_request;
  return Result::error;
}

std::string IngestMetrics::render(std::uint64_t max_pending_rows) const {
  std::string out =
      "# HELP tg_control_ingest_requests_total Requests to the ingest endpoints (/v1/ingest/*, /v1/logs) by result.\n"
      "# TYPE tg_control_ingest_requests_total counter\n";
  for (std::size_t e = 0; e < endpoint_count; ++e)
    for (std::size_t r = 0; r < result_count; ++r)
      out += "tg_control_ingest_requests_total{endpoint=\"" + std::string(endpoint_name(static_cast<Endpoint>(e))) +
             "\",result=\"" + std::string(result_name(static_cast<Result>(r))) + "\"} " +
             std::to_string(requests[e][r].load(std::memory_order_relaxed)) + "\n";
  auto counter = [&out](const char* name, const char* help, std::uint64_t value, const char* type = "counter") {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  counter("tg_control_ingest_events_total", "Events reported by tenant containers (ingest and OTLP logs) and stored.",
          events.load(std::memory_order_relaxed));
  counter("tg_control_ingest_status_samples_total", "Status reports of tenant containers stored.",
          status_samples.load(std::memory_order_relaxed));
  counter("tg_control_ingest_otlp_records_below_level_total",
          "OTLP log records under WARN without exception attributes: counted, not stored.",
          otlp_below_level.load(std::memory_order_relaxed));
  counter("tg_control_ingest_otlp_records_rejected_total",
          "OTLP log records rejected (partialSuccess): no service.name, or a service of another tenant.",
          otlp_rejected.load(std::memory_order_relaxed));
  counter("tg_control_ingest_pending_rows", "Events and status samples handed to the writer and not committed yet.",
          pending_rows.load(std::memory_order_relaxed), "gauge");
  counter("tg_control_ingest_max_pending_rows", "Above this many pending rows ingest requests are answered 503.",
          max_pending_rows, "gauge");
  return out;
}

}  // namespace tg::control::ingest
