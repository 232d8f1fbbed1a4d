// The breakers of a service's instances at work in a request (docs/life-of-a-request.md,
// Breakers): which instances phase 5 may pick, what each try's outcome does to
// its instance's breaker, and the transitions that follow (counted per
// instance in its cell, logged by the worker that made them, off the request
// path).
//
// Per proxy: one breaker per instance (InstanceRuntime::breaker, a
// resilience::BreakerCell shared by the workers) and one count of instances
// not closed per service (ServiceDef::breakers), both updated atomically.
// Called only for services with `outlier`; a service without one pays one
// branch in phase 5 and one per try outcome.
#pragma once

#include "resilience/breaker.hpp"
#include "upstream/upstream.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace tg::proxy {

class Worker;
struct Exchange;
struct ServiceDef;
struct WorkerTable;

struct OutlierPickSet {
  std::span<const std::uint32_t> exclude;  // tried and ejected instances
  bool all_ejected = false;                // no instance admits a try: 503 ejected
};

// The instances phase 5 must skip: those tried, and those whose breaker does
// not admit a try now. Below half of the pick set admitting (panic), only the
// tried ones: every instance is used again. `scratch` holds the list.
OutlierPickSet outlier_pick_set(const ServiceDef& service, WorkerTable& table, std::span<const std::uint32_t> tried,
                                std::uint64_t now_ms, std::vector<std::uint32_t>& scratch);

// Phase 5 reserved ex.instance for a try: a half-open breaker counts it as a
// probe. (The closed breaker, the usual case, is decided inline.)
void outlier_try_started(Worker& worker, Exchange& ex, const ServiceDef& service);
inline void outlier_try_started_inline(Worker& worker, Exchange& ex, const ServiceDef& service,
                                       InstanceRuntime& instance, bool& probe) {
  if (instance.breaker->state() == resilience::BreakerState::closed) {
    probe = false;
    return;
  }
  outlier_try_started(worker, ex, service);
}

enum class OutlierOutcome : std::uint8_t {
  success,   // a response the breaker counts as healthy
  failure,   // connect failure, reset, timeout; a 5xx with count_5xx
  back_off,  // a 429 or 503 with Retry-After
};
void outlier_try_ended(Worker& worker, Exchange& ex, const ServiceDef& service, OutlierOutcome outcome,
                       std::uint64_t retry_after_ms = 0);
// A success on a closed breaker with no failure counted changes nothing: the
// healthy path only reads.
inline bool outlier_success_changes_nothing(const InstanceRuntime& instance, bool probe) {
  return !probe && instance.breaker->quiet();
}

// The request ends while a probe of it had no outcome: the probe slot is freed.
void outlier_request_ended(Exchange& ex);

}  // namespace tg::proxy
