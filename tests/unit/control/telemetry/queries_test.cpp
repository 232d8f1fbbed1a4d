// Top and Series over the window and over minute rollups: percentiles,
// row keys, sort and limit, request checks, step alignment and empty steps.
#include "telemetry/queries.hpp"

#include "telemetry/telemetry_fixtures.hpp"

#include <catch2/catch.hpp>

namespace tg::control::telemetry {
namespace {

namespace v1 = tenantgate::v1;
using namespace tg::control::test;

RollupCounters requests(std::uint64_t ok, std::uint64_t failed, std::size_t bucket) {
  RollupCounters c;
  c.requests_by_class[1] = ok;
  c.requests_by_class[4] = failed;
  c.latency_count = ok + failed;
  c.latency_buckets[bucket] = ok + failed;
  return c;
}

TEST_CASE("telemetry percentiles: bucket upper bound, linear within the bucket", "[telemetry]") {
  std::array<std::uint64_t, metrics::kLatencyBuckets> b{};
  CHECK(percentile_ms(b, 0, 0.99) == 0.0);
  b[4] = 100;  // (500 us, 1000 us]
  CHECK(percentile_ms(b, 100, 0.5) == Approx(0.75));
  CHECK(percentile_ms(b, 100, 1.0) == Approx(1.0));
  b[0] = 100;  // [0, 50 us]
  CHECK(percentile_ms(b, 200, 0.25) == Approx(0.025));
  CHECK(percentile_ms(b, 200, 0.75) == Approx(0.75));
  std::array<std::uint64_t, metrics::kLatencyBuckets> inf{};
  inf[20] = 1;  // beyond 60 s: its lower bound
  CHECK(percentile_ms(inf, 1, 0.99) == Approx(60'000.0));
}

TEST_CASE("telemetry top: rows by route, service, tenant and instance, sorted and limited", "[telemetry]") {
  Window window;
  const std::int64_t now = kT0 + 120'000;
  window.add({"acme", "api", "acme-svc", ""}, now - 20'000, requests(90, 10, 4), now);
  window.add({"acme", "www", "acme-svc", ""}, now - 20'000, requests(50, 0, 2), now);
  window.add({"beta", "b", "beta-svc", ""}, now - 20'000, requests(10, 5, 8), now);
  window.add({"acme", "", "acme-svc", "i1"}, now - 20'000, requests(70, 1, 0), now);
  window.add({"acme", "api", "acme-svc", ""}, now - 600'000, requests(1000, 1000, 4), now);  // outside 5 m
  window.reported("p1", now - 20'000);
  window.reported("p2", now - 20'000);

  v1::TopResponse by_route;
  REQUIRE(top(window, v1::TopRequest{}, now, &by_route).ok());
  REQUIRE(by_route.rows_size() == 3);
  CHECK(by_route.rows(0).route() == "api");  // most errors first
  CHECK(by_route.rows(0).requests() == 100);
  CHECK(by_route.rows(0).errors() == 10);
  CHECK(by_route.rows(0).error_rate() == Approx(0.1));
  CHECK(by_route.rows(0).rate() == Approx(100.0 / 300.0));
  CHECK(by_route.rows(0).p50_ms() == Approx(0.75));
  CHECK(by_route.rows(1).route() == "b");
  CHECK(by_route.window_ms() == 300'000);
  CHECK(by_route.proxies_reporting() == 2);

  v1::TopRequest request;
  request.set_by("tenant");
  request.set_sort("rate");
  v1::TopResponse by_tenant;
  REQUIRE(top(window, request, now, &by_tenant).ok());
  REQUIRE(by_tenant.rows_size() == 2);
  CHECK(by_tenant.rows(0).tenant() == "acme");
  CHECK(by_tenant.rows(0).requests() == 150);  // route series only: the instance's tries are not requests

  request.set_by("instance");
  v1::TopResponse by_instance;
  REQUIRE(top(window, request, now, &by_instance).ok());
  REQUIRE(by_instance.rows_size() == 1);
  CHECK(by_instance.rows(0).instance() == "i1");
  CHECK(by_instance.rows(0).service() == "acme-svc");

  request.set_by("route");
  request.set_sort("name");
  request.set_limit(2);
  request.set_window_ms(3'600'000);
  v1::TopResponse limited;
  REQUIRE(top(window, request, now, &limited).ok());
  REQUIRE(limited.rows_size() == 2);
  CHECK(limited.rows(0).route() == "api");
  CHECK(limited.rows(0).requests() == 2100);  // the hour holds the old bucket too
  CHECK(limited.rows(1).route() == "www");
  CHECK(limited.rows_not_listed() == 1);

  request.set_service("beta-svc");
  request.set_limit(0);
  v1::TopResponse filtered;
  REQUIRE(top(window, request, now, &filtered).ok());
  REQUIRE(filtered.rows_size() == 1);
  CHECK(filtered.rows(0).tenant() == "beta");
}

TEST_CASE("telemetry top: bad requests name the field", "[telemetry]") {
  Window window;
  v1::TopRequest request;
  v1::TopResponse response;
  request.set_by("pod");
  CHECK(top(window, request, kT0, &response).message.rfind("by:", 0) == 0);
  request.set_by("");
  request.set_sort("fast");
  CHECK(top(window, request, kT0, &response).message.rfind("sort:", 0) == 0);
  request.set_sort("");
  request.set_window_ms(7'200'000);
  CHECK(top(window, request, kT0, &response).code == Code::invalid_argument);
}

TEST_CASE("telemetry series: plans, sources and points", "[telemetry]") {
  const std::int64_t now = kT0 + 3'600'000;
  v1::SeriesRequest request;
  SeriesPlan plan;
  SECTION("checks") {
    CHECK(plan_series(request, now, &plan).message == "metric: required");
    request.set_metric("cpu");
    CHECK(plan_series(request, now, &plan).message == "metric: \"cpu\": status metrics come from container reports");
    request.set_metric("latency");
    CHECK(plan_series(request, now, &plan).message.rfind("metric: \"latency\": unknown", 0) == 0);
    request.set_metric("requests");
    CHECK(plan_series(request, now, &plan).message.rfind("tenant: a scope is required", 0) == 0);
    request.set_route("api");
    request.set_step_ms(15'000);
    CHECK(plan_series(request, now, &plan).message.rfind("step_ms:", 0) == 0);
    request.set_step_ms(10'000);
    request.set_since_unix_ms(now - 7'200'000);
    CHECK(plan_series(request, now, &plan).message.rfind("step_ms: steps under a minute", 0) == 0);
    request.set_since_unix_ms(now - 200'000'000);
    request.set_step_ms(10'000);
    CHECK(plan_series(request, now, &plan).code == Code::invalid_argument);
  }
  SECTION("the last hour at 10 s steps comes from memory") {
    request.set_metric("requests");
    request.set_route("api");
    request.set_step_ms(10'000);
    REQUIRE(plan_series(request, now, &plan).ok());
    CHECK(plan.from_memory);
    CHECK(plan.scope.until_unix_ms - plan.scope.since_unix_ms == 3'600'000);
    Window window;
    window.add({"acme", "api", "svc", ""}, now - 30'000, requests(20, 0, 4), now);
    window.add({"acme", "www", "svc", ""}, now - 30'000, requests(99, 0, 4), now);  // another route
    window.add({"acme", "api", "svc", ""}, now - 25'000, requests(10, 0, 4), now);
    v1::SeriesResponse response;
    series_from_window(window, plan, &response);
    REQUIRE(response.points_size() == 360);
    const auto& p = response.points(357);
    CHECK(p.time_unix_ms() == now - 30'000);
    CHECK_FALSE(p.empty());
    CHECK(p.value() == 30.0);
    CHECK(response.points(356).empty());
  }
  SECTION("a minute step comes from the rollups") {
    const std::int64_t minute = minute_of(now);
    request.set_metric("error_rate");
    request.set_tenant("acme");
    request.set_since_unix_ms(minute - 180'000);
    request.set_until_unix_ms(minute);
    REQUIRE(plan_series(request, now, &plan).ok());
    CHECK_FALSE(plan.from_memory);
    CHECK(plan.scope.tenant == "acme");
    CHECK_FALSE(plan.scope.instance_series);
    std::vector<RollupMinute> minutes = {{minute - 120'000, requests(75, 25, 4)}};
    v1::SeriesResponse response;
    series_from_minutes(minutes, plan, &response);
    REQUIRE(response.points_size() == 3);
    CHECK(response.points(0).empty());
    CHECK(response.points(1).value() == Approx(0.25));
    CHECK(response.step_ms() == 60'000);
    CHECK(response.metric() == "error_rate");
  }
}

}  // namespace
}  // namespace tg::control::telemetry
