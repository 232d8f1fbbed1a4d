// Counters of the ingest endpoints, rendered on tg-control's /metrics.
// Atomics: the owner loop and the ingest worker both count.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace tg::control::ingest {

enum class Endpoint { events, status, heartbeat, register_instance, deregister, logs };
inline constexpr std::size_t endpoint_count = 6;
// "events", "status", "heartbeat", "register", "deregister", "logs" (the label).
std::string_view endpoint_name(Endpoint endpoint);

enum class Result { ok, bad_request, unauthenticated, forbidden, too_large, overloaded, error };
inline constexpr std::size_t result_count = 7;
std::string_view result_name(Result result);
// The result an HTTP status counts as: 2xx ok, 401, 403, 413, 429/503
// overloaded, other 4xx bad_request, 5xx error.
Result result_of_status(unsigned status);

struct IngestMetrics {
  std::array<std::array<std::atomic<std::uint64_t>, result_count>, endpoint_count> requests{};
  std::atomic<std::uint64_t> events{0};          // events stored (ingest and OTLP)
  std::atomic<std::uint64_t> status_samples{0};  // status samples stored
  std::atomic<std::uint64_t> otlp_below_level{0};
  std::atomic<std::uint64_t> otlp_rejected{0};
  std::atomic<std::uint64_t> pending_rows{0};  // events + samples submitted to the writer, not committed yet

  void record(Endpoint endpoint, Result result) {
    requests[static_cast<std::size_t>(endpoint)][static_cast<std::size_t>(result)].fetch_add(
        1, std::memory_order_relaxed);
  }
  std::uint64_t count(Endpoint endpoint, Result result) const {
    return requests[static_cast<std::size_t>(endpoint)][static_cast<std::size_t>(result)].load(
        std::memory_order_relaxed);
  }
  // Prometheus text (tg_control_ingest_*).
  std::string render(std::uint64_t max_pending_rows) const;
};

}  // namespace tg::control::ingest
