#include "health/monitor.hpp"

#include <tuple>

namespace tg::control::health {
namespace {

constexpr const char* heartbeat_expired = "heartbeat expired";

bool same_probe(const ProbeSpec& a, const ProbeSpec& b) {
  return std::tie(a.type, a.address, a.path, a.host_header, a.expect, a.timeout) ==
         std::tie(b.type, b.address, b.path, b.host_header, b.expect, b.timeout);
}

}  // namespace

ProbeSpec probe_spec(const v1::HealthCheck& check, const v1::Instance& instance) {
  ProbeSpec spec;
  spec.instance = instance.id();
  spec.address = instance.address();
  spec.timeout = std::chrono::milliseconds(check.timeout_ms() == 0 ? 1000 : check.timeout_ms());
  if (check.type() == v1::HealthCheck::TYPE_TCP) {
    spec.type = ProbeSpec::Type::tcp;
    spec.expect.clear();
    return spec;
  }
  spec.type = ProbeSpec::Type::http;
  spec.path = check.path().empty() ? "/healthz" : check.path();
  spec.host_header = check.host().empty() ? instance.address() : check.host();
  if (check.expect_size() > 0) {
    spec.expect.clear();
    for (const v1::StatusRange& range : check.expect())
      spec.expect.emplace_back(range.min(), range.max() == 0 ? range.min() : range.max());
  }
  return spec;
}

std::vector<HealthFlip> Monitor::sync_all(const Registry& registry, Time now) {
  std::vector<HealthFlip> flips;
  // Targets of instances that are gone.
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (registry.instances().contains(it->first)) {
      ++it;
      continue;
    }
    unschedule(it->first, it->second);
    it = targets_.erase(it);
  }
  for (const auto& [id, instance] : registry.instances())
    for (HealthFlip& flip : sync(registry, id, now, Start::random_offset)) flips.push_back(std::move(flip));
  return flips;
}

std::vector<HealthFlip> Monitor::sync_instance(const Registry& registry, const std::string& id, Time now) {
  return sync(registry, id, now, Start::at_once);
}

std::vector<HealthFlip> Monitor::sync_service(const Registry& registry, const std::string& name, Time now) {
  std::vector<HealthFlip> flips;
  std::vector<std::string> ids;
  for (const auto& [id, instance] : registry.instances())
    if (instance.service() == name) ids.push_back(id);
  // Targets of this service whose instances moved elsewhere or are gone are
  // handled by their own instance changes; sync the current members.
  for (const std::string& id : ids)
    for (HealthFlip& flip : sync(registry, id, now, Start::at_once)) flips.push_back(std::move(flip));
  return flips;
}

std::vector<HealthFlip> Monitor::sync(const Registry& registry, const std::string& id, Time now, Start start) {
  auto existing = targets_.find(id);
  const auto instance = registry.instances().find(id);
  const v1::Service* service = nullptr;
  if (instance != registry.instances().end())
    if (auto found = registry.services().find(instance->second.service()); found != registry.services().end())
      service = &found->second;
  if (service == nullptr || !service->has_health_check()) {
    if (existing != targets_.end()) {
      unschedule(id, existing->second);
      targets_.erase(existing);
    }
    // A check that is gone no longer holds the instance out of rotation.
    if (instance != registry.instances().end() && instance->second.health() == v1::HEALTH_UNHEALTHY &&
        instance->second.health_reason() != heartbeat_expired)
      return {HealthFlip{id, v1::HEALTH_HEALTHY, "no health check"}};
    return {};
  }
  const v1::HealthCheck& check = service->health_check();
  ProbeSpec spec = probe_spec(check, instance->second);
  const std::chrono::milliseconds interval(check.interval_ms() == 0 ? 5000 : check.interval_ms());
  const std::uint32_t healthy = std::max<std::uint32_t>(1, check.healthy_threshold());
  const std::uint32_t unhealthy = std::max<std::uint32_t>(1, check.unhealthy_threshold());
  if (existing != targets_.end()) {
    Target& t = existing->second;
    if (same_probe(t.spec, spec) && t.interval == interval && t.healthy_threshold == healthy &&
        t.unhealthy_threshold == unhealthy)
      return {};
    unschedule(id, t);
    targets_.erase(existing);
  }
  Target target;
  spec.epoch = next_epoch_++;
  target.spec = std::move(spec);
  target.interval = interval;
  target.healthy_threshold = healthy;
  target.unhealthy_threshold = unhealthy;
  Time due = now;
  if (start == Start::random_offset) {
    std::uniform_int_distribution<std::int64_t> offset(0, interval.count() - 1);
    due += std::chrono::milliseconds(offset(random_));
  }
  schedule(id, targets_.emplace(id, std::move(target)).first->second, due);
  return {};
}

void Monitor::schedule(const std::string& id, Target& target, Time due) {
  target.due = due;
  due_.emplace(due, id);
}

void Monitor::unschedule(const std::string& id, const Target& target) {
  if (target.in_flight) {
    --in_flight_;  // its result carries an epoch no target has: dropped
  } else {
    due_.erase({target.due, id});
  }
}

std::vector<ProbeSpec> Monitor::take_due(Time now) {
  std::vector<ProbeSpec> probes;
  while (!due_.empty() && due_.begin()->first <= now) {
    const std::string id = due_.begin()->second;
    due_.erase(due_.begin());
    Target& target = targets_.at(id);
    target.in_flight = true;
    ++in_flight_;
    // Whole intervals on from the last due time: the start offset stays, a
    // target that fell behind skips the probes it missed.
    do {
      target.due += target.interval;
    } while (target.due <= now);
    probes.push_back(target.spec);
  }
  return probes;
}

std::optional<Monitor::Time> Monitor::next_due() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

std::vector<HealthFlip> Monitor::on_results(const Registry& registry, const std::vector<ProbeResult>& results) {
  std::map<std::string, HealthFlip> flips;  // the last decision per instance
  for (const ProbeResult& result : results) {
    auto it = targets_.find(result.instance);
    if (it == targets_.end()) continue;
    Target& target = it->second;
    if (result.epoch != target.spec.epoch || !target.in_flight) continue;
    target.in_flight = false;
    --in_flight_;
    due_.emplace(target.due, it->first);
    if (result.passed) {
      ++target.passes;
      target.failures = 0;
    } else {
      ++target.failures;
      target.passes = 0;
    }
    const auto instance = registry.instances().find(result.instance);
    if (instance == registry.instances().end()) continue;
    const v1::Instance& current = instance->second;
    const bool awaiting = current.health_reason() == awaiting_check_reason;
    if (result.passed) {
      const std::uint32_t needed = awaiting ? 1 : target.healthy_threshold;
      if (target.passes >= needed && current.health() != v1::HEALTH_HEALTHY &&
          current.health_reason() != heartbeat_expired)
        flips[result.instance] = HealthFlip{result.instance, v1::HEALTH_HEALTHY, result.reason};
      else
        flips.erase(result.instance);
    } else {
      // An instance awaiting its first check is out of rotation already; it
      // gets the reason once the failures reach the threshold.
      if (target.failures >= target.unhealthy_threshold &&
          (current.health() != v1::HEALTH_UNHEALTHY || awaiting) && current.health_reason() != heartbeat_expired)
        flips[result.instance] = HealthFlip{result.instance, v1::HEALTH_UNHEALTHY, result.reason};
      else
        flips.erase(result.instance);
    }
  }
  std::vector<HealthFlip> out;
  out.reserve(flips.size());
  for (auto& [id, flip] : flips) out.push_back(std::move(flip));
  return out;
}

}  // namespace tg::control::health
