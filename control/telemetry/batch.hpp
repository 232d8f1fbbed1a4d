// One TelemetryBatch as tg-control takes it in (telemetry.proto): the checks
// that make a malformed batch REFUSED (with a reason naming the field), where
// its deltas are bucketed in time, and its deltas as store counters.
#pragma once

#include "store/rollups.hpp"

#include "tenantgate/v1/telemetry.pb.h"

#include <cstdint>
#include <string>

namespace tg::control::telemetry {

// Bounds of what a batch may hold (beyond them it is refused, not cut).
struct BatchLimits {
  static constexpr std::size_t tenant = 63;        // a tenant id
  static constexpr std::size_t name = 256;         // route, service
  static constexpr std::size_t instance = 512;     // instance ids ("service/address" included)
  static constexpr std::size_t kind = 64;          // gateway error kinds, fates, event kinds
  static constexpr std::size_t boot_id = 128;
  static constexpr std::size_t series = 100'000;   // per batch
  static constexpr std::size_t named_counts = 64;  // error kinds / fates per series
  static constexpr std::size_t events = 1'000;     // per batch
  static constexpr std::size_t message = 4'096;
  static constexpr std::size_t detail_json = 16'384;
  static constexpr std::uint32_t max_interval_ms = 3'600'000;
};

// "" when the batch is well formed; else why not, naming the field
// ("series 3: requests_by_class has 4 entries").
std::string batch_problem(const tenantgate::v1::TelemetryBatch& batch);

// Skew and lateness bounds (docs/control-plane.md, "Telemetry").
inline constexpr std::int64_t kMaxSkewMs = 5'000;
inline constexpr std::int64_t kLateAfterMs = 120'000;

struct Placement {
  std::int64_t time_unix_ms = 0;  // what the deltas are bucketed by
  bool skewed = false;            // |sent - received| > 5 s: bucketed by receive time
  bool late = false;              // interval ended > 2 min before receipt: bucketed by receive time
};

// Where a batch received at `received_unix_ms` is bucketed: its interval
// start (the proxy's clock), unless the proxy's clock is off by more than
// 5 s or the interval ended more than 2 minutes ago; then receive time.
Placement place(const tenantgate::v1::TelemetryBatch& batch, std::int64_t received_unix_ms);

RollupCounters counters_of(const tenantgate::v1::SeriesDelta& delta);

}  // namespace tg::control::telemetry
