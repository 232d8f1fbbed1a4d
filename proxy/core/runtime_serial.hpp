// A serial number for each per-worker runtime object (route, instance): a
// collector that keeps the previous counters of an object by its serial sees
// a route removed and re-added as a new object (counters from zero), never as
// counters that went backwards (proxy/telemetry/delta_tracker.hpp). Taken
// when a table is built, never on the request path.
#pragma once

#include <atomic>
#include <cstdint>

namespace tg::proxy {

inline std::uint64_t next_runtime_serial() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tg::proxy
