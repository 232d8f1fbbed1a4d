// Cost of one alert evaluation round (docs/performance.md): 10,000 rules over
// 1,000 series, every --eval-interval in tg-control.
// A microbenchmark, not a test: built with the tests, never run by ctest or CI.
//
//   build/bin/alert-eval-bench [rounds, default 20] [rules, default 10000] [series, default 1000]
//
// The window holds a full hour of 10 s buckets for every series (route series
// of 100 tenants x 10 routes by default), 1,000 registered instances and an
// hour of events. The rules are a mix as an operator would write them:
//   55%  error_rate / request_rate / p99_latency of one tenant (1 m or 5 m), half grouped by route
//   15%  error_rate of one route
//   1%   error_rate over everything, grouped by tenant
//   10%  unhealthy_instances of one service
//   10%  event_count of one tenant, grouped by instance
//   9%   no_traffic of one route
// One round = build the round's EvalIndex + evaluate every rule (what the
// engine does before stepping the lifecycles). Also timed: evaluate() without
// a shared index, on a sample of rules, for comparison.
#include "alerts/eval.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace tg::control;
using namespace tg::control::alerts;
namespace v1 = tenantgate::v1;

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kNow = 1'700'000'000'000 + 5'000;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

v1::AlertRule make_rule(int i, int tenants, int routes_per_tenant, int services) {
  v1::AlertRule r;
  r.set_name("rule-" + std::to_string(i));
  const int kind = i % 100;
  const int tenant = (i / 100) % tenants;
  const int route = (i / 7) % routes_per_tenant;
  auto* c = r.mutable_condition();
  c->set_op(">");
  r.set_window_ms(i % 2 ? 60'000 : 300'000);
  const std::string t = "t" + std::to_string(tenant);
  if (kind < 55) {
    static const char* metrics[] = {"error_rate", "request_rate", "p99_latency"};
    c->set_metric(metrics[kind % 3]);
    c->set_threshold(kind % 3 == 0 ? 0.05 : 100);
    r.mutable_scope()->set_tenant(t);
    if (kind % 2) r.add_group_by("route");
  } else if (kind < 70) {
    c->set_metric("error_rate");
    c->set_threshold(0.05);
    r.mutable_scope()->set_route(t + "-r" + std::to_string(route));
  } else if (kind < 71) {
    c->set_metric("error_rate");
    c->set_threshold(0.05);
    r.add_group_by("tenant");
  } else if (kind < 81) {
    c->set_metric("unhealthy_instances");
    c->set_threshold(0);
    r.mutable_scope()->set_service("s" + std::to_string(i % services));
  } else if (kind < 91) {
    c->set_metric("event_count");
    c->set_kind("exception");
    c->set_threshold(20);
    r.mutable_scope()->set_tenant(t);
    r.add_group_by("instance");
  } else {
    c->set_metric("no_traffic");
    r.mutable_scope()->set_route(t + "-r" + std::to_string(route));
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  const int rule_count = argc > 2 ? std::atoi(argv[2]) : 10'000;
  const int series_count = argc > 3 ? std::atoi(argv[3]) : 1'000;
  const int tenants = std::max(1, series_count / 10), routes_per_tenant = 10;
  const int services = tenants * 2;

  telemetry::Window window;
  SignalWindow signals;
  EvalInputs inputs;
  inputs.window = &window;
  inputs.signals = &signals;
  inputs.now_unix_ms = kNow;
  inputs.proxies_connected = 4;
  for (int s = 0; s < series_count; ++s) {
    const int tenant = s / routes_per_tenant % tenants;
    const std::string t = "t" + std::to_string(tenant);
    const SeriesKey key{t, t + "-r" + std::to_string(s % routes_per_tenant), "s" + std::to_string(tenant * 2 + s % 2), ""};
    for (std::int64_t b = kNow - telemetry::kWindowMs + telemetry::kBucketMs; b <= kNow; b += telemetry::kBucketMs) {
      RollupCounters c;
      c.requests_by_class[1] = 1000 + static_cast<std::uint64_t>(s);
      c.requests_by_class[4] = static_cast<std::uint64_t>(s % 17);
      c.latency_count = c.requests();
      c.latency_buckets[static_cast<std::size_t>(4 + s % 6)] = c.latency_count;
      window.add(key, b, c, kNow);
    }
  }
  for (int p = 0; p < 4; ++p) window.reported("p" + std::to_string(p), kNow - 10'000);
  for (int i = 0; i < 1'000; ++i) {
    InstanceState instance;
    instance.id = "i" + std::to_string(i);
    instance.service = "s" + std::to_string(i % services);
    instance.tenant = "t" + std::to_string(i % services / 2);
    instance.unhealthy = i % 13 == 0;
    inputs.instances.push_back(instance);
    for (std::int64_t b = kNow - 600'000; b <= kNow; b += 60'000)
      signals.add_event(instance.tenant, instance.service, instance.id, "exception", "error", b, 3);
  }
  std::vector<v1::AlertRule> rules;
  for (int i = 0; i < rule_count; ++i) rules.push_back(make_rule(i, tenants, routes_per_tenant, services));

  std::printf("alert-eval-bench: %d rules, %zu series (%zu buckets), %zu instances, %d rounds\n", rule_count,
              window.series_count(), window.bucket_count(), inputs.instances.size(), rounds);
  std::vector<double> times;
  std::size_t groups = 0, firing = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto start = Clock::now();
    EvalIndex index(inputs);
    groups = firing = 0;
    for (const v1::AlertRule& rule : rules) {
      const RuleValue value = evaluate(rule, index);
      groups += value.groups.size();
      for (const GroupValue& g : value.groups) firing += g.condition ? 1 : 0;
    }
    times.push_back(ms_since(start));
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  std::printf("round (index + every rule): min %.2f ms, median %.2f ms, max %.2f ms; %.2f us per rule (median); "
              "%zu groups, %zu with the condition true\n",
              times.front(), median, times.back(), median * 1000.0 / rule_count, groups, firing);

  // Without a shared index: evaluate(rule, inputs) builds one per call.
  const int sample = std::min(rule_count, 200);
  const auto start = Clock::now();
  for (int i = 0; i < sample; ++i) (void)evaluate(rules[static_cast<std::size_t>(i * (rule_count / sample))], inputs);
  const double alone = ms_since(start);
  std::printf("without a shared index: %.2f us per rule (%d rules sampled), i.e. %.0f ms for all %d\n",
              alone * 1000.0 / sample, sample, alone / sample * rule_count, rule_count);
  return 0;
}
