// Phase 5: pick an instance and reserve its connection (docs/life-of-a-request.md).
#include "balancing/balancer.hpp"
#include "balancing/hash_key.hpp"
#include "pipeline/phases.hpp"
#include "pipeline/outlier.hpp"
#include "upstream/upstream.hpp"
#include "runtime/worker.hpp"

#include <algorithm>

namespace tg::proxy {

Step pick_instance(PhaseInput& in) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  const Snapshot& snapshot = *ex.table->snapshot;
  const ServiceDef& svc = in.service();
  // Hash policies hash the request's key once, at its first pick; retries
  // reuse it to walk on from the same place.
  if (ex.attempts == 0 && balancing::uses_key_hash(svc.policy)) {
    ex.key_hash = balancing::request_key_hash(svc.policy, svc.hash_key, c.request, c.client.data.get() + ex.head_offset,
                                              in.peer, in.worker.settings().trusted_proxies);
  }
  std::span<const std::uint32_t> exclude{ex.tried, ex.attempts};
  // Breakers: skip the ejected instances (one predictable branch for a
  // service without `outlier`, and one more while none is ejected in the proxy).
  if (svc.outlier && svc.breakers->ejected() != 0) [[unlikely]] {
    const OutlierPickSet set =
        outlier_pick_set(svc, *ex.table, exclude, in.worker.now_ms(), in.worker.pick_scratch());
    if (set.all_ejected) {
      ex.fate = Fate::ejected_all;
      if (ex.attempts == 0) return Step::respond(503, ErrorKind::ejected);
      return Step::respond(ex.error == ErrorKind::timeout ? 504 : 502, ex.error);
    }
    exclude = set.exclude;
  }
  const balancing::PickRequest request{exclude, ex.key_hash, in.worker.now_ms()};
  const std::int64_t index = ex.attempts < Exchange::kMaxAttempts
                                 ? balancing::pick(svc, snapshot, *ex.table, request, in.worker.random())
                                 : balancing::kNone;
  if (index == balancing::kNone) {
    if (ex.attempts == 0) return Step::respond(503, ErrorKind::no_instance);
    // Retries ran out of instances: the last try's failure is the answer.
    ex.fate = Fate::attempts_exhausted;
    return Step::respond(ex.error == ErrorKind::timeout ? 504 : 502, ex.error);
  }
  ex.instance = ex.table->instances[static_cast<std::size_t>(index)];
  ex.upstream.conn = UpstreamConn::take(*ex.instance);
  if (!ex.upstream.conn) {
    const std::uint32_t per_worker_limit =
        std::max<std::uint32_t>(1, svc.limits.max_connections_per_instance / in.worker.settings().workers);
    if (ex.instance->open_connections >= per_worker_limit) return Step::respond(503, ErrorKind::overflow);
  }
  // A try is counted once it has a connection (pooled, or one to open): an
  // overflow at the first pick is phase 5's own answer, not a forward's.
  ex.tried[ex.attempts++] = static_cast<std::uint32_t>(index);
  ex.upstream.active = true;
  ++ex.instance->in_flight;
  // The retry budget counts requests under way from their first try.
  if (svc.retry.attempts > 1 && !ex.budget) {
    ex.budget = ex.table->services[ex.service];
    ex.budget->budget.request_started();
  }
  if (svc.outlier) outlier_try_started_inline(in.worker, ex, svc, *ex.instance, ex.probe);
  return Step::proceed();
}

}  // namespace tg::proxy
