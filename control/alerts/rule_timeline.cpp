// The series file of `tgctl rules test` and the offline timeline
// (alerts/rule_timeline.hpp).
#include "alerts/rule_timeline.hpp"

#include "config/rules.hpp"
#include "config/yaml_errors.hpp"
#include "config/yaml_reader.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace tg::control::alerts {
namespace {

using config::Diagnostics;
using config::Presence;
using config::Value;
using Values = std::vector<std::optional<double>>;

constexpr std::int64_t kStart = 1'700'000'000'000;  // any time on a 10 s boundary
constexpr std::size_t kMaxSteps = 100'000;

// "1 2 3", "0x5 100x3 _": one value per step; VxN repeats V N times; "_" is a
// step without data. A YAML list of the same tokens works too.
std::optional<Values> read_values(Diagnostics& diagnostics, const Value& value) {
  std::vector<std::string> tokens;
  if (value.node.IsSequence()) {
    for (const auto& item : value.node) {
      if (!item.IsScalar()) {
        config::report(diagnostics, value, "expected numbers, \"VxN\" or \"_\", got " + config::describe(item));
        return std::nullopt;
      }
      tokens.push_back(item.Scalar());
    }
  } else if (value.node.IsScalar()) {
    std::istringstream words(value.node.Scalar());
    for (std::string word; words >> word;) tokens.push_back(word);
  } else {
    config::report(diagnostics, value, "expected values such as \"0x6 100x6 _\", got " + config::describe(value.node));
    return std::nullopt;
  }
  Values out;
  for (const std::string& token : tokens) {
    const auto x = token.find('x');
    const std::string head = token.substr(0, x);
    std::size_t repeat = 1;
    if (x != std::string::npos) {
      const std::string tail = token.substr(x + 1);
      auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), repeat);
      if (ec != std::errc{} || end != tail.data() + tail.size() || repeat == 0) {
        config::report(diagnostics, value, "bad repeat in \"" + token + "\": expected VxN with N >= 1");
        return std::nullopt;
      }
    }
    std::optional<double> v;
    if (head != "_") {
      double number = 0;
      auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), number);
      if (ec != std::errc{} || end != head.data() + head.size() || !std::isfinite(number) || number < 0) {
        config::report(diagnostics, value, "bad value \"" + token + "\": expected a number >= 0, VxN or _");
        return std::nullopt;
      }
      v = number;
    }
    if (out.size() + repeat > kMaxSteps) {
      config::report(diagnostics, value, "more than " + std::to_string(kMaxSteps) + " steps");
      return std::nullopt;
    }
    out.insert(out.end(), repeat, v);
  }
  return out;
}

auto values_into(Diagnostics& diagnostics, Values& slot) {
  return [&diagnostics, &slot](const Value& v) {
    if (auto values = read_values(diagnostics, v)) slot = std::move(*values);
  };
}

auto name_into(Diagnostics& diagnostics, std::string& slot) {
  return [&diagnostics, &slot](const Value& v) {
    if (auto text = config::read_name(diagnostics, v)) slot = *text;
  };
}

