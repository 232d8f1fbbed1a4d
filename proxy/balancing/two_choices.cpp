#include "balancing/two_choices.hpp"

#include "balancing/balancer.hpp"

#include <algorithm>

namespace tg::proxy::balancing {

namespace {

// A penalised instance loses to every instance outside its penalty window;
// penalised ones still compare by cost.
struct Cost {
  bool penalised = false;
  double value = 0;
  bool operator<(const Cost& o) const { return penalised != o.penalised ? !penalised : value < o.value; }
};

bool excluded(std::span<const std::uint32_t> exclude, std::uint32_t index) {
  return std::find(exclude.begin(), exclude.end(), index) != exclude.end();
}

// A position in the service, with probability proportional to its weight.
std::uint32_t draw(const ServiceDef& service, Random& random) {
  const auto n = static_cast<std::uint32_t>(service.instances.size());
  if (service.equal_weights) return static_cast<std::uint32_t>(random.below(n));
  const auto& cumulative = service.cumulative_weight;
  const std::uint64_t r = random.below(cumulative.back());
  return static_cast<std::uint32_t>(std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
}

// A second position different from `first`, by weight: redraws a few times,
// then any other position uniformly (a heavy `first` would otherwise keep
// coming back).
std::uint32_t draw_other(const ServiceDef& service, std::uint32_t first, Random& random) {
  const auto n = static_cast<std::uint32_t>(service.instances.size());
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::uint32_t p = draw(service, random);
    if (p != first) return p;
  }
  return (first + 1 + static_cast<std::uint32_t>(random.below(n - 1))) % n;
}

// `cost(index)` → Cost, lower is better.
template <class CostOf>
std::int64_t two_choices(const ServiceDef& service, const Snapshot& snapshot, std::span<const std::uint32_t> exclude,
                         Random& random, CostOf&& cost) {
  const auto n = static_cast<std::uint32_t>(service.instances.size());
  if (n == 0) return kNone;
  if (n == 1) {
    const std::uint32_t only = service.instances[0];
    return excluded(exclude, only) ? kNone : only;
  }
  const std::uint32_t first = draw(service, random);
  const std::uint32_t second = draw_other(service, first, random);
  const std::uint32_t a = service.instances[first];
  const std::uint32_t b = service.instances[second];
  const bool a_ok = exclude.empty() || !excluded(exclude, a);
  const bool b_ok = exclude.empty() || !excluded(exclude, b);
  if (a_ok && b_ok) {
    const Cost cost_a = cost(a);
    const Cost cost_b = cost(b);
    const bool b_wins = cost_b < cost_a;  // a tie goes to the first drawn
    if (!(b_wins ? cost_b : cost_a).penalised) return b_wins ? b : a;
  }
  // A candidate was tried already, or both are penalised: the cheapest
  // eligible instance; equally cheap ones are chosen among by weight
  // (weighted reservoir sampling), so a retry keeps the weights' proportions.
  std::int64_t best = kNone;
  Cost best_cost;
  std::uint64_t tied_weight = 0;
  for (std::uint32_t index : service.instances) {
    if (excluded(exclude, index)) continue;
    const Cost c = cost(index);
    const std::uint64_t weight = snapshot.instances[index].weight;
    if (best == kNone || c < best_cost) {
      best = index;
      best_cost = c;
      tied_weight = weight;
    } else if (!(best_cost < c)) {
      tied_weight += weight;
      if (random.below(tied_weight) < weight) best = index;
    }
  }
  return best;
}

}  // namespace

std::int64_t least_request(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table,
                           std::span<const std::uint32_t> exclude, Random& random) {
  return two_choices(service, snapshot, exclude, random, [&](std::uint32_t index) {
    return Cost{false, static_cast<double>(table.instances[index]->in_flight) / snapshot.instances[index].weight};
  });
}

std::int64_t peak_ewma(const ServiceDef& service, const Snapshot& snapshot, WorkerTable& table,
                       std::span<const std::uint32_t> exclude, std::uint64_t now_ms, Random& random) {
  return two_choices(service, snapshot, exclude, random, [&](std::uint32_t index) {
    InstanceRuntime& state = *table.instances[index];
    state.ewma.touch(now_ms);
    return Cost{now_ms < state.avoid_until_ms,
                state.ewma.cost(state.in_flight, now_ms) / snapshot.instances[index].weight};
  });
}

}  // namespace tg::proxy::balancing
