#include "ingest/status_series.hpp"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tg::control::ingest {
namespace {

enum class Metric { cpu, memory_bytes, restarts, load };

std::optional<Metric> metric_of(std::string_view name) {
  if (name == "cpu") return Metric::cpu;
  if (name == "memory_bytes") return Metric::memory_bytes;
  if (name == "restarts") return Metric::restarts;
  if (name == "load") return Metric::load;
  return std::nullopt;
}

double value_of(const StatusSample& s, Metric metric) {
  switch (metric) {
    case Metric::cpu: return s.cpu;
    case Metric::memory_bytes: return static_cast<double>(s.memory_bytes);
    case Metric::restarts: return static_cast<double>(s.restarts);
    case Metric::load: return s.load;
  }
  return 0;
}

bool averaged(Metric metric) { return metric == Metric::cpu || metric == Metric::load; }

// One instance's figure within one step.
struct InstanceStep {
  double sum = 0;  // cpu, load: for the mean
  std::size_t samples = 0;
  double last = 0;  // memory_bytes, restarts: the newest sample
  double value(Metric metric) const { return averaged(metric) ? sum / static_cast<double>(samples) : last; }
};

}  // namespace

bool is_status_metric(std::string_view metric) { return metric_of(metric).has_value(); }

tenantgate::v1::SeriesResponse status_series(Store& store, const tenantgate::v1::SeriesRequest& request,
                                             std::int64_t now_unix_ms) {
  const auto metric = metric_of(request.metric());
  if (!metric) throw std::invalid_argument("metric \"" + request.metric() + "\" is not a status metric");
  const std::int64_t step = request.step_ms() == 0 ? 60'000 : static_cast<std::int64_t>(request.step_ms());
  const std::int64_t until = request.until_unix_ms() == 0 ? now_unix_ms : request.until_unix_ms();
  const std::int64_t since = request.since_unix_ms() == 0 ? until - 3'600'000 : request.since_unix_ms();
  if (step <= 0 || until <= since) throw std::invalid_argument("the time range makes no points");
  // Steps start on multiples of the step, so two calls agree on buckets.
  const std::int64_t first = since - ((since % step) + step) % step;
  const std::size_t points = static_cast<std::size_t>((until - first + step - 1) / step);
  if (points > 10'000) throw std::invalid_argument("more than 10,000 points");

  tenantgate::v1::SeriesResponse response;
  response.set_metric(request.metric());
  response.set_step_ms(static_cast<std::uint64_t>(step));
  // step index -> instance -> figure
  std::vector<std::map<std::string, InstanceStep>> steps(points);
  if (request.route().empty() && (!request.service().empty() || !request.instance().empty())) {
    StatusQuery query;
    query.tenant = request.tenant();
    query.service = request.service();
    query.instance = request.instance();
    query.since_unix_ms = first;
    query.until_unix_ms = until;
    query.limit = 1'000'000;
    for (const StatusSample& s : store.list_status_samples(query)) {
      const auto index = static_cast<std::size_t>((s.time_unix_ms - first) / step);
      if (index >= points) continue;
      InstanceStep& figure = steps[index][s.instance];
      figure.sum += value_of(s, *metric);
      ++figure.samples;
      figure.last = value_of(s, *metric);  // oldest first: the last one wins
    }
  }
  for (std::size_t i = 0; i < points; ++i) {
    auto* point = response.add_points();
    point->set_time_unix_ms(first + static_cast<std::int64_t>(i) * step);
    if (steps[i].empty()) {
      point->set_empty(true);
      continue;
    }
    double total = 0;
    for (const auto& [instance, figure] : steps[i]) total += figure.value(*metric);
    point->set_value(averaged(*metric) ? total / static_cast<double>(steps[i].size()) : total);
  }
  return response;
}

}  // namespace tg::control::ingest
