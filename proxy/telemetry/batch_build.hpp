// A telemetry batch from the tracker's deltas and the workers' breaker
// transitions (proto/tenantgate/v1/telemetry.proto, TelemetryBatch).
#pragma once

#include "runtime/worker.hpp"
#include "telemetry/delta_tracker.hpp"
#include "tenantgate/v1/telemetry.pb.h"

#include <string>
#include <vector>

namespace tg::proxy::telemetry {

// One series' deltas as the proto has them: requests_by_class and the
// histogram only when non-zero, gateway errors and fates by name, non-zero
// entries only.
void to_proto(const SeriesDeltaCounts& delta, tenantgate::v1::SeriesDelta& out);

// A breaker transition as an event: kind "breaker", level warning when it
// opens, info otherwise; message "closed -> open (5 consecutive failures)";
// detail_json with the address, reason and how long it stays open; the
// instance id as the group key.
void to_proto(const BreakerEventCopy& event, tenantgate::v1::TelemetryEvent& out);

}  // namespace tg::proxy::telemetry
