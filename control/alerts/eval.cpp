// evaluate() and its round index (alerts/eval.hpp), the labels, fingerprint
// and annotations of an alert.
//
// Which data a metric reads (docs/alerting.md, "Rules"):
//   * request metrics sum the 10 s buckets of the window of the route series
//     in scope, or of the instance series when the scope or group_by names
//     an instance or instance labels;
//   * unhealthy_instances / ejected_instances count the instances in scope
//     as the registry (health) and the proxies' breaker events see them now;
//   * event_count / restarts sum the SignalWindow.
// The window is every 10 s bucket it overlaps, from the one holding
// now - window to the one holding now. The newest bucket is still filling
// (proxies report every telemetry interval), so reading the oldest one whole
// balances it; rates divide by the window (at least one bucket, 10 s).
#include "alerts/eval.hpp"

#include "config/alert_checks.hpp"
#include "telemetry/queries.hpp"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

namespace tg::control::alerts {
namespace {

using telemetry::bucket_of;
using telemetry::kBucketMs;
using telemetry::Window;

enum class Source { series, instances, signals, unknown };

Source source_of(const std::string& metric) {
  if (metric == "unhealthy_instances" || metric == "ejected_instances") return Source::instances;
  if (metric == "event_count" || metric == "restarts") return Source::signals;
  if (config::check_alert_metric(metric)) return Source::unknown;
  return Source::series;
}

bool grouped_by(const v1::AlertRule& rule, const char* name) {
  return std::find(rule.group_by().begin(), rule.group_by().end(), name) != rule.group_by().end();
}

// The first bucket of the window ending at `now`.
std::int64_t window_since(std::int64_t now, std::uint64_t window_ms) {
  return bucket_of(now - static_cast<std::int64_t>(window_ms));
}

std::string format_value(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) return "0";
  return std::string(buffer, end);
}

bool labels_match(const v1::AlertScope& scope, const InstanceState* instance) {
  if (scope.labels().empty()) return true;
  if (instance == nullptr) return false;
  for (const auto& [name, value] : scope.labels()) {
    auto it = instance->labels.find(name);
    if (it == instance->labels.end() || it->second != value) return false;
  }
  return true;
}

// One group being summed: its labels and what it has read.
struct Acc {
  Labels labels;
  RollupCounters counters;
  std::uint64_t timeouts = 0;
  double count = 0;  // instances or signals
  bool any = false;
};

// The groups of a rule: one fixed group without group_by, else one per
// distinct value tuple, keyed by the values joined with a separator that
// names cannot hold (check_name forbids control characters).
class Groups {
 public:
  explicit Groups(const v1::AlertRule& rule) : rule_(rule), grouped_(!rule.group_by().empty()) {
    if (!grouped_) single_.any = true;  // exactly one group, data or not
  }

  Acc& at(const std::string& tenant, const std::string& service, const std::string& route,
          const std::string& instance) {
    if (!grouped_) return single_;
    key_.clear();
    for (const std::string& name : rule_.group_by()) {
      key_ += value_of(name, tenant, service, route, instance);
      key_ += '\x1f';
    }
    auto [it, added] = groups_.try_emplace(key_);
    if (added)
      for (const std::string& name : rule_.group_by())
        it->second.labels[name] = value_of(name, tenant, service, route, instance);
    return it->second;
  }

  template <typename Visit>
  void for_each(Visit&& visit) {
    if (!grouped_) {
      visit(single_);
      return;
    }
    std::vector<Acc*> ordered;
    ordered.reserve(groups_.size());
    for (auto& [key, acc] : groups_) ordered.push_back(&acc);
    std::sort(ordered.begin(), ordered.end(), [](const Acc* a, const Acc* b) { return a->labels < b->labels; });
    for (Acc* acc : ordered) visit(*acc);
  }

 private:
  static const std::string& value_of(const std::string& name, const std::string& tenant, const std::string& service,
                                     const std::string& route, const std::string& instance) {
    if (name == "tenant") return tenant;
    if (name == "service") return service;
    if (name == "route") return route;
    return instance;
  }

