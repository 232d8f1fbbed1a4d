// Phase 4's rate and concurrency limits (docs/life-of-a-request.md, Admit;
// docs/configuration.md: a route's rate_limit, a tenant's limits): an
// AdmissionGate, one per worker.
//
// A request on a route without limits (or in a table without any) costs a
// test or two. Otherwise, in order: the tenant's concurrency slot
// (limits.max_concurrent), the route's bucket (rate_limit: fixed, shared by
// the workers, or keyed, per worker), the tenant's bucket (limits.rate);
// the first that refuses answers 429 rate_limited, and a slot taken before
// goes back at once. A shadow limit counts what it would refuse and refuses
// nothing. A request's limits are decided once: a request resumed after a
// suspension keeps its decision and its slot.
#pragma once

#include "limits/worker_limits.hpp"
#include "pipeline/phases.hpp"

namespace tg::proxy {

struct Snapshot;

class LimitGate final : public AdmissionGate {
 public:
  // `workers`: the proxy's worker count (keyed limits get rate / workers
  // each); `keys`: the keyed buckets this worker holds at most
  // (--rate-limit-max-keys).
  explicit LimitGate(unsigned workers, std::uint32_t keys = limits::WorkerLimits::kKeysPerWorker)
      : limits_(workers, keys) {}
  Step admit(PhaseInput& in) override;
  // The tables it runs for (Worker::add_admission_gate): those with limits.
  static bool serves(const Snapshot& table);
  // Worker thread: the counters, for /metrics.
  limits::LimitsCopy collect() const { return limits_.collect(); }

 private:
  limits::WorkerLimits limits_;
};

}  // namespace tg::proxy
