#include "pipeline/outlier.hpp"

#include "pipeline/exchange.hpp"
#include "runtime/worker.hpp"
#include "table/worker_table.hpp"

#include <algorithm>

namespace tg::proxy {

namespace {

void apply(Worker& worker, ServiceRuntime& service, InstanceRuntime& instance, const resilience::Transition& t) {
  if (!t.happened()) return;
  service.ejected = static_cast<std::uint32_t>(static_cast<int>(service.ejected) + t.ejected_delta());
  ++instance.transitions[static_cast<std::size_t>(t.reason)];
  worker.note_breaker_transition(instance, t);
}

}  // namespace

OutlierPickSet outlier_pick_set(const ServiceDef& service, WorkerTable& table, std::span<const std::uint32_t> tried,
                                std::uint64_t now_ms, std::vector<std::uint32_t>& scratch) {
  std::size_t admitting = 0;
  for (std::uint32_t index : service.instances)
    admitting += table.instances[index]->breaker.admits(now_ms, service.breaker);
  if (admitting == 0 && !service.instances.empty()) return {tried, true};
  if (admitting * 2 < service.instances.size()) return {tried, false};  // panic: every instance again
  scratch.assign(tried.begin(), tried.end());
  for (std::uint32_t index : service.instances) {
    if (table.instances[index]->breaker.admits(now_ms, service.breaker)) continue;
    if (std::find(tried.begin(), tried.end(), index) == tried.end()) scratch.push_back(index);
  }
  return {scratch, false};
}

void outlier_try_started(Worker& worker, Exchange& ex, const ServiceDef& service) {
  InstanceRuntime& instance = *ex.instance;
  ex.probe = false;
  // In panic an instance whose breaker does not admit is tried as it is.
  if (!instance.breaker.admits(worker.now_ms(), service.breaker)) return;
  resilience::Transition t;
  ex.probe = instance.breaker.start_try(t);
  apply(worker, *ex.table->services[ex.service], instance, t);
}

void outlier_try_ended(Worker& worker, Exchange& ex, const ServiceDef& service, OutlierOutcome outcome,
                       std::uint64_t retry_after_ms) {
  if (!ex.instance || !ex.table) return;
  InstanceRuntime& instance = *ex.instance;
  ServiceRuntime& svc = *ex.table->services[ex.service];
  const bool probe = ex.probe;
  ex.probe = false;
  const auto may_eject = [&] {
    return resilience::ejection_allowed(svc.ejected, static_cast<std::uint32_t>(service.instances.size()),
                                        service.breaker.max_ejection_percent);
  };
  resilience::Transition t;
  switch (outcome) {
    case OutlierOutcome::success:
      t = instance.breaker.succeeded(probe);
      break;
    case OutlierOutcome::failure:
      t = instance.breaker.failed(worker.now_ms(), service.breaker, probe, may_eject());
      break;
    case OutlierOutcome::back_off:
      t = instance.breaker.back_off(worker.now_ms(), service.breaker, retry_after_ms, probe, may_eject());
      break;
  }
  apply(worker, svc, instance, t);
}

void outlier_request_ended(Exchange& ex) {
  if (!ex.probe) return;
  ex.probe = false;
  if (ex.instance) ex.instance->breaker.abandon_probe(true);
}

}  // namespace tg::proxy