void read_file(Diagnostics& diagnostics, const YAML::Node& root, SeriesFile& out) {
  const Value top{root, diagnostics.locate(root.Mark()), std::string{}};
  std::map<std::string, Value> health_sites;
  config::read_mapping(diagnostics, top, {
      {"interval",
       [&](const Value& v) {
         if (auto d = config::read_duration(diagnostics, v, config::ZeroDuration::rejected)) out.interval_ms = d->count();
       }},
      {"proxies",
       [&](const Value& v) {
         if (auto n = config::read_integer(diagnostics, v, config::IntegerRange{0, 10'000}))
           out.proxies = static_cast<std::size_t>(*n);
       }},
      {"instances",
       [&](const Value& list) {
         config::read_sequence(diagnostics, list, [&](const Value& item) {
           InstanceState instance;
           config::read_mapping(diagnostics, item, {
               {"id", name_into(diagnostics, instance.id), Presence::required},
               {"service", name_into(diagnostics, instance.service)},
               {"tenant", name_into(diagnostics, instance.tenant)},
               {"labels",
                [&](const Value& v) {
                  if (auto labels = config::read_labels(diagnostics, v)) instance.labels = std::move(*labels);
                }},
           });
           out.instances.push_back(std::move(instance));
         });
       }},
      {"series",
       [&](const Value& list) {
         config::read_sequence(diagnostics, list, [&](const Value& item) {
           SeriesFile::Traffic t;
           std::optional<Value> errors_site;
           config::read_mapping(diagnostics, item, {
               {"tenant", name_into(diagnostics, t.key.tenant)},
               {"service", name_into(diagnostics, t.key.service)},
               {"route", name_into(diagnostics, t.key.route)},
               {"instance", name_into(diagnostics, t.key.instance)},
               {"requests", values_into(diagnostics, t.requests), Presence::required},
               {"errors",
                [&](const Value& v) {
                  errors_site = v;
                  values_into(diagnostics, t.errors)(v);
                }},
               {"timeouts", values_into(diagnostics, t.timeouts)},
               {"auth_failures", values_into(diagnostics, t.auth_failures)},
               {"rate_limited", values_into(diagnostics, t.rate_limited)},
               {"latency_ms", values_into(diagnostics, t.latency_ms)},
           });
           if (!t.key.instance.empty() && !t.key.route.empty())
             config::report(diagnostics, item, "a series is a route's (route) or an instance's (instance), not both");
           for (std::size_t i = 0; errors_site && i < t.errors.size(); ++i)
             if (t.errors[i].value_or(0) > (i < t.requests.size() ? t.requests[i].value_or(0) : 0)) {
               config::report(diagnostics, *errors_site,
                              "step " + std::to_string(i) + ": more errors than requests (errors are 5xx answers)");
               break;
             }
           out.series.push_back(std::move(t));
         });
       }},
      {"events",
       [&](const Value& list) {
         config::read_sequence(diagnostics, list, [&](const Value& item) {
           SeriesFile::Events e;
           config::read_mapping(diagnostics, item, {
               {"tenant", name_into(diagnostics, e.tenant)},
               {"service", name_into(diagnostics, e.service)},
               {"instance", name_into(diagnostics, e.instance)},
               {"kind", name_into(diagnostics, e.kind), Presence::required},
               {"level", name_into(diagnostics, e.level)},
               {"counts", values_into(diagnostics, e.counts), Presence::required},
           });
           out.events.push_back(std::move(e));
         });
       }},
      {"health",
       [&](const Value& list) {
         config::read_sequence(diagnostics, list, [&](const Value& item) {
           SeriesFile::Health h;
           config::read_mapping(diagnostics, item, {
               {"instance",
                [&](const Value& v) {
                  name_into(diagnostics, h.instance)(v);
                  health_sites.emplace(h.instance, v);
                },
                Presence::required},
               {"unhealthy", values_into(diagnostics, h.unhealthy)},
               {"ejected", values_into(diagnostics, h.ejected)},
           });
           out.health.push_back(std::move(h));
         });
       }},
      {"restarts",
       [&](const Value& list) {
         config::read_sequence(diagnostics, list, [&](const Value& item) {
           SeriesFile::Restarts r;
           config::read_mapping(diagnostics, item, {
               {"tenant", name_into(diagnostics, r.tenant)},
               {"service", name_into(diagnostics, r.service)},
               {"instance", name_into(diagnostics, r.instance), Presence::required},
               {"total", values_into(diagnostics, r.total), Presence::required},
           });
           out.restarts.push_back(std::move(r));
         });
       }},
  });
  for (const auto& [id, site] : health_sites) {
    bool known = false;
    for (const InstanceState& instance : out.instances) known |= instance.id == id;
    if (!known) config::report(diagnostics, site, "unknown instance \"" + id + "\"; declare it under instances");
  }
}

std::optional<double> at(const Values& values, std::size_t step) {
  return step < values.size() ? values[step] : std::nullopt;
}

std::uint64_t count_at(const Values& values, std::size_t step) {
  return static_cast<std::uint64_t>(std::llround(at(values, step).value_or(0)));
}

std::string offset_text(std::int64_t ms) {
  std::string out = "+";
  const std::int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s || rest || out.size() == 1) {
    out += std::to_string(s);
    if (rest) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, ".%03d", static_cast<int>(rest));
      out += buffer;
    }
    out += "s";
  }
  return out;
}

const char* state_name(v1::Alert::State state) {
  switch (state) {
    case v1::Alert::STATE_PENDING: return "pending";
    case v1::Alert::STATE_FIRING: return "firing";
    case v1::Alert::STATE_RESOLVED: return "resolved";
    default: return "inactive";
  }
}

}  // namespace

std::size_t SeriesFile::steps() const {
  std::size_t n = 0;
  const auto longest = [&n](const Values& v) { n = std::max(n, v.size()); };
  for (const Traffic& t : series)
    for (const Values* v : {&t.requests, &t.errors, &t.timeouts, &t.auth_failures, &t.rate_limited, &t.latency_ms})
      longest(*v);
  for (const Events& e : events) longest(e.counts);
  for (const Health& h : health) {
    longest(h.unhealthy);
    longest(h.ejected);
  }
  for (const Restarts& r : restarts) longest(r.total);
  return n;
}

SeriesLoad load_series(std::string_view text, const std::string& file_name) {
  Diagnostics diagnostics(file_name);
  SeriesFile file;
  const std::optional<YAML::Node> root = config::parse_document(diagnostics, text);
  if (root && config::check_duplicate_keys(diagnostics, *root)) {
    if (root->IsNull()) {
      diagnostics.error(config::SourceLocation{file_name, 1, 1}, "empty series file");
    } else {
      read_file(diagnostics, *root, file);
    }
  }
  SeriesLoad result;
  result.errors = diagnostics.take_sorted();
  if (result.errors.empty()) result.file = std::move(file);
  return result;
}

SeriesLoad load_series_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    SeriesLoad result;
    result.errors.push_back(config::ConfigError{config::SourceLocation{path, 0, 0}, "cannot read the file"});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_series(text.str(), path);
}

