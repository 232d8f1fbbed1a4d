// The deltas a telemetry batch carries: per series (tenant, route, service,
// instance), what the workers' counters grew by since the previous batch.
//
// The workers' counters are cumulative and carried across table switches by
// name (table/worker_table.hpp); the tracker keeps, per worker, the values it
// saw last of each runtime object, by the object's serial
// (core/runtime_serial.hpp). A route that disappears is forgotten; one that
// comes back is a new object and counts from zero: no delta is ever negative
// and none is counted twice. Pure logic: the caller copies the counters on
// the workers (TelemetrySink's collect function).
#pragma once

#include "metrics/histogram.hpp"
#include "pipeline/step.hpp"
#include "runtime/worker.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace tg::proxy::telemetry {

// One series, "" where it does not apply: a route series (route, service),
// an instance series (service, instance), or the unrouted one (all "").
struct SeriesKey {
  std::string tenant, route, service, instance;
  bool operator<(const SeriesKey& o) const {
    return std::tie(tenant, route, service, instance) < std::tie(o.tenant, o.route, o.service, o.instance);
  }
  bool operator==(const SeriesKey& o) const {
    return std::tie(tenant, route, service, instance) == std::tie(o.tenant, o.route, o.service, o.instance);
  }
};

// A series' counters (cumulative in the tracker, deltas in its output).
struct SeriesCounts {
  std::array<std::uint64_t, 5> requests{};  // by status class 1xx..5xx
  std::array<std::uint64_t, kErrorKinds> errors{};  // by ErrorKind (route: of the request; instance: of its tries)
  std::array<std::uint64_t, kFates> fates{};  // route series only
  std::uint64_t retries = 0;
  std::uint64_t held = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  metrics::LatencyHistogram latency;

  bool zero() const;
  void add(const SeriesCounts& other);
  // this - previous, field by field (a field below `previous` counts from 0).
  SeriesCounts minus(const SeriesCounts& previous) const;

  // The proto's fields derived from the error kinds: 401 and 403 answers,
  // 429 answers.
  std::uint64_t auth_failures() const;
  std::uint64_t rate_limited() const;
};

// Whether an error kind goes into SeriesDelta.gateway_errors: every kind but
// none and those with a field of their own (auth failures, rate limited).
bool is_gateway_error(ErrorKind kind);

struct SeriesDeltaCounts {
  SeriesKey key;
  SeriesCounts counts;
};

class DeltaTracker {
 public:
  explicit DeltaTracker(std::size_t workers) : previous_(workers) {}

  // The non-zero deltas since the previous call, summed over the workers,
  // in series order. `copies` has one entry per worker; a worker without a
  // copy (it did not answer in time) keeps its previous values, so its
  // counts come with a later call.
  std::vector<SeriesDeltaCounts> update(const std::vector<std::optional<WorkerStatsCopy>>& copies);

 private:
  // Per worker: the counts last seen by object serial (0: the unrouted series).
  std::vector<std::unordered_map<std::uint64_t, SeriesCounts>> previous_;
};

// A worker's copy as series counts (for the tracker and its tests).
SeriesCounts route_counts(const WorkerStatsCopy::Route& route);
SeriesCounts instance_counts(const WorkerStatsCopy::Instance& instance);
SeriesCounts unrouted_counts(const WorkerStats& stats);

}  // namespace tg::proxy::telemetry