  const v1::AlertRule& rule_;
  bool grouped_;
  Acc single_;
  std::unordered_map<std::string, Acc> groups_;
  std::string key_;
};

double series_value(const std::string& metric, const Acc& acc, double seconds) {
  const RollupCounters& c = acc.counters;
  const double requests = static_cast<double>(c.requests());
  if (metric == "request_rate" || metric == "no_traffic") return seconds > 0 ? requests / seconds : 0.0;
  if (metric == "error_rate") return requests > 0 ? static_cast<double>(c.errors()) / requests : 0.0;
  if (metric == "timeout_rate") return requests > 0 ? static_cast<double>(acc.timeouts) / requests : 0.0;
  if (metric == "auth_failures") return static_cast<double>(c.auth_failures);
  if (metric == "rate_limited") return static_cast<double>(c.rate_limited);
  if (metric == "p50_latency") return telemetry::percentile_ms(c.latency_buckets, c.latency_count, 0.50);
  if (metric == "p95_latency") return telemetry::percentile_ms(c.latency_buckets, c.latency_count, 0.95);
  if (metric == "p99_latency") return telemetry::percentile_ms(c.latency_buckets, c.latency_count, 0.99);
  return 0.0;
}

}  // namespace

struct EvalIndex::State {
  struct Series {
    const SeriesKey* key = nullptr;
    const std::deque<Window::Bucket>* buckets = nullptr;
    const InstanceState* instance = nullptr;  // instance series of a registered instance
  };
  struct Sum {
    RollupCounters counters;
    std::uint64_t timeouts = 0;
    bool any = false;  // a bucket in the window
  };
  using Postings = std::unordered_map<std::string, std::vector<std::uint32_t>>;
  struct Set {
    std::vector<Series> series;
    Postings by_tenant, by_service, by_route, by_instance;
    std::unordered_map<std::int64_t, std::vector<Sum>> sums;  // window start → per series (lazily)
  };
  Set routes, instances;  // route series (and unrouted), instance series
  // Signal counts per (tenant, service, instance), once per (metric, kind,
  // level, window start) for all the rules that share them.
  struct SignalCount {
    std::string tenant, service, instance;
    double count = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::int64_t>, std::vector<SignalCount>> signal_counts;
  std::unordered_map<std::string, const InstanceState*> instance_by_id;
  std::unordered_map<std::string, std::vector<const InstanceState*>> instances_by_service, instances_by_tenant;

