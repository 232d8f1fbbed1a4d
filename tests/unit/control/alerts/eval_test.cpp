// Evaluation of alert rules over a hand-built Window and SignalWindow: each
// metric's definition, scope and label filters, group_by, window coverage,
// no_traffic's conditions, and the labels, fingerprint and annotations.
#include "alerts/eval.hpp"

#include <catch2/catch.hpp>

namespace tg::control::alerts {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;  // a multiple of 10 s

RollupCounters counts(std::uint64_t ok, std::uint64_t failed, std::size_t latency_bucket = 4) {
  RollupCounters c;
  c.requests_by_class[1] = ok;
  c.requests_by_class[4] = failed;
  c.latency_count = ok + failed;
  c.latency_buckets[latency_bucket] = ok + failed;
  return c;
}

SeriesKey route_series(const std::string& tenant, const std::string& route, const std::string& service) {
  return SeriesKey{tenant, route, service, ""};
}
SeriesKey instance_series(const std::string& tenant, const std::string& service, const std::string& instance) {
  return SeriesKey{tenant, "", service, instance};
}

v1::AlertRule rule(const std::string& metric, const std::string& op, double threshold) {
  v1::AlertRule r;
  r.set_name("r");
  r.mutable_condition()->set_metric(metric);
  r.mutable_condition()->set_op(op);
  r.mutable_condition()->set_threshold(threshold);
  r.set_window_ms(60'000);
  return r;
}

struct Fixture {
  telemetry::Window window;
  SignalWindow signals;
  EvalInputs inputs;
  Fixture() {
    inputs.window = &window;
    inputs.signals = &signals;
    inputs.now_unix_ms = kT0 + 5'000;
  }
  RuleValue eval(const v1::AlertRule& r) { return evaluate(r, inputs); }
};

TEST_CASE("alert eval: error_rate is 5xx over all requests of the window, 0 without requests", "[alerts]") {
  Fixture f;
  auto r = rule("error_rate", ">", 0.05);
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 1);  // no group_by: always one group
  CHECK(v.groups[0].value == 0.0);
  CHECK_FALSE(v.groups[0].condition);
  f.window.add(route_series("acme", "web", "sim"), kT0 - 20'000, counts(90, 10), f.inputs.now_unix_ms);
  f.window.add(route_series("acme", "web", "sim"), kT0, counts(100, 0), f.inputs.now_unix_ms);
  // Older than the window: not counted.
  f.window.add(route_series("acme", "web", "sim"), kT0 - 120'000, counts(0, 1000), f.inputs.now_unix_ms);
  v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == Approx(10.0 / 200.0));
  CHECK_FALSE(v.groups[0].condition);
  r.mutable_condition()->set_threshold(0.04);
  CHECK(f.eval(r).groups[0].condition);
}

TEST_CASE("alert eval: request_rate reads every bucket the window overlaps, divided by the window", "[alerts]") {
  Fixture f;
  const std::int64_t now = f.inputs.now_unix_ms;  // kT0 + 5 s: the window starts at kT0 - 55 s
  f.window.add(route_series("acme", "web", "sim"), kT0 - 60'000, counts(300, 0), now);  // overlapped: read whole
  f.window.add(route_series("acme", "web", "sim"), kT0 - 10'000, counts(300, 0), now);
  f.window.add(route_series("acme", "web", "sim"), kT0 - 70'000, counts(900, 0), now);  // before the window
  auto r = rule("request_rate", ">", 5);
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == Approx(10.0));
  CHECK(v.groups[0].condition);
  // A window under one bucket reads one or two buckets over 10 s.
  r.set_window_ms(1'000);
  f.window.add(route_series("acme", "web", "sim"), kT0, counts(50, 0), now);
  CHECK(f.eval(r).groups[0].value == Approx(5.0));
}

TEST_CASE("alert eval: timeout_rate, auth_failures, rate_limited and percentiles", "[alerts]") {
  Fixture f;
  RollupCounters c = counts(80, 20, 6);  // (2 ms, 5 ms]
  c.auth_failures = 7;
  c.rate_limited = 3;
  f.window.add(route_series("acme", "web", "sim"), kT0, c, f.inputs.now_unix_ms, 5);
  CHECK(f.eval(rule("timeout_rate", ">", 0)).groups[0].value == Approx(0.05));
  CHECK(f.eval(rule("auth_failures", ">=", 7)).groups[0].condition);
  CHECK(f.eval(rule("rate_limited", "==", 3)).groups[0].condition);
  CHECK(f.eval(rule("p50_latency", ">", 0)).groups[0].value == Approx(3.5));
  CHECK(f.eval(rule("p99_latency", ">", 0)).groups[0].value == Approx(4.97));
  CHECK(f.eval(rule("p95_latency", "<", 4)).groups[0].condition == false);
}

TEST_CASE("alert eval: scope filters and group_by make one group per value with data", "[alerts]") {
  Fixture f;
  const std::int64_t now = f.inputs.now_unix_ms;
  f.window.add(route_series("acme", "web", "sim"), kT0, counts(50, 50), now);
  f.window.add(route_series("acme", "api", "sim"), kT0, counts(100, 0), now);
  f.window.add(route_series("acme", "img", "pics"), kT0, counts(10, 10), now);
  f.window.add(route_series("globex", "www", "g"), kT0, counts(0, 100), now);
  f.window.add(route_series("acme", "old", "sim"), kT0 - 600'000, counts(0, 100), now);  // no data in the window
  auto r = rule("error_rate", ">", 0.3);
  r.mutable_scope()->set_tenant("acme");
  r.add_group_by("route");
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 3);
  CHECK(v.groups[0].group == Labels{{"route", "api"}});
  CHECK_FALSE(v.groups[0].condition);
  CHECK(v.groups[1].group == Labels{{"route", "img"}});
  CHECK(v.groups[1].condition);
  CHECK(v.groups[2].group == Labels{{"route", "web"}});
  CHECK(v.groups[2].value == Approx(0.5));

  r.clear_group_by();
  r.mutable_scope()->set_service("sim");
  v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == Approx(50.0 / 200.0));

  r.mutable_scope()->set_service("none");
  v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == 0.0);
}

TEST_CASE("alert eval: instance scope and labels read the instance series", "[alerts]") {
  Fixture f;
  const std::int64_t now = f.inputs.now_unix_ms;
  f.inputs.instances = {InstanceState{"sim-a", "sim", "acme", {{"zone", "a"}}},
                        InstanceState{"sim-b", "sim", "acme", {{"zone", "b"}}}};
  f.window.add(route_series("acme", "web", "sim"), kT0, counts(100, 0), now);
  f.window.add(instance_series("acme", "sim", "sim-a"), kT0, counts(10, 10), now);
  f.window.add(instance_series("acme", "sim", "sim-b"), kT0, counts(90, 0), now);
  auto r = rule("error_rate", ">", 0.1);
  (*r.mutable_scope()->mutable_labels())["zone"] = "a";
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == Approx(0.5));
  r.mutable_scope()->clear_labels();
  r.add_group_by("instance");
  v = f.eval(r);
  REQUIRE(v.groups.size() == 2);
  CHECK(v.groups[0].group == Labels{{"instance", "sim-a"}});
  CHECK(v.groups[0].condition);
  CHECK_FALSE(v.groups[1].condition);
}

TEST_CASE("alert eval: a window reaching before the covered time is skipped", "[alerts]") {
  Fixture f;
  f.inputs.covered_since_unix_ms = kT0 - 30'000;
  auto r = rule("request_rate", "<", 1);
  RuleValue v = f.eval(r);
  CHECK(v.skipped);
  CHECK(v.groups.empty());
  r.set_window_ms(30'000);
  CHECK_FALSE(f.eval(r).skipped);
  r.set_disabled(true);
  CHECK(f.eval(r).skipped);
}

TEST_CASE("alert eval: no_traffic needs zero requests and every connected proxy reporting", "[alerts]") {
  Fixture f;
  const std::int64_t now = f.inputs.now_unix_ms;
  auto r = rule("no_traffic", "", 0);
  r.mutable_scope()->set_tenant("acme");
  r.add_group_by("route");
  f.window.add(route_series("acme", "web", "sim"), kT0 - 600'000, counts(10, 0), now);  // seen this hour
  f.window.add(route_series("acme", "api", "sim"), kT0, counts(10, 0), now);
  f.inputs.proxies_connected = 2;
  f.window.reported("p1", kT0);
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 2);
  CHECK_FALSE(v.groups[1].condition);  // web: one of two proxies reported
  f.window.reported("p2", kT0 - 10'000);
  v = f.eval(r);
  REQUIRE(v.groups.size() == 2);
  CHECK(v.groups[0].group == Labels{{"route", "api"}});
  CHECK_FALSE(v.groups[0].condition);  // traffic
  CHECK(v.groups[1].group == Labels{{"route", "web"}});
  CHECK(v.groups[1].condition);
  CHECK(v.groups[1].value == 0.0);
  f.inputs.proxies_connected = 0;  // nobody connected: nothing can be told
  CHECK_FALSE(f.eval(r).groups[1].condition);
}

TEST_CASE("alert eval: unhealthy and ejected instances in scope, grouped", "[alerts]") {
  Fixture f;
  f.inputs.instances = {InstanceState{"a1", "sim", "acme", {}, true, false},
                        InstanceState{"a2", "sim", "acme", {}, true, true},
                        InstanceState{"a3", "pics", "acme", {}, false, false},
                        InstanceState{"g1", "g", "globex", {}, true, false}};
  auto r = rule("unhealthy_instances", ">=", 2);
  r.mutable_scope()->set_tenant("acme");
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == 2);
  CHECK(v.groups[0].condition);
  r.add_group_by("service");
  v = f.eval(r);
  REQUIRE(v.groups.size() == 2);
  CHECK(v.groups[0].group == Labels{{"service", "pics"}});
  CHECK(v.groups[0].value == 0);
  CHECK(v.groups[1].value == 2);
  auto e = rule("ejected_instances", ">", 0);
  v = f.eval(e);
  CHECK(v.groups[0].value == 1);
}

TEST_CASE("alert eval: event_count by kind and minimum level, restarts from counter increases", "[alerts]") {
  Fixture f;
  const std::int64_t now = f.inputs.now_unix_ms;
  for (int i = 0; i < 15; ++i) f.signals.add_event("acme", "sim", "a1", "exception", "error", kT0 - 1000 * i);
  f.signals.add_event("acme", "sim", "a2", "exception", "critical", kT0, 5);
  f.signals.add_event("acme", "sim", "a2", "exception", "info", kT0, 100);
  f.signals.add_event("acme", "sim", "a2", "exception", "error", kT0 - 3'600'000, 100);  // out of the window
  f.signals.add_event("acme", "sim", "a2", "deploy", "error", kT0, 100);
  auto r = rule("event_count", ">=", 20);
  r.mutable_condition()->set_kind("exception");
  r.mutable_condition()->set_level("error");
  RuleValue v = f.eval(r);
  REQUIRE(v.groups.size() == 1);
  CHECK(v.groups[0].value == 20);
  CHECK(v.groups[0].condition);
  r.add_group_by("instance");
  v = f.eval(r);
  REQUIRE(v.groups.size() == 2);
  CHECK(v.groups[0].value == 15);
  CHECK(v.groups[1].value == 5);
  r.mutable_condition()->clear_level();
  r.clear_group_by();
  CHECK(f.eval(r).groups[0].value == 120);
  v1::AlertScope scope;
  scope.set_instance("a2");
  CHECK(f.signals.events(scope, {}, "exception", "warning", kT0 - 60'000, now + 1) == 5);

  f.signals.add_restarts("acme", "sim", "a1", 3, kT0 - 30'000);  // baseline
  f.signals.add_restarts("acme", "sim", "a1", 5, kT0 - 20'000);  // +2
  f.signals.add_restarts("acme", "sim", "a1", 1, kT0 - 10'000);  // a new counter: baseline
  f.signals.add_restarts("acme", "sim", "a1", 2, kT0);           // +1
  auto restarts = rule("restarts", ">", 2);
  v = f.eval(restarts);
  CHECK(v.groups[0].value == 3);
  CHECK(v.groups[0].condition);
  f.signals.prune(kT0 + 3'600'000);
  CHECK(f.signals.restarts({}, {}, 0, kT0 + 3'600'000) == 0);
}

TEST_CASE("alert eval: an index shared by many rules answers as evaluate() alone", "[alerts]") {
  Fixture f;
  const std::int64_t now = f.inputs.now_unix_ms;
  f.window.add(route_series("acme", "web", "sim"), kT0, counts(50, 50), now);
  f.window.add(route_series("globex", "www", "g"), kT0 - 200'000, counts(0, 100), now);
  EvalIndex index(f.inputs);
  for (std::uint64_t window : {10'000u, 60'000u, 600'000u}) {
    for (const char* tenant : {"", "acme", "globex"}) {
      auto r = rule("error_rate", ">", 0.3);
      r.set_window_ms(window);
      r.mutable_scope()->set_tenant(tenant);
      const RuleValue a = evaluate(r, index), b = f.eval(r);
      REQUIRE(a.groups.size() == b.groups.size());
      CHECK(a.groups[0].value == b.groups[0].value);
    }
  }
}

TEST_CASE("alert labels, fingerprints and annotations", "[alerts]") {
  auto r = rule("error_rate", ">", 0.05);
  r.set_name("acme-errors");
  r.set_severity("critical");
  r.mutable_scope()->set_tenant("acme");
  const Labels labels = alert_labels(r, {{"service", "sim"}});
  CHECK(labels == Labels{{"alertname", "acme-errors"}, {"severity", "critical"}, {"tenant", "acme"}, {"service", "sim"}});
  const std::string fp = fingerprint("acme-errors", {{"service", "sim"}});
  CHECK(fp.size() == 16);
  CHECK(fp.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(fp == fingerprint("acme-errors", {{"service", "sim"}}));
  CHECK(fp != fingerprint("acme-errors", {{"service", "sin"}}));
  CHECK(fingerprint("a", {{"b", "c"}}) != fingerprint("a", {{"bc", ""}}));
  CHECK(render_annotation("{{ $labels.service }} at {{$value}} ({{ $labels.nope }}) {{ other }} {{", labels, 0.125) ==
        "sim at 0.125 () {{ other }} {{");
  CHECK(render_annotation("rate {{ $value }}", labels, 3) == "rate 3");
}

}  // namespace
}  // namespace tg::control::alerts
