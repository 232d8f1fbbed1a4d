// Admin.Series for the metrics tenant containers report themselves
// (POST /v1/ingest/status): cpu | memory_bytes | restarts | load, read from
// the status samples.
//
// Per step [t, t + step): an instance's value is the mean of its samples in
// the step for cpu and load, the last sample for memory_bytes and restarts
// (gauges and a counter: the latest figure is the truth). A service scope
// (service without instance) combines its instances' values of the step:
// the sum for memory_bytes and restarts, the mean for cpu and load. A step
// without any sample is `empty` with value 0. tenant, if given, filters too;
// route does not apply to these metrics (a request with a route gets empty
// points).
#pragma once

#include "store/store.hpp"

#include "tenantgate/v1/admin.pb.h"

#include <cstdint>
#include <string_view>

namespace tg::control::ingest {

bool is_status_metric(std::string_view metric);

// On the store's thread (the writer). The request is taken as validated by
// the caller (Admin.Series: metric, scope, step a multiple of 10 s, at most
// 10,000 points); defaults as admin.proto gives them: since = now - 1 h,
// until = now, step 60 s. Throws std::invalid_argument for a metric that is
// not a status metric or a range that makes no points.
tenantgate::v1::SeriesResponse status_series(Store& store, const tenantgate::v1::SeriesRequest& request,
                                             std::int64_t now_unix_ms);

}  // namespace tg::control::ingest
