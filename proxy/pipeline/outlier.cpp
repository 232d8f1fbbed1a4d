#include "pipeline/outlier.hpp"

#include "pipeline/exchange.hpp"
#include "runtime/worker.hpp"
#include "table/worker_table.hpp"

#include <algorithm>

namespace tg::proxy {

namespace {

// The cell counted the transition; the worker that made it logs it at its tick.
void note(Worker& worker, const InstanceRuntime& instance, const resilience::BreakerCell::Change& change) {
  if (change.transition.happened()) worker.note_breaker_transition(instance, change.transition, change.open_until_ms);
}

resilience::EjectionCap cap_of(const ServiceDef& service) {
  return {static_cast<std::uint32_t>(service.instances.size()), service.breaker.max_ejection_percent};
}

}  // namespace

OutlierPickSet outlier_pick_set(const ServiceDef& service, WorkerTable& table, std::span<const std::uint32_t> tried,
                                std::uint64_t now_ms, std::vector<std::uint32_t>& scratch) {
  std::size_t admitting = 0;
  for (std::uint32_t index : service.instances)
    admitting += table.instances[index]->breaker->admits(now_ms, service.breaker);
  if (admitting == 0 && !service.instances.empty()) return {tried, true};
  if (admitting * 2 < service.instances.size()) return {tried, false};  // panic: every instance again
  scratch.assign(tried.begin(), tried.end());
  for (std::uint32_t index : service.instances) {
    if (table.instances[index]->breaker->admits(now_ms, service.breaker)) continue;
    if (std::find(tried.begin(), tried.end(), index) == tried.end()) scratch.push_back(index);
  }
  return {scratch, false};
}

void outlier_try_started(Worker& worker, Exchange& ex, const ServiceDef& service) {
  InstanceRuntime& instance = *ex.instance;
  // In panic an instance whose breaker does not admit is tried as it is (no probe).
  const resilience::BreakerCell::Change change = instance.breaker->try_started(worker.now_ms(), service.breaker);
  ex.probe = change.probe;
  note(worker, instance, change);
}

void outlier_try_ended(Worker& worker, Exchange& ex, const ServiceDef& service, OutlierOutcome outcome,
                       std::uint64_t retry_after_ms) {
  if (!ex.instance || !ex.table) return;
  InstanceRuntime& instance = *ex.instance;
  resilience::BreakerCell& breaker = *instance.breaker;
  const bool probe = ex.probe;
  ex.probe = false;
  resilience::BreakerCell::Change change;
  switch (outcome) {
    case OutlierOutcome::success:
      change = breaker.succeeded(worker.now_ms(), probe);
      break;
    case OutlierOutcome::failure:
      change = breaker.failed(worker.now_ms(), service.breaker, probe, cap_of(service));
      break;
    case OutlierOutcome::back_off:
      change = breaker.back_off(worker.now_ms(), service.breaker, retry_after_ms, probe, cap_of(service));
      break;
  }
  note(worker, instance, change);
}

void outlier_request_ended(Exchange& ex) {
  if (!ex.probe) return;
  ex.probe = false;
  if (ex.instance && ex.instance->breaker) ex.instance->breaker->abandon_probe(true);
}

}  // namespace tg::proxy
