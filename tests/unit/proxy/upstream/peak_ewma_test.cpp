// Peak EWMA (proxy/upstream/peak_ewma.*) with a fake clock, Retry-After
// parsing, the response-head feedback (proxy/balancing/feedback.*), and the estimate's life
// across table swaps (it lives in InstanceRuntime).
#include "balancing/feedback.hpp"
#include "upstream/peak_ewma.hpp"

#include "../balancing/service_fixture.hpp"
#include "../http/parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using tg::config::LbPolicy;
using tg::proxy::kDecayMs;
using tg::proxy::kDefaultPenaltyMs;
using tg::proxy::kDefaultRttMs;
using tg::proxy::kMaxPenaltyMs;
using tg::proxy::kPenaltyRttMs;
using tg::proxy::balancing::observe_response_head;
using tg::proxy::parse_retry_after_ms;
using tg::proxy::PeakEwma;
using tg::proxy::penalty_window_ms;
using tg::proxy::http::test::ParsedResponse;
using tg::proxy::test::ServiceFixture;

TEST_CASE("a new estimate is the 30 ms default and does not decay before it is seen", "[proxy][balancing][ewma]") {
  PeakEwma e;
  CHECK(e.rtt_ms == kDefaultRttMs);
  CHECK(e.estimate_at(1'000'000) == kDefaultRttMs);
  e.touch(1'000);
  e.touch(5'000);  // only the first look starts the clock
  CHECK(e.at_ms == 1'000);
  CHECK(e.estimate_at(1'000 + 10'000) == Approx(kDefaultRttMs * std::exp(-1.0)));
}

TEST_CASE("an unmeasured instance is probed one request at a time", "[proxy][balancing][ewma]") {
  PeakEwma e;
  e.touch(1'000);
  CHECK(e.cost(0, 1'000) == 0);                     // idle: wins its pairs, gets measured
  CHECK(e.cost(1, 1'000) == 2 * kDefaultRttMs);     // its probe under way: the default per request
  e.observe(4.0, 1'020);
  CHECK(e.cost(0, 1'020) == 4.0);
  CHECK(e.cost(2, 1'020) == 12.0);
}

TEST_CASE("the first sample replaces the default, even when lower", "[proxy][balancing][ewma]") {
  PeakEwma e;
  e.touch(1'000);
  e.observe(2.0, 1'010);
  CHECK(e.rtt_ms == 2.0);
  CHECK(e.measured);
  CHECK(e.at_ms == 1'010);
}

TEST_CASE("a peak replaces the estimate at once", "[proxy][balancing][ewma]") {
  PeakEwma e;
  e.observe(2.0, 1'000);
  e.observe(80.0, 1'001);
  CHECK(e.rtt_ms == 80.0);
}

TEST_CASE("a lower sample pulls the estimate with weight exp(-dt/tau)", "[proxy][balancing][ewma]") {
  PeakEwma e;
  e.observe(100.0, 1'000);
  SECTION("after tau the old estimate keeps e^-1 of its weight") {
    e.observe(10.0, 1'000 + static_cast<std::uint64_t>(kDecayMs));
    CHECK(e.rtt_ms == Approx(100.0 * std::exp(-1.0) + 10.0 * (1 - std::exp(-1.0))));
  }
  SECTION("samples in the same millisecond do not move it") {
    e.observe(10.0, 1'000);
    CHECK(e.rtt_ms == 100.0);
  }
  SECTION("a steady stream of samples converges to them") {
    std::uint64_t now = 1'000;
    for (int i = 0; i < 1'000; ++i) e.observe(10.0, now += 100);  // 100 s of samples every 100 ms
    CHECK(e.rtt_ms == Approx(10.0).margin(0.01));
  }
  SECTION("100 ms of samples at 10 ms barely move it (1%)") {
    std::uint64_t now = 1'000;
    for (int i = 0; i < 10; ++i) e.observe(10.0, now += 10);
    CHECK(e.rtt_ms == Approx(10.0 + 90.0 * std::exp(-100.0 / kDecayMs)).epsilon(1e-9));
  }
}

TEST_CASE("between samples the estimate seen by the picker decays toward zero", "[proxy][balancing][ewma]") {
  PeakEwma e;
  e.observe(50.0, 1'000);
  CHECK(e.estimate_at(1'000) == 50.0);
  CHECK(e.estimate_at(500) == 50.0);  // no time travel
  CHECK(e.estimate_at(1'000 + 10'000) == Approx(50.0 * std::exp(-1.0)));
  CHECK(e.estimate_at(1'000 + 60'000) < 0.2);
  CHECK(e.rtt_ms == 50.0);  // looking does not change it
}

TEST_CASE("Retry-After in seconds", "[proxy][balancing][ewma]") {
  CHECK(parse_retry_after_ms("1", 0) == 1'000u);
  CHECK(parse_retry_after_ms(" 5 ", 0) == 5'000u);
  CHECK(parse_retry_after_ms("0", 0) == 0u);
  CHECK(parse_retry_after_ms("3600", 0) == kMaxPenaltyMs);
  CHECK(parse_retry_after_ms("99999999999999999999999", 0) == kMaxPenaltyMs);
}

TEST_CASE("Retry-After as an HTTP-date, in its three forms", "[proxy][balancing][ewma]") {
  const std::int64_t now = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10'000u);
  CHECK(parse_retry_after_ms("Sunday, 06-Nov-94 08:49:40 GMT", now) == 3'000u);
  CHECK(parse_retry_after_ms("Sun Nov  6 08:49:39 1994", now) == 2'000u);
  CHECK(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0u);   // in the past
  CHECK(parse_retry_after_ms("Mon, 07 Nov 1994 08:49:37 GMT", now) == kMaxPenaltyMs);  // a day: capped
  CHECK(parse_retry_after_ms("Thu, 01 Jan 1970 00:00:10 GMT", 0) == 10'000u);
  CHECK(parse_retry_after_ms("Tue, 29 Feb 2028 12:00:30 GMT", 1835438400) == 30'000u);  // leap day
}

TEST_CASE("a bad or absent Retry-After gives the default penalty window", "[proxy][balancing][ewma]") {
  for (const char* bad : {"", "  ", "soon", "1.5", "-1", "5s", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 25:00:00 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_retry_after_ms(bad, 784111777).has_value());
    CHECK(penalty_window_ms(bad, 784111777) == kDefaultPenaltyMs);
  }
  CHECK(penalty_window_ms("7", 0) == 7'000u);
}

TEST_CASE("a response head feeds its RTT and a 503 or 429 penalises", "[proxy][balancing][ewma]") {
  ServiceFixture f(LbPolicy::peak_ewma, {{"a"}});
  tg::proxy::InstanceRuntime& a = f.state("a");
  const ParsedResponse ok("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  observe_response_head(a, ok.head, ok.base(), 4'000'000, 10'000);  // 4 ms
  CHECK(a.ewma.rtt_ms == Approx(4.0));
  CHECK(a.avoid_until_ms == 0);

  SECTION("503 with Retry-After: 3") {
    const ParsedResponse busy("HTTP/1.1 503 Service Unavailable\r\nretry-after: 3\r\nContent-Length: 0\r\n\r\n");
    observe_response_head(a, busy.head, busy.base(), 100'000, 10'100);  // a fast error
    CHECK(a.avoid_until_ms == 13'100);
    CHECK(a.ewma.rtt_ms == kPenaltyRttMs);
  }
  SECTION("429 without Retry-After") {
    const ParsedResponse limited("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n");
    observe_response_head(a, limited.head, limited.base(), 100'000, 10'100);
    CHECK(a.avoid_until_ms == 10'100 + kDefaultPenaltyMs);
    CHECK(a.ewma.rtt_ms == kPenaltyRttMs);
  }
  SECTION("a shorter later penalty does not cut an earlier one short") {
    const ParsedResponse long_one("HTTP/1.1 503 x\r\nRetry-After: 20\r\nContent-Length: 0\r\n\r\n");
    const ParsedResponse short_one("HTTP/1.1 503 x\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n");
    observe_response_head(a, long_one.head, long_one.base(), 1'000, 10'000);
    observe_response_head(a, short_one.head, short_one.base(), 1'000, 11'000);
    CHECK(a.avoid_until_ms == 30'000);
  }
  SECTION("other errors are plain samples") {
    const ParsedResponse failed("HTTP/1.1 500 x\r\nRetry-After: 9\r\nContent-Length: 0\r\n\r\n");
    observe_response_head(a, failed.head, failed.base(), 9'000'000, 10'000);
    CHECK(a.ewma.rtt_ms == Approx(9.0));
    CHECK(a.avoid_until_ms == 0);
  }
}

TEST_CASE("the estimate survives a table swap, a removed and re-added instance starts fresh",
          "[proxy][balancing][ewma]") {
  using tg::proxy::test::make_service;
  auto build = [](const std::vector<tg::proxy::test::InstanceSpec>& instances) {
    tg::config::Config config;
    config.services.push_back(make_service("s", LbPolicy::peak_ewma, instances));
    std::string error;
    auto s = tg::proxy::Snapshot::build(config, 1, "", error);
    REQUIRE(s != nullptr);
    return s;
  };
  auto v1 = tg::proxy::WorkerTable::build(build({{"a", 1, "10.0.0.1", 80}, {"b", 1, "10.0.0.2", 80}}), nullptr);
  v1->instances[0]->ewma.observe(7.0, 5'000);
  v1->instances[0]->avoid_until_ms = 9'000;
  v1->instances[0]->in_flight = 3;

  // v2 adds c: a keeps its state.
  auto v2 = tg::proxy::WorkerTable::build(
      build({{"a", 1, "10.0.0.1", 80}, {"b", 1, "10.0.0.2", 80}, {"c", 1, "10.0.0.3", 80}}), v1.get());
  CHECK(v2->instances[0]->ewma.rtt_ms == 7.0);
  CHECK(v2->instances[0]->ewma.at_ms == 5'000);
  CHECK(v2->instances[0]->avoid_until_ms == 9'000);
  CHECK(v2->instances[0]->in_flight == 3);
  CHECK(v2->instances[2]->ewma.rtt_ms == kDefaultRttMs);
  CHECK_FALSE(v2->instances[2]->ewma.measured);

  // v3 drops a, v4 brings it back: a new runtime with the default estimate.
  v1.reset();
  auto v3 = tg::proxy::WorkerTable::build(build({{"b", 1, "10.0.0.2", 80}, {"c", 1, "10.0.0.3", 80}}), v2.get());
  v2.reset();
  auto v4 = tg::proxy::WorkerTable::build(
      build({{"a", 1, "10.0.0.1", 80}, {"b", 1, "10.0.0.2", 80}, {"c", 1, "10.0.0.3", 80}}), v3.get());
  CHECK(v4->instances[0]->id == "a");
  CHECK(v4->instances[0]->ewma.rtt_ms == kDefaultRttMs);
  CHECK_FALSE(v4->instances[0]->ewma.measured);
  CHECK(v4->instances[0]->avoid_until_ms == 0);
  CHECK(v4->instances[0]->in_flight == 0);
}
