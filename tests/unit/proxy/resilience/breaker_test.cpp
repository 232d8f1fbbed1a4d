// The breaker state machine (proxy/resilience/breaker.hpp), driven with a
// fake clock: the milliseconds passed in.
#include "resilience/breaker.hpp"

#include <catch2/catch.hpp>

using namespace tg::proxy::resilience;

namespace {

BreakerPolicy policy(std::uint32_t failures = 3, std::uint32_t probes = 1) {
  BreakerPolicy p;
  p.consecutive_failures = failures;
  p.base_ejection_ms = 1000;
  p.max_ejection_ms = 2500;
  p.half_open_probes = probes;
  p.max_ejection_percent = 50;
  return p;
}

// Fails `n` closed tries at `now`; returns the last transition.
Transition fail_closed(Breaker& b, const BreakerPolicy& p, std::uint64_t now, int n, bool may_eject = true) {
  Transition t;
  for (int i = 0; i < n; ++i) {
    Transition started;
    REQUIRE_FALSE(b.start_try(started));
    t = b.failed(now, p, false, may_eject);
  }
  return t;
}

}  // namespace

TEST_CASE("breaker: opens after consecutive_failures gateway failures in a row", "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(3);
  Breaker b;
  CHECK_FALSE(fail_closed(b, p, 100, 2).happened());
  CHECK(b.state() == BreakerState::closed);
  const Transition t = fail_closed(b, p, 100, 1);
  CHECK(t.happened());
  CHECK(t.from == BreakerState::closed);
  CHECK(t.to == BreakerState::open);
  CHECK(t.reason == BreakerReason::consecutive_failures);
  CHECK(t.ejected_delta() == 1);
  CHECK(b.open_until_ms() == 1100);
  CHECK_FALSE(b.admits(1099, p));
  CHECK(b.admits(1100, p));
}

TEST_CASE("breaker: a success resets the count of failures", "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(3);
  Breaker b;
  fail_closed(b, p, 0, 2);
  CHECK(b.failures() == 2);
  CHECK_FALSE(b.succeeded(false).happened());
  CHECK(b.failures() == 0);
  CHECK_FALSE(fail_closed(b, p, 0, 2).happened());
  CHECK(b.state() == BreakerState::closed);
}

TEST_CASE("breaker: the service's cap keeps it closed", "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(2);
  Breaker b;
  CHECK_FALSE(fail_closed(b, p, 0, 5, false).happened());
  CHECK(b.state() == BreakerState::closed);
  // Allowed again: the next failure ejects.
  CHECK(fail_closed(b, p, 0, 1, true).to == BreakerState::open);
}

TEST_CASE("breaker: half-open admits half_open_probes tries, closes on a probe's success",
          "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(1, 2);
  Breaker b;
  fail_closed(b, p, 0, 1);
  REQUIRE(b.state() == BreakerState::open);
  Transition t;
  REQUIRE(b.admits(1000, p));
  CHECK(b.start_try(t));
  CHECK(t.to == BreakerState::half_open);
  CHECK(t.reason == BreakerReason::ejection_over);
  CHECK(t.ejected_delta() == 0);
  CHECK(b.admits(1000, p));
  CHECK(b.start_try(t));
  CHECK_FALSE(t.happened());
  CHECK_FALSE(b.admits(1000, p));  // two probes under way
  // A try that started before the breaker opened proves nothing.
  CHECK_FALSE(b.succeeded(false).happened());
  const Transition closed = b.succeeded(true);
  CHECK(closed.to == BreakerState::closed);
  CHECK(closed.reason == BreakerReason::probe_succeeded);
  CHECK(closed.ejected_delta() == -1);
  CHECK(b.ejections() == 0);
}

TEST_CASE("breaker: a failed probe opens again for base_ejection x ejections, capped by max_ejection",
          "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(1);
  Breaker b;
  fail_closed(b, p, 0, 1);
  CHECK(b.open_until_ms() == 1000);  // 1 x 1000
  Transition t;
  std::uint64_t now = 1000;
  const std::uint64_t expected[] = {2000, 2500, 2500};  // 2 x 1000, 3 x 1000 capped at 2500, ...
  for (std::uint64_t wait : expected) {
    REQUIRE(b.admits(now, p));
    REQUIRE(b.start_try(t));
    const Transition failed = b.failed(now, p, true, true);
    CHECK(failed.from == BreakerState::half_open);
    CHECK(failed.to == BreakerState::open);
    CHECK(failed.reason == BreakerReason::probe_failed);
    CHECK(b.open_until_ms() == now + wait);
    now = b.open_until_ms();
  }
}

