#include "telemetry/queries.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace tg::control::telemetry {
namespace {

namespace v1 = tenantgate::v1;

constexpr std::uint64_t kDefaultTopWindowMs = 300'000;
constexpr std::uint32_t kDefaultTopLimit = 50, kMaxTopLimit = 1000;
constexpr std::uint64_t kMaxSeriesPoints = 10'000;

// Which series feed a scope: instance series when an instance is named
// (or Top rows by instance), route series otherwise.
bool matches(const SeriesKey& key, const RollupQuery& scope) {
  if (key.instance_series() != scope.instance_series) return false;
  return (scope.tenant.empty() || key.tenant == scope.tenant) && (scope.route.empty() || key.route == scope.route) &&
         (scope.service.empty() || key.service == scope.service) &&
         (scope.instance.empty() || key.instance == scope.instance);
}

double p(const RollupCounters& c, double q) { return percentile_ms(c.latency_buckets, c.latency_count, q); }

struct Row {
  SeriesKey key;  // the parts the row is keyed by; others ""
  RollupCounters counters;
};

double sort_value(const std::string& sort, const Row& row, double seconds) {
  if (sort == "rate") return static_cast<double>(row.counters.requests()) / seconds;
  if (sort == "p99") return p(row.counters, 0.99);
  return static_cast<double>(row.counters.errors());
}

// The value of `metric` for one step's counters.
double metric_value(const std::string& metric, const RollupCounters& c, std::uint64_t step_ms) {
  const double requests = static_cast<double>(c.requests());
  if (metric == "requests") return requests;
  if (metric == "request_rate") return requests / (static_cast<double>(step_ms) / 1000.0);
  if (metric == "errors") return static_cast<double>(c.errors());
  if (metric == "error_rate") return requests > 0 ? static_cast<double>(c.errors()) / requests : 0.0;
  if (metric == "gateway_errors") return static_cast<double>(c.gateway_errors);
  if (metric == "auth_failures") return static_cast<double>(c.auth_failures);
  if (metric == "rate_limited") return static_cast<double>(c.rate_limited);
  if (metric == "retries") return static_cast<double>(c.retries);
  if (metric == "bytes_in") return static_cast<double>(c.bytes_in);
  if (metric == "bytes_out") return static_cast<double>(c.bytes_out);
  if (metric == "p50_latency") return p(c, 0.50);
  if (metric == "p95_latency") return p(c, 0.95);
  if (metric == "p99_latency") return p(c, 0.99);
  return 0.0;
}

constexpr const char* kProxyMetrics[] = {"request_rate", "error_rate",  "requests",    "errors",      "gateway_errors",
                                         "auth_failures", "rate_limited", "retries",    "p50_latency", "p95_latency",
                                         "p99_latency",  "bytes_in",     "bytes_out"};

// Fills the points of [since, until) at `step` from per-step counters.
void fill_points(const SeriesPlan& plan, const std::map<std::int64_t, RollupCounters>& steps,
                 v1::SeriesResponse* response) {
  response->set_metric(plan.metric);
  response->set_step_ms(plan.step_ms);
  for (std::int64_t t = plan.scope.since_unix_ms; t < plan.scope.until_unix_ms;
       t += static_cast<std::int64_t>(plan.step_ms)) {
    v1::SeriesPoint* point = response->add_points();
    point->set_time_unix_ms(t);
    auto it = steps.find(t);
    if (it == steps.end()) {
      point->set_empty(true);
      continue;
    }
    point->set_value(metric_value(plan.metric, it->second, plan.step_ms));
  }
}

std::int64_t step_of(const SeriesPlan& plan, std::int64_t time_unix_ms) {
  const auto step = static_cast<std::int64_t>(plan.step_ms);
  return plan.scope.since_unix_ms + (time_unix_ms - plan.scope.since_unix_ms) / step * step;
}

}  // namespace

double percentile_ms(const std::array<std::uint64_t, metrics::kLatencyBuckets>& buckets, std::uint64_t count,
                     double q) {
  if (count == 0) return 0.0;
  const double rank = q * static_cast<double>(count);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(below + buckets[i]) >= rank) {
      const double lower = i == 0 ? 0.0 : static_cast<double>(metrics::kLatencyBoundsUs[i - 1]);
      if (i >= metrics::kLatencyBoundsUs.size()) return lower / 1000.0;  // +Inf: no upper bound
      const double upper = static_cast<double>(metrics::kLatencyBoundsUs[i]);
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return (lower + (upper - lower) * std::clamp(within, 0.0, 1.0)) / 1000.0;
    }
    below += buckets[i];
  }
  return static_cast<double>(metrics::kLatencyBoundsUs.back()) / 1000.0;
}