std::vector<TimelineEntry> run_timeline(const std::vector<v1::AlertRule>& rules, const SeriesFile& series,
                                        std::int64_t eval_interval_ms) {
  std::vector<TimelineEntry> timeline;
  telemetry::Window window;
  SignalWindow signals;
  std::vector<InstanceState> instances = series.instances;
  std::map<std::pair<std::size_t, std::string>, std::pair<Labels, Track>> tracks;  // (rule, fingerprint)
  const std::size_t steps = series.steps();
  const std::int64_t interval = series.interval_ms;
  const std::int64_t end = static_cast<std::int64_t>(steps) * interval;
  std::size_t fed = 0;
  for (std::int64_t t = eval_interval_ms; t <= end; t += eval_interval_ms) {
    const std::int64_t now = kStart + t;
    // The steps whose interval has passed, as the proxies would report them.
    for (; fed < steps && static_cast<std::int64_t>(fed + 1) * interval <= t; ++fed) {
      const std::int64_t at_time = kStart + static_cast<std::int64_t>(fed) * interval;
      for (const SeriesFile::Traffic& s : series.series) {
        if (!at(s.requests, fed)) continue;
        RollupCounters c;
        const std::uint64_t requests = count_at(s.requests, fed), errors = count_at(s.errors, fed);
        c.requests_by_class[1] = requests - std::min(errors, requests);
        c.requests_by_class[4] = std::min(errors, requests);
        c.auth_failures = count_at(s.auth_failures, fed);
        c.rate_limited = count_at(s.rate_limited, fed);
        c.latency_count = requests;
        const double latency_ms = at(s.latency_ms, fed).value_or(1.0);
        c.latency_buckets[metrics::latency_bucket(static_cast<std::uint64_t>(latency_ms * 1000.0))] = requests;
        c.latency_sum_us = static_cast<std::uint64_t>(latency_ms * 1000.0) * requests;
        window.add(s.key, at_time, c, now, count_at(s.timeouts, fed));
      }
      for (std::size_t p = 0; p < series.proxies; ++p) window.reported("proxy-" + std::to_string(p), at_time);
      for (const SeriesFile::Events& e : series.events)
        if (std::uint64_t n = count_at(e.counts, fed); n != 0)
          signals.add_event(e.tenant, e.service, e.instance, e.kind, e.level, at_time, n);
      for (const SeriesFile::Restarts& r : series.restarts)
        if (auto total = at(r.total, fed))
          signals.add_restarts(r.tenant, r.service, r.instance, std::llround(*total), at_time);
      for (const SeriesFile::Health& h : series.health)
        for (InstanceState& instance : instances)
          if (instance.id == h.instance) {
            if (auto v = at(h.unhealthy, fed)) instance.unhealthy = *v != 0;
            if (auto v = at(h.ejected, fed)) instance.ejected = *v != 0;
          }
    }
    window.prune(now);
    signals.prune(now);
    EvalInputs inputs;
    inputs.window = &window;
    inputs.signals = &signals;
    inputs.instances = instances;
    inputs.now_unix_ms = now;
    inputs.covered_since_unix_ms = kStart;
    inputs.proxies_connected = series.proxies;
    EvalIndex index(inputs);
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const v1::AlertRule& rule = rules[r];
      const RuleValue value = evaluate(rule, index);
      if (value.skipped) continue;
      const auto record = [&](const Labels& group, Track& track, bool condition, double v) {
        const Step s = step(track, rule, condition, v, now);
        if (s.changed) timeline.push_back(TimelineEntry{t, rule.name(), group, s.from, s.to, v});
      };
      std::map<std::string, bool> seen;
      for (const GroupValue& g : value.groups) {
        const std::string fp = fingerprint(rule.name(), g.group);
        seen[fp] = true;
        auto it = tracks.find({r, fp});
        if (it == tracks.end()) {
          if (!g.condition) continue;
          it = tracks.emplace(std::pair{r, fp}, std::pair{g.group, Track{}}).first;
        }
        record(g.group, it->second.second, g.condition, g.value);
      }
      for (auto it = tracks.lower_bound({r, std::string{}}); it != tracks.end() && it->first.first == r;) {
        if (!seen.contains(it->first.second)) record(it->second.first, it->second.second, false, 0);
        it = it->second.second.state == v1::Alert::STATE_RESOLVED ? tracks.erase(it) : std::next(it);
      }
    }
  }
  return timeline;
}

std::string format_entry(const TimelineEntry& entry) {
  std::string group = "{";
  for (const auto& [name, value] : entry.group) {
    if (group.size() > 1) group += ", ";
    group += name + "=\"" + value + "\"";
  }
  group += "}";
  char value[64];
  std::snprintf(value, sizeof value, "%g", entry.value);
  return offset_text(entry.offset_ms) + "  " + entry.rule + "  " + group + "  " + state_name(entry.from) + " -> " +
         state_name(entry.to) + "  value=" + value;
}

}  // namespace tg::control::alerts