TEST_CASE("breaker: an abandoned probe frees its slot", "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(1, 1);
  Breaker b;
  fail_closed(b, p, 0, 1);
  Transition t;
  REQUIRE(b.start_try(t));
  CHECK_FALSE(b.admits(1000, p));
  b.abandon_probe(true);
  CHECK(b.admits(1000, p));
  CHECK(b.state() == BreakerState::half_open);
}

TEST_CASE("breaker: Retry-After backs the instance off for that long, capped by max_ejection",
          "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(5);
  SECTION("closed") {
    Breaker b;
    const Transition t = b.back_off(100, p, 2000, false, true);
    CHECK(t.to == BreakerState::open);
    CHECK(t.reason == BreakerReason::retry_after);
    CHECK(b.open_until_ms() == 2100);
    CHECK(b.ejections() == 0);
  }
  SECTION("capped") {
    Breaker b;
    b.back_off(0, p, 60'000, false, true);
    CHECK(b.open_until_ms() == 2500);
  }
  SECTION("refused by the cap") {
    Breaker b;
    CHECK_FALSE(b.back_off(0, p, 2000, false, false).happened());
    CHECK(b.state() == BreakerState::closed);
  }
  SECTION("half-open probe answered 503 with Retry-After") {
    Breaker b;
    fail_closed(b, p, 0, 5);
    Transition t;
    REQUIRE(b.start_try(t));
    const Transition back = b.back_off(1000, p, 500, true, true);
    CHECK(back.from == BreakerState::half_open);
    CHECK(back.to == BreakerState::open);
    CHECK(b.open_until_ms() == 1500);
  }
}

TEST_CASE("breaker: healthy again closes it at once", "[proxy][resilience][breaker]") {
  const BreakerPolicy p = policy(1);
  Breaker b;
  CHECK_FALSE(b.close_on_health().happened());
  fail_closed(b, p, 0, 1);
  const Transition t = b.close_on_health();
  CHECK(t.to == BreakerState::closed);
  CHECK(t.reason == BreakerReason::health_recovered);
  CHECK(b.admits(0, p));
}

TEST_CASE("breaker: max_ejection_percent counts the instance to eject, and one may always go in a service of 2+",
          "[proxy][resilience][breaker]") {
  // 10%: one of 2, 3 or 10 instances.
  CHECK(ejection_allowed(0, 2, 10));
  CHECK_FALSE(ejection_allowed(1, 2, 10));
  CHECK(ejection_allowed(0, 3, 10));
  CHECK_FALSE(ejection_allowed(1, 3, 10));
  CHECK(ejection_allowed(0, 10, 10));
  CHECK_FALSE(ejection_allowed(1, 10, 10));
  // 50%: one of 2, one of 3, five of 10.
  CHECK_FALSE(ejection_allowed(1, 2, 50));
  CHECK_FALSE(ejection_allowed(1, 3, 50));
  CHECK(ejection_allowed(4, 10, 50));
  CHECK_FALSE(ejection_allowed(5, 10, 50));
  // A lone instance only with 100%.
  CHECK_FALSE(ejection_allowed(0, 1, 99));
  CHECK(ejection_allowed(0, 1, 100));
  CHECK(ejection_allowed(0, 2, 0));
}

TEST_CASE("breaker: policy from the config", "[proxy][resilience][breaker]") {
  tg::config::Outlier o;
  o.base_ejection = std::chrono::seconds(30);
  o.max_ejection = std::chrono::seconds(10);  // below base: base wins
  const BreakerPolicy p = BreakerPolicy::from(o);
  CHECK(p.max_ejection_ms == 30'000);
  CHECK(p.ejection_ms(1) == 30'000);
  CHECK(p.ejection_ms(1000000) == 30'000);
}
