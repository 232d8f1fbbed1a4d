// The power-of-two-choices policies: least_request and peak_ewma.
//
// Both draw two distinct candidates, each with probability proportional to
// its weight (uniformly when all weights are equal), and keep the cheaper;
// a tie goes to the first drawn. So:
// * with equal load, picks follow the weights (equal weights: an even spread);
// * under load, an instance of weight w is chosen over an equally costly one
//   until it carries w times the load, because costs are divided by weight.
//
// least_request cost: in_flight / weight (the in-flight requests of this
// worker). Chosen over Envoy's weight / (active + 1)^bias because that form
// makes the heavier instance win every idle comparison (1/3 < 1/1), which
// sends all sequential traffic to it instead of 3/4.
//
// peak_ewma cost: peak-EWMA latency × (in_flight + 1) / weight (Linkerd's
// cost, weighted; an instance that has not answered yet is probed one
// request at a time, see PeakEwma::cost). An instance inside its 503/429 penalty window is not
// chosen while any other untried instance is outside one; when all are
// inside, the cheapest is used rather than refusing the request.
//
// Tried instances are never chosen. When a drawn candidate is tried (a
// retry) or both are penalised, the cheapest eligible instance is found by a
// scan, ties chosen among by weight: O(n), but only on retries and penalties.
#pragma once

#include "balancing/random.hpp"
#include "table/snapshot.hpp"
#include "table/worker_table.hpp"

#include <cstdint>
#include <span>

namespace tg::proxy::balancing {

std::int64_t least_request(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table,
                           std::span<const std::uint32_t> exclude, Random& random);

std::int64_t peak_ewma(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table,
                       std::span<const std::uint32_t> exclude, std::uint64_t now_ms, Random& random);

}  // namespace tg::proxy::balancing
