#include "balancing/balancer.hpp"

#include "balancing/two_choices.hpp"

#include <algorithm>

namespace tg::proxy::balancing {

namespace {

bool excluded(std::span<const std::uint32_t> exclude, std::uint32_t index) {
  return std::find(exclude.begin(), exclude.end(), index) != exclude.end();
}

// Smooth weighted round robin (as NGINX): every eligible instance gains its
// weight, the largest wins and pays back the total. Equal weights give a
// plain rotation; weights 1,2,3 give a, b, c spread out rather than bunched.
std::int64_t smooth_round_robin(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table,
                                std::span<const std::uint32_t> exclude) {
  std::int64_t total = 0;
  InstanceRuntime* best = nullptr;
  std::int64_t best_index = kNone;
  for (std::uint32_t index : service.instances) {
    if (!exclude.empty() && excluded(exclude, index)) continue;
    InstanceRuntime& state = *table.instances[index];
    const std::int64_t weight = snapshot.instances[index].weight;
    state.swrr_current += weight;
    total += weight;
    if (!best || state.swrr_current > best->swrr_current) {
      best = &state;
      best_index = index;
    }
  }
  if (best) best->swrr_current -= total;
  return best_index;
}

std::int64_t weighted_random(const ServiceDef& service, std::span<const std::uint32_t> exclude, Random& random) {
  const auto& cumulative = service.cumulative_weight;
  if (cumulative.empty()) return kNone;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::uint64_t r = random.below(cumulative.back());
    const auto pos = std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin();
    const std::uint32_t index = service.instances[static_cast<std::size_t>(pos)];
    if (exclude.empty() || !excluded(exclude, index)) return index;
  }
  // Still unlucky (the excluded instances carry most of the weight): draw
  // over the remaining instances only, still by weight.
  std::uint64_t remaining = 0;
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < service.instances.size(); ++i) {
    if (!excluded(exclude, service.instances[i])) remaining += cumulative[i] - previous;
    previous = cumulative[i];
  }
  if (remaining == 0) return kNone;
  std::uint64_t r = random.below(remaining);
  previous = 0;
  for (std::size_t i = 0; i < service.instances.size(); ++i) {
    const std::uint64_t weight = cumulative[i] - previous;
    previous = cumulative[i];
    if (excluded(exclude, service.instances[i])) continue;
    if (r < weight) return service.instances[i];
    r -= weight;
  }
  return kNone;
}

// ip_hash, ring_hash, maglev: the ring or table maps the key's hash to a
// position in the service; tried instances are walked past.
template <class Table>
std::int64_t hashed(const ServiceDef& service, const Table& lookup, const PickRequest& request) {
  if (service.instances.empty()) return kNone;
  // When the tried instances cover the service nothing is left, and the walk
  // (up to 65,537 Maglev slots) need not go round to find it out. A service's
  // instances have consecutive snapshot indices; tried ones are distinct.
  std::size_t tried_here = 0;
  for (std::uint32_t index : request.exclude)
    tried_here += index >= service.instances.front() && index <= service.instances.back();
  if (tried_here >= service.instances.size()) return kNone;
  const auto not_allowed = [&](std::uint32_t position) {
    return excluded(request.exclude, service.instances[position]);
  };
  const std::uint32_t position =
      request.exclude.empty() ? lookup.find(request.key_hash) : lookup.find(request.key_hash, not_allowed);
  return position == hashing::kNoPosition ? kNone : service.instances[position];
}

}  // namespace

std::int64_t pick(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table, const PickRequest& request,
                  Random& random) {
  switch (service.policy) {
    case config::LbPolicy::weighted:
      return weighted_random(service, request.exclude, random);
    case config::LbPolicy::least_request:
      return least_request(service, snapshot, table, request.exclude, random);
    case config::LbPolicy::peak_ewma:
      return peak_ewma(service, snapshot, table, request.exclude, request.now_ms, random);
    case config::LbPolicy::ip_hash:
    case config::LbPolicy::ring_hash:
      return hashed(service, service.ring, request);
    case config::LbPolicy::maglev:
      return hashed(service, service.maglev, request);
    case config::LbPolicy::sticky_link:  // refused by Snapshot::build
    case config::LbPolicy::round_robin:
      break;
  }
  return smooth_round_robin(service, snapshot, table, request.exclude);
}

}  // namespace tg::proxy::balancing