Status top(const Window& window, const v1::TopRequest& request, std::int64_t now_unix_ms, v1::TopResponse* response) {
  const std::string by = request.by().empty() ? "route" : request.by();
  if (by != "route" && by != "tenant" && by != "service" && by != "instance")
    return Status::invalid("by", "\"" + by + "\": expected tenant, route, service or instance");
  const std::string sort = request.sort().empty() ? "errors" : request.sort();
  if (sort != "errors" && sort != "rate" && sort != "p99" && sort != "name")
    return Status::invalid("sort", "\"" + sort + "\": expected errors, rate, p99 or name");
  const std::uint64_t window_ms = request.window_ms() == 0 ? kDefaultTopWindowMs : request.window_ms();
  if (window_ms < static_cast<std::uint64_t>(kBucketMs) || window_ms > static_cast<std::uint64_t>(kWindowMs))
    return Status::invalid("window_ms", std::to_string(window_ms) + ": between 10000 (10 s) and 3600000 (1 h)");
  const std::uint32_t limit = request.limit() == 0 ? kDefaultTopLimit : std::min(request.limit(), kMaxTopLimit);
  // Whole buckets: the current one (partly filled) and those before it.
  const std::int64_t since = bucket_of(now_unix_ms) - static_cast<std::int64_t>(window_ms) + kBucketMs;
  const bool instances = by == "instance";
  std::map<SeriesKey, Row> rows;
  window.for_each([&](const SeriesKey& key, const std::deque<Window::Bucket>& buckets) {
    if (key.instance_series() != instances) return;
    if (!request.tenant().empty() && key.tenant != request.tenant()) return;
    if (!request.service().empty() && key.service != request.service()) return;
    SeriesKey row_key;
    row_key.tenant = key.tenant;
    if (by == "route") {
      row_key.route = key.route;
      row_key.service = key.service;
    } else if (by == "service") {
      row_key.service = key.service;
    } else if (by == "instance") {
      row_key.service = key.service;
      row_key.instance = key.instance;
    }
    RollupCounters sum;
    bool any = false;
    for (auto it = buckets.rbegin(); it != buckets.rend() && it->start_unix_ms >= since; ++it) {
      it->add_to(sum);
      any = true;
    }
    if (!any) return;
    Row& row = rows[row_key];
    row.key = row_key;
    row.counters.add(sum);
  });
  const double seconds = static_cast<double>(window_ms) / 1000.0;
  std::vector<const Row*> ordered;
  ordered.reserve(rows.size());
  for (const auto& [key, row] : rows) ordered.push_back(&row);  // name order
  if (sort != "name")
    std::stable_sort(ordered.begin(), ordered.end(), [&](const Row* a, const Row* b) {
      return sort_value(sort, *a, seconds) > sort_value(sort, *b, seconds);
    });
  for (std::size_t i = 0; i < ordered.size() && i < limit; ++i) {
    const Row& row = *ordered[i];
    const RollupCounters& c = row.counters;
    v1::TopRow* out = response->add_rows();
    out->set_tenant(row.key.tenant);
    out->set_route(row.key.route);
    out->set_service(row.key.service);
    out->set_instance(row.key.instance);
    out->set_requests(c.requests());
    out->set_errors(c.errors());
    out->set_gateway_errors(c.gateway_errors);
    out->set_rate(static_cast<double>(c.requests()) / seconds);
    out->set_error_rate(c.requests() ? static_cast<double>(c.errors()) / static_cast<double>(c.requests()) : 0.0);
    out->set_p50_ms(p(c, 0.50));
    out->set_p95_ms(p(c, 0.95));
    out->set_p99_ms(p(c, 0.99));
    for (std::uint64_t n : c.requests_by_class) out->add_requests_by_class(n);
    out->set_auth_failures(c.auth_failures);
    out->set_rate_limited(c.rate_limited);
    out->set_retries(c.retries);
    out->set_bytes_in(c.bytes_in);
    out->set_bytes_out(c.bytes_out);
  }
  response->set_window_ms(window_ms);
  response->set_as_of_unix_ms(now_unix_ms);
  response->set_proxies_reporting(window.proxies_since(since));
  response->set_rows_not_listed(ordered.size() > limit ? ordered.size() - limit : 0);
  return {};
}

