// Phase 5: pick an instance and reserve its connection (docs/life-of-a-request.md).
#include "balancing/balancer.hpp"
#include "balancing/hash_key.hpp"
#include "pipeline/phases.hpp"
#include "pipeline/outlier.hpp"
#include "upstream/upstream.hpp"
#include "runtime/worker.hpp"

#include <algorithm>

namespace tg::proxy {
namespace {

// The instance at `index` has a connection for the request: count the try.
Step reserve(PhaseInput& in, std::int64_t index) {
  Exchange& ex = in.ex;
  const ServiceDef& svc = in.service();
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

// Takes a pooled connection of ex.instance, or room for a new one; false at
// its connection share.
bool take_connection(Exchange& ex) {
  InstanceRuntime& instance = *ex.instance;
  ex.upstream.conn = UpstreamConn::take(instance);
  return ex.upstream.conn || instance.open_connections < instance.connection_limit;
}

// The instance at `index` is at its connection share, or has requests
// waiting before this one. Another pickable instance with a connection free
// and none waiting, when the policy does not stick to its pick (hash
// policies wait for their own instance); else the request waits in the
// instance's pending queue (first tries only: a retry answers at once).
[[gnu::cold]] Step pick_or_wait(PhaseInput& in, std::span<const std::uint32_t> exclude, std::int64_t index) {
  Exchange& ex = in.ex;
  const ServiceDef& svc = in.service();
  if (!balancing::uses_key_hash(svc.policy)) {
    std::vector<std::uint32_t>& skip = in.worker.pick_scratch();
    if (exclude.data() != skip.data()) skip.assign(exclude.begin(), exclude.end());
    skip.push_back(static_cast<std::uint32_t>(index));
    for (std::size_t n = 1; n < svc.instances.size(); ++n) {
      const balancing::PickRequest request{skip, ex.key_hash, in.worker.now_ms()};
      const std::int64_t other = balancing::pick(svc, *ex.table->snapshot, *ex.table, request, in.worker.random());
      if (other == balancing::kNone) break;
      InstanceRuntime& instance = *ex.table->instances[static_cast<std::size_t>(other)];
      if (instance.pending.empty() && instance.room() > 0) {
        ex.instance = &instance;
        if (take_connection(ex)) return reserve(in, other);
      }
      skip.push_back(static_cast<std::uint32_t>(other));
    }
    ex.instance = ex.table->instances[static_cast<std::size_t>(index)];
  }
  InstanceRuntime& instance = *ex.instance;
  const std::uint64_t now = in.worker.now_ms();
  if (ex.pending_deadline_ms == 0) ex.pending_deadline_ms = now + svc.limits.pending_timeout.count();
  // The queue's bound, in size (max_pending_per_instance) or in time
  // (pending_timeout), answers 503 overflow: the request's fate is
  // pending_timeout either way (docs/life-of-a-request.md, "Pending queue").
  if (ex.attempts > 0 || ex.pending_deadline_ms <= now ||
      !instance.pending.add(ex.waiter, ex.pending_deadline_ms, Step::respond(503, ErrorKind::overflow),
                            Fate::pending_timeout)) {
    if (ex.attempts == 0) ex.fate = Fate::pending_timeout;
    return Step::respond(503, ErrorKind::overflow);
  }
  ++instance.pending_waits;
  ex.pending_on = &instance;
  // Room already (a wake passed over, a limit raised): the front one goes.
  instance.wake_pending();
  return Step::suspend();
}

// `woken_for`: the instance whose pending queue woke the request, if any.
Step pick(PhaseInput& in, const InstanceRuntime* woken_for) {
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
  // Requests waiting for the instance go first (FIFO per worker): a new one
  // queues behind them; one woken by this instance takes what woke it.
  if ((ex.instance->pending.empty() || ex.instance.get() == woken_for) && take_connection(ex)) [[likely]]
    return reserve(in, index);
  return pick_or_wait(in, exclude, index);
}

}  // namespace

Step pick_instance(PhaseInput& in) {
  if (!in.ex.pending_on) [[likely]] return pick(in, nullptr);
  // Woken from a pending queue: if the request takes another instance's
  // connection, or none, what woke it goes to the next waiter there. (A
  // connection it is about to open is not counted open yet: no wake then.)
  LocalPtr<InstanceRuntime> waited = std::move(in.ex.pending_on);
  const Step step = pick(in, waited.get());
  if (step.kind == Step::Kind::proceed && in.ex.instance.get() == waited.get()) return step;
  if (!waited->pending.empty()) waited->wake_pending();
  return step;
}

}  // namespace tg::proxy