  const std::vector<Sum>& sums(Set& set, std::int64_t since, std::int64_t now) {
    auto [it, added] = set.sums.try_emplace(since);
    if (!added) return it->second;
    std::vector<Sum>& out = it->second;
    out.resize(set.series.size());
    for (std::size_t i = 0; i < set.series.size(); ++i) {
      const auto& buckets = *set.series[i].buckets;
      for (auto b = buckets.rbegin(); b != buckets.rend() && b->start_unix_ms >= since; ++b) {
        if (b->start_unix_ms > now) continue;
        b->add_to(out[i].counters);
        out[i].timeouts += b->timeouts;
        out[i].any = true;
      }
    }
    return out;
  }
};

EvalIndex::EvalIndex(const EvalInputs& inputs) : inputs_(inputs), state_(std::make_unique<State>()) {
  State& s = *state_;
  for (const InstanceState& instance : inputs.instances) {
    s.instance_by_id.emplace(instance.id, &instance);
    s.instances_by_service[instance.service].push_back(&instance);
    s.instances_by_tenant[instance.tenant].push_back(&instance);
  }
  if (inputs.window == nullptr) return;
  inputs.window->for_each([&s](const SeriesKey& key, const std::deque<Window::Bucket>& buckets) {
    State::Set& set = key.instance_series() ? s.instances : s.routes;
    const auto n = static_cast<std::uint32_t>(set.series.size());
    State::Series series{&key, &buckets, nullptr};
    if (key.instance_series()) {
      auto it = s.instance_by_id.find(key.instance);
      if (it != s.instance_by_id.end()) series.instance = it->second;
      set.by_instance[key.instance].push_back(n);
    } else {
      set.by_route[key.route].push_back(n);
    }
    set.by_tenant[key.tenant].push_back(n);
    set.by_service[key.service].push_back(n);
    set.series.push_back(series);
  });
}

EvalIndex::~EvalIndex() = default;

bool is_alert_metric(const std::string& metric) { return !config::check_alert_metric(metric); }

bool compare(double value, const std::string& op, double threshold) {
  if (op == ">") return value > threshold;
  if (op == ">=") return value >= threshold;
  if (op == "<") return value < threshold;
  if (op == "<=") return value <= threshold;
  if (op == "==") return value == threshold;
  if (op == "!=") return value != threshold;
  return false;
}

RuleValue evaluate(const v1::AlertRule& rule, const EvalInputs& inputs) {
  EvalIndex index(inputs);
  return evaluate(rule, index);
}

RuleValue evaluate(const v1::AlertRule& rule, EvalIndex& index) {
  const EvalInputs& in = index.inputs();
  EvalIndex::State& s = *index.state_;
  const v1::AlertScope& scope = rule.scope();
  const v1::AlertCondition& condition = rule.condition();
  const std::string& metric = condition.metric();
  RuleValue out;
  const auto skip = [&out](std::string reason) {
    out.skipped = true;
    out.skip_reason = std::move(reason);
    return out;
  };
  if (rule.disabled()) return skip("disabled");
  const Source source = source_of(metric);
  if (source == Source::unknown) return skip("unknown metric \"" + metric + "\"");
  const std::uint64_t window_ms = rule.window_ms() == 0 ? 60'000 : rule.window_ms();
  const std::int64_t now = in.now_unix_ms;
  // A window reaching back before the data is complete would read a partial
  // count: decide nothing (a firing alert stays firing, no_traffic waits).
  if (source != Source::instances && now - static_cast<std::int64_t>(window_ms) < in.covered_since_unix_ms)
    return skip("window not covered yet");
  const std::int64_t since = window_since(now, window_ms);
  Groups groups(rule);

  if (source == Source::series) {
    const bool use_instances = !scope.instance().empty() || !scope.labels().empty() || grouped_by(rule, "instance");
    EvalIndex::State::Set& set = use_instances ? s.instances : s.routes;
    // The narrowest posting list the scope names, else every series.
    const std::vector<std::uint32_t>* postings = nullptr;
    static const std::vector<std::uint32_t> none;
    const auto narrow = [&postings](const EvalIndex::State::Postings& by, const std::string& value) {
      if (value.empty() || postings != nullptr) return;
      auto it = by.find(value);
      postings = it == by.end() ? &none : &it->second;
    };
    if (use_instances) narrow(set.by_instance, scope.instance());
    if (!use_instances) narrow(set.by_route, scope.route());
    narrow(set.by_service, scope.service());
    narrow(set.by_tenant, scope.tenant());
    const std::vector<EvalIndex::State::Sum>& sums = s.sums(set, since, now);
    const bool no_traffic = metric == "no_traffic";
    const auto visit = [&](std::uint32_t i) {
      const EvalIndex::State::Series& series = set.series[i];
      const SeriesKey& key = *series.key;
      if ((!scope.tenant().empty() && key.tenant != scope.tenant()) ||
          (!scope.service().empty() && key.service != scope.service()) ||
          (!scope.route().empty() && key.route != scope.route()) ||
          (!scope.instance().empty() && key.instance != scope.instance()) || !labels_match(scope, series.instance))
        return;
      const EvalIndex::State::Sum& sum = sums[i];
      // no_traffic groups every series of the hour: silence is its signal.
      if (!sum.any && !no_traffic) return;
      Acc& acc = groups.at(key.tenant, key.service, key.route, key.instance);
      acc.any = true;
      if (sum.any) {
        acc.counters.add(sum.counters);
        acc.timeouts += sum.timeouts;
      }
    };
    if (postings != nullptr) {
      for (std::uint32_t i : *postings) visit(i);
    } else {
      for (std::uint32_t i = 0; i < set.series.size(); ++i) visit(i);
    }
    const double seconds = static_cast<double>(std::max<std::int64_t>(static_cast<std::int64_t>(window_ms), kBucketMs)) / 1000.0;
    const bool all_reported =
        in.proxies_connected > 0 &&
        in.window->proxies_since(now - static_cast<std::int64_t>(window_ms)) >= in.proxies_connected;
    groups.for_each([&](Acc& acc) {
      if (!acc.any) return;
      GroupValue g;
      g.group = acc.labels;
      g.value = series_value(metric, acc, seconds);
      g.condition = no_traffic ? acc.counters.requests() == 0 && all_reported
                               : compare(g.value, condition.op(), condition.threshold());
      out.groups.push_back(std::move(g));
    });
    return out;
  }

  if (source == Source::instances) {
    const bool ejected = metric == "ejected_instances";
    const std::vector<const InstanceState*>* candidates = nullptr;
    std::vector<const InstanceState*> one;
    if (!scope.instance().empty()) {
      auto it = s.instance_by_id.find(scope.instance());
      if (it != s.instance_by_id.end()) one.push_back(it->second);
      candidates = &one;
    } else if (!scope.service().empty() || !scope.tenant().empty()) {
      auto& by = scope.service().empty() ? s.instances_by_tenant : s.instances_by_service;
      auto it = by.find(scope.service().empty() ? scope.tenant() : scope.service());
      candidates = it == by.end() ? &one : &it->second;
    }
    const auto visit = [&](const InstanceState& instance) {
      if ((!scope.tenant().empty() && instance.tenant != scope.tenant()) ||
          (!scope.service().empty() && instance.service != scope.service()) || !labels_match(scope, &instance))
        return;
      Acc& acc = groups.at(instance.tenant, instance.service, "", instance.id);
      acc.any = true;
      if (ejected ? instance.ejected : instance.unhealthy) acc.count += 1;
    };
    if (candidates != nullptr) {
      for (const InstanceState* instance : *candidates) visit(*instance);
    } else {
      for (const InstanceState& instance : in.instances) visit(instance);
    }
  } else {  // signals
    const auto visit = [&](const std::string& tenant, const std::string& service, const std::string& instance,
                           std::uint64_t count) {
      if ((!scope.tenant().empty() && tenant != scope.tenant()) ||
          (!scope.service().empty() && service != scope.service()) ||
          (!scope.instance().empty() && instance != scope.instance()))
        return;
      if (!scope.labels().empty()) {
        auto it = s.instance_by_id.find(instance);
        if (!labels_match(scope, it == s.instance_by_id.end() ? nullptr : it->second)) return;
      }
      Acc& acc = groups.at(tenant, service, "", instance);
      acc.any = true;
      acc.count += static_cast<double>(count);
    };
    const std::int64_t until = now + 1;  // the bucket holding now
    const bool events = metric == "event_count";
    auto [it, added] = s.signal_counts.try_emplace(
        {metric, events ? condition.kind() : std::string{}, events ? condition.level() : std::string{}, since});
    if (added && in.signals != nullptr) {
      const auto keep = [&list = it->second](const std::string& tenant, const std::string& service,
                                             const std::string& instance, std::uint64_t count) {
        list.push_back({tenant, service, instance, static_cast<double>(count)});
      };
      if (events) {
        in.signals->visit_events(condition.kind(), condition.level(), since, until, keep);
      } else {
        in.signals->visit_restarts(since, until, keep);
      }
    }
    for (const auto& c : it->second) visit(c.tenant, c.service, c.instance, static_cast<std::uint64_t>(c.count));
  }
  groups.for_each([&](Acc& acc) {
    if (!acc.any) return;
    GroupValue g;
    g.group = acc.labels;
    g.value = acc.count;
    g.condition = compare(g.value, condition.op(), condition.threshold());
    out.groups.push_back(std::move(g));
  });
  return out;
}

Labels alert_labels(const v1::AlertRule& rule, const Labels& group) {
  Labels labels;
  labels["alertname"] = rule.name();
  if (!rule.severity().empty()) labels["severity"] = rule.severity();
  const v1::AlertScope& scope = rule.scope();
  if (!scope.tenant().empty()) labels["tenant"] = scope.tenant();
  if (!scope.service().empty()) labels["service"] = scope.service();
  if (!scope.route().empty()) labels["route"] = scope.route();
  if (!scope.instance().empty()) labels["instance"] = scope.instance();
  for (const auto& [name, value] : group) labels[name] = value;
  return labels;
}

std::string fingerprint(const std::string& rule, const Labels& group) {
  // Every part followed by a NUL, which names and label values cannot hold:
  // no two (rule, labels) inputs hash the same text.
  std::string text = rule;
  text += '\0';
  for (const auto& [name, value] : group) {
    text += name;
    text += '\0';
    text += value;
    text += '\0';
  }
  const XXH64_hash_t hash = XXH3_64bits(text.data(), text.size());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(15 - i)] = hex[(hash >> (4 * i)) & 0xf];
  return out;
}

std::string render_annotation(const std::string& text, const Labels& labels, double value) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, pos, open - pos);
    std::string_view inner(text.data() + open + 2, close - open - 2);
    while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    if (inner == "$value") {
      out += format_value(value);
    } else if (inner.starts_with("$labels.") && inner.size() > 8) {
      auto it = labels.find(std::string(inner.substr(8)));
      if (it != labels.end()) out += it->second;
    } else {
      out.append(text, open, close + 2 - open);  // not ours: unchanged
    }
    pos = close + 2;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

}  // namespace tg::control::alerts
