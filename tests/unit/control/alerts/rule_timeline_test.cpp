// The offline timeline of `tgctl rules test`: series files read with
// FILE:LINE:COLUMN errors, and the alert timelines of for, keep_firing_for,
// flapping, event_count, unhealthy instances and no_traffic.
#include "alerts/rule_timeline.hpp"

#include "alerts/convert.hpp"

#include <catch2/catch.hpp>

namespace tg::control::alerts {
namespace {

std::vector<v1::AlertRule> rules_of(const std::string& yaml) {
  const config::LoadResult loaded = config::load_string(yaml, "rules.yaml", config::Reader::control);
  INFO(loaded.error_text());
  REQUIRE(loaded.ok());
  std::vector<v1::AlertRule> rules;
  for (const auto& rule : loaded.config->alert_rules) {
    rules.push_back(to_proto(rule, "rules.yaml"));
    REQUIRE(check_rule(rules.back()).ok());
  }
  return rules;
}

SeriesFile series_of(const std::string& yaml) {
  SeriesLoad loaded = load_series(yaml, "series.yaml");
  for (const auto& error : loaded.errors) UNSCOPED_INFO(error.to_string());
  REQUIRE(loaded.file.has_value());
  return *loaded.file;
}

std::vector<std::string> timeline(const std::string& rules, const std::string& series, std::int64_t eval_ms = 5'000) {
  std::vector<std::string> lines;
  for (const auto& entry : run_timeline(rules_of(rules), series_of(series), eval_ms)) lines.push_back(format_entry(entry));
  return lines;
}

std::vector<std::string> series_errors(const std::string& yaml) {
  std::vector<std::string> lines;
  for (const auto& error : load_series(yaml, "series.yaml").errors) lines.push_back(error.to_string());
  return lines;
}

TEST_CASE("rules test: for gives pending then firing, keep_firing_for resolves late", "[alerts][timeline]") {
  const std::string rules =
      "alert_rules:\n"
      "  - name: errors\n"
      "    condition: { metric: error_rate, op: \">\", threshold: 0.1 }\n"
      "    window: 30s\n"
      "    for: 20s\n"
      "    keep_firing_for: 30s\n";
  const std::string series =
      "interval: 10s\n"
      "series:\n"
      "  - { tenant: acme, service: sim, route: web, requests: 100x18, errors: 0x3 50x6 0x9 }\n";
  // Step i (10 s each) is visible from (i + 1) x 10 s; the 30 s window reads
  // the buckets it overlaps. Errors are seen from 40 s to 115 s.
  CHECK(timeline(rules, series) == std::vector<std::string>{
                                       "+40s  errors  {}  inactive -> pending  value=0.166667",
                                       "+1m  errors  {}  pending -> firing  value=0.5",
                                       "+2m30s  errors  {}  firing -> resolved  value=0",
                                   });
}

TEST_CASE("rules test: a flapping condition with keep_firing_for is one episode", "[alerts][timeline]") {
  const std::string rule =
      "alert_rules:\n"
      "  - name: flap\n"
      "    condition: { metric: error_rate, op: \">\", threshold: 0.1 }\n"
      "    window: 10s\n"
      "    keep_firing_for: KEEP\n";
  const std::string series =
      "series:\n"
      "  - { route: web, requests: 100x20, errors: [50, 0, 50, 0, 50, 0, 50, 0, 50, 0x11] }\n";
  const auto with = [&](const std::string& keep) {
    std::string text = rule;
    text.replace(text.find("KEEP"), 4, keep);
    return text;
  };
  CHECK(timeline(with("30s"), series) == std::vector<std::string>{
                                            "+10s  flap  {}  inactive -> firing  value=0.5",
                                            "+2m10s  flap  {}  firing -> resolved  value=0",
                                        });
  // Without keep_firing_for every flap is an episode of its own.
  const auto flapping = timeline(with("0s"), series);
  CHECK(flapping.size() == 10);
  CHECK(flapping[1] == "+20s  flap  {}  firing -> resolved  value=0");
}

TEST_CASE("rules test: event_count per instance, unhealthy instances, no_traffic", "[alerts][timeline]") {
  const std::string rules =
      "alert_rules:\n"
      "  - name: exceptions\n"
      "    condition: { metric: event_count, kind: exception, level: error, op: \">=\", threshold: 20 }\n"
      "    window: 1m\n"
      "    group_by: [instance]\n"
      "  - name: unhealthy\n"
      "    scope: { service: sim }\n"
      "    condition: { metric: unhealthy_instances, op: \">\", threshold: 0 }\n"
      "  - name: quiet\n"
      "    scope: { route: web }\n"
      "    condition: { metric: no_traffic }\n"
      "    window: 30s\n";
  const std::string series =
      "interval: 10s\n"
      "proxies: 2\n"
      "instances:\n"
      "  - { id: sim-a, service: sim, tenant: acme }\n"
      "series:\n"
      "  - { route: web, requests: 5x6 0x6 }\n"
      "events:\n"
      "  - { instance: sim-a, kind: exception, level: critical, counts: 0x6 20 0x5 }\n"
      "  - { instance: sim-a, kind: exception, level: info, counts: 100x12 }\n"
      "health:\n"
      "  - { instance: sim-a, unhealthy: 0x2 1x2 0x8 }\n";
  CHECK(timeline(rules, series, 10'000) == std::vector<std::string>{
                                               "+30s  unhealthy  {}  inactive -> firing  value=1",
                                               "+50s  unhealthy  {}  firing -> resolved  value=0",
                                               "+1m10s  exceptions  {instance=\"sim-a\"}  inactive -> firing  value=20",
                                               "+1m30s  quiet  {}  inactive -> firing  value=0",
                                           });
}

TEST_CASE("rules test: series file errors at their position", "[alerts][timeline]") {
  CHECK(series_errors("interval: 10s\nseries:\n  - { route: web, requests: 1 2x0 }\n") ==
        std::vector<std::string>{"series.yaml:3:29: series[0].requests: bad repeat in \"2x0\": expected VxN with N >= 1"});
  CHECK(series_errors("series:\n  - { route: web, requests: 1 -2 }\n") ==
        std::vector<std::string>{"series.yaml:2:29: series[0].requests: bad value \"-2\": expected a number >= 0, VxN or _"});
  CHECK(series_errors("series:\n  - { route: web, requests: 1, errors: 2 }\n") ==
        std::vector<std::string>{"series.yaml:2:40: series[0].errors: step 0: more errors than requests (errors are 5xx answers)"});
  CHECK(series_errors("health:\n  - { instance: nope, unhealthy: 1 }\nbogus: 1\n") ==
        std::vector<std::string>{
            "series.yaml:2:17: health[0].instance: unknown instance \"nope\"; declare it under instances",
            "series.yaml:3:1: unknown top-level key \"bogus\"; allowed keys: interval, proxies, instances, series, "
            "events, health, restarts"});
  const SeriesFile f = series_of("series:\n  - { route: web, requests: \"1 _ 3x2\" }\n");
  REQUIRE(f.series.size() == 1);
  CHECK(f.steps() == 4);
  CHECK_FALSE(f.series[0].requests[1].has_value());
  CHECK(f.series[0].requests[3] == 3);
}

}  // namespace
}  // namespace tg::control::alerts
