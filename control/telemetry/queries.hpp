// Admin Top and Series over telemetry (admin.proto, "monitoring"): the
// request checks, the figures (rates, error rates, percentiles from merged
// histograms) and the two sources of Series — the in-memory window for the
// last hour at steps under a minute, the SQLite minute rollups otherwise.
// Pure functions of their inputs; the Admin service runs them on the owner
// loop (memory) or the writer thread (rollups).
#pragma once

#include "status.hpp"
#include "store/rollups.hpp"
#include "telemetry/window.hpp"

#include "tenantgate/v1/admin.pb.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tg::control::telemetry {

// The latency below which a fraction `q` (0..1) of `count` requests fell, in
// ms: the upper bound of the bucket that holds that rank, interpolated
// linearly from the bucket's lower bound; the +Inf bucket answers its lower
// bound (60 s). 0 when count is 0.
double percentile_ms(const std::array<std::uint64_t, metrics::kLatencyBuckets>& buckets, std::uint64_t count,
                     double q);

// TopRequest defaults and limits applied, or INVALID_ARGUMENT naming the field.
Status top(const Window& window, const tenantgate::v1::TopRequest& request, std::int64_t now_unix_ms,
           tenantgate::v1::TopResponse* response);

// A Series request checked and resolved (defaults, the source to read).
struct SeriesPlan {
  std::string metric;
  RollupQuery scope;  // since/until: the whole steps covered
  std::uint64_t step_ms = 60'000;
  bool from_memory = false;
};

// The four metrics the containers' status reports feed, not telemetry.
bool is_status_metric(const std::string& metric);

// OK with `plan` filled, or INVALID_ARGUMENT naming the field. Status
// metrics are INVALID_ARGUMENT here (they are answered elsewhere).
Status plan_series(const tenantgate::v1::SeriesRequest& request, std::int64_t now_unix_ms, SeriesPlan* plan);

// The points of `plan` from memory.
void series_from_window(const Window& window, const SeriesPlan& plan, tenantgate::v1::SeriesResponse* response);
// The points of `plan` from minute rollups (oldest first, as the store returns them).
void series_from_minutes(const std::vector<RollupMinute>& minutes, const SeriesPlan& plan,
                         tenantgate::v1::SeriesResponse* response);

}  // namespace tg::control::telemetry
