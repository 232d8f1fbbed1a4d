// One worker's view of a Snapshot: the immutable table plus the worker's
// mutable per-instance and per-route state, in dense arrays indexed like the
// snapshot's instances and routes.
//
// Requests hold a LocalPtr to the WorkerTable they started on (non-atomic), so
// the shared Snapshot is released only when the worker's last request on it ends.
#pragma once

#include "auth/failure.hpp"
#include "core/ref_counted.hpp"
#include "core/runtime_serial.hpp"
#include "metrics/histogram.hpp"
#include "observability/access_log.hpp"
#include "resilience/fate.hpp"
#include "resilience/retry_budget.hpp"
#include "table/snapshot.hpp"
#include "upstream/upstream.hpp"

#include <array>
#include <memory>
#include <vector>

namespace tg::proxy {

// Slots of the per-route error counters: one per ErrorKind value
// (pipeline/step.hpp; record.cpp checks the two agree).
inline constexpr std::size_t kErrorKindSlots = 18;

struct RouteRuntime : LocalRefCounted<RouteRuntime> {
  RouteRuntime(std::string name_, std::string service_)
      : name(std::move(name_)), service(std::move(service_)), name_json(json_escaped(name)),
        service_json(json_escaped(service)) {}
  std::string name;
  std::string service;
  std::string name_json, service_json;  // JSON-escaped once, for the access log
  std::array<std::uint64_t, 5> requests{};  // by status class of the response sent
  std::array<std::uint64_t, resilience::kFates> fates{};  // by Fate
  std::array<std::uint64_t, auth::kAuthFailures> auth_failures{};  // by AuthFailure (phase 4)
  metrics::LatencyHistogram latency;
  // For telemetry (proxy/telemetry/): plain increments by phase 7.
  std::array<std::uint64_t, kErrorKindSlots> errors{};  // by the access log's error kind (0: none)
  std::uint64_t retries = 0;    // tries after the first
  std::uint64_t held = 0;       // requests that waited (pending queue, phase 4 hold)
  std::uint64_t bytes_in = 0;   // request body bytes forwarded
  std::uint64_t bytes_out = 0;  // response body bytes sent
  const std::uint64_t serial = next_runtime_serial();
};

// One worker's mutable state for one service, carried over by name.
struct ServiceRuntime : LocalRefCounted<ServiceRuntime> {
  explicit ServiceRuntime(std::string name_) : name(std::move(name_)) {}
  std::string name;
  resilience::RetryBudget budget;
};

struct WorkerTable : LocalRefCounted<WorkerTable> {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<LocalPtr<InstanceRuntime>> instances;  // by snapshot instance index
  std::vector<LocalPtr<RouteRuntime>> routes;        // by snapshot route index
  std::vector<LocalPtr<ServiceRuntime>> services;    // by snapshot service index

  // Builds the table for `snapshot`, carrying state over from `previous`
  // (may be null) by instance id (same address), route name and service
  // name. Each instance gets the snapshot's breaker for it (shared by the
  // workers), and its share of its service's limits among `workers` workers.
  // A snapshot with the layout `previous` serves takes its arrays as they
  // are; one a delta update derived from it (Snapshot::change) remaps only
  // the positions that changed; any other is remapped whole.
  static LocalPtr<WorkerTable> build(std::shared_ptr<const Snapshot> snapshot, const WorkerTable* previous,
                                     unsigned workers = 1);
  // Each instance's connection share and pending-queue bound for `workers`.
  void share_limits(unsigned workers);
  // The same for the instances at `changed` only.
  void share_limits(unsigned workers, const std::vector<std::uint32_t>& changed);

 private:
  void share_limit(unsigned workers, std::uint32_t index);
};

}  // namespace tg::proxy