bool is_status_metric(const std::string& metric) {
  return metric == "cpu" || metric == "memory_bytes" || metric == "restarts" || metric == "load";
}

Status plan_series(const v1::SeriesRequest& request, std::int64_t now_unix_ms, SeriesPlan* plan) {
  const std::string& metric = request.metric();
  if (metric.empty()) return Status::invalid("metric", "required");
  if (is_status_metric(metric))
    return Status::invalid("metric", "\"" + metric + "\": status metrics come from container reports");
  if (std::find(std::begin(kProxyMetrics), std::end(kProxyMetrics), metric) == std::end(kProxyMetrics))
    return Status::invalid("metric", "\"" + metric +
                                         "\": unknown; expected request_rate, error_rate, requests, errors, "
                                         "gateway_errors, auth_failures, rate_limited, retries, p50_latency, "
                                         "p95_latency, p99_latency, bytes_in, bytes_out, cpu, memory_bytes, "
                                         "restarts or load");
  if (request.tenant().empty() && request.service().empty() && request.route().empty() && request.instance().empty())
    return Status::invalid("tenant", "a scope is required: tenant, service, route or instance");
  if (!request.route().empty() && !request.instance().empty())
    return Status::invalid("instance", "route and instance exclude each other (instance series have no route)");
  const std::uint64_t step = request.step_ms() == 0 ? 60'000 : request.step_ms();
  if (step % static_cast<std::uint64_t>(kBucketMs) != 0)
    return Status::invalid("step_ms", std::to_string(step) + ": a multiple of 10000 (10 s)");
  const std::int64_t until = request.until_unix_ms() == 0 ? now_unix_ms : request.until_unix_ms();
  const std::int64_t since = request.since_unix_ms() == 0 ? until - kWindowMs : request.since_unix_ms();
  if (since < 0 || until < 0) return Status::invalid(since < 0 ? "since_unix_ms" : "until_unix_ms", "must not be negative");
  if (since >= until) return Status::invalid("since_unix_ms", "must be before until_unix_ms");
  const auto signed_step = static_cast<std::int64_t>(step);
  // Whole steps, aligned to the step (so the same request gives the same points).
  const std::int64_t first = since - ((since % signed_step) + signed_step) % signed_step;
  const std::uint64_t points = static_cast<std::uint64_t>((until - first + signed_step - 1) / signed_step);
  if (points > kMaxSeriesPoints)
    return Status::invalid("step_ms", std::to_string(points) + " points; at most 10000 (a longer step or a shorter range)");
  plan->metric = metric;
  plan->scope.tenant = request.tenant();
  plan->scope.service = request.service();
  plan->scope.route = request.route();
  plan->scope.instance = request.instance();
  plan->scope.instance_series = !request.instance().empty();
  plan->scope.since_unix_ms = first;
  plan->scope.until_unix_ms = first + static_cast<std::int64_t>(points) * signed_step;
  plan->step_ms = step;
  const bool recent = first >= bucket_of(now_unix_ms) - kWindowMs;
  plan->from_memory = recent && step < 60'000;
  if (step < 60'000 && !recent)
    return Status::invalid("step_ms", "steps under a minute are kept for the last hour only; since_unix_ms is older");
  return {};
}

void series_from_window(const Window& window, const SeriesPlan& plan, v1::SeriesResponse* response) {
  std::map<std::int64_t, RollupCounters> steps;
  window.for_each([&](const SeriesKey& key, const std::deque<Window::Bucket>& buckets) {
    if (!matches(key, plan.scope)) return;
    for (const Window::Bucket& b : buckets) {
      if (b.start_unix_ms < plan.scope.since_unix_ms || b.start_unix_ms >= plan.scope.until_unix_ms) continue;
      b.add_to(steps[step_of(plan, b.start_unix_ms)]);
    }
  });
  fill_points(plan, steps, response);
}

void series_from_minutes(const std::vector<RollupMinute>& minutes, const SeriesPlan& plan,
                         v1::SeriesResponse* response) {
  std::map<std::int64_t, RollupCounters> steps;
  for (const RollupMinute& m : minutes) {
    if (m.minute_unix_ms < plan.scope.since_unix_ms || m.minute_unix_ms >= plan.scope.until_unix_ms) continue;
    steps[step_of(plan, m.minute_unix_ms)].add(m.counters);
  }
  fill_points(plan, steps, response);
}

}  // namespace tg::control::telemetry
