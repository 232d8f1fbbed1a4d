// Phase 4's limits (proxy/pipeline/limit_gate.hpp) on one worker, without
// sockets: the requests' clock is set by the test (Exchange::start_ns).
#include "pipeline_harness.hpp"

#include "pipeline/limit_gate.hpp"

#include <catch2/catch.hpp>

using tg::config::LbPolicy;
using tg::config::RouteRateLimit;
using namespace tg::proxy;
using namespace tg::proxy::test;

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;
// Before any steady-clock reading (record() measures from start_ns).
constexpr std::uint64_t kStart = kSecond;

tg::config::Rate per_second(std::uint64_t count) { return {count, std::chrono::seconds(1)}; }

// Tenant acme's service "web" behind route "main"; each test adds limits.
tg::config::Config base() {
  tg::config::Config config;
  tg::config::Tenant acme;
  acme.id = "acme";
  config.tenants.push_back(acme);
  auto service = make_service("web", LbPolicy::round_robin, {{"a", 1, "127.0.0.1", 9}});
  service.tenant = "acme";
  config.services.push_back(std::move(service));
  config.routes.push_back(make_route("main", "web"));
  return config;
}

class GateHarness {
 public:
  explicit GateHarness(const tg::config::Config& config) : h(config), gate(1) {
    h.worker().admission_gates().push_back(&gate);
  }

  // Phases 2-4 for a request at `now`; the step of phase 4.
  Step admit(std::uint64_t now, const std::string& extra_headers = "") {
    h.head("GET /x HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n");
    h.exchange().start_ns = now;
    PhaseInput in = h.input();
    REQUIRE(normalise(in).kind == Step::Kind::proceed);
    REQUIRE(match_route(in).kind == Step::Kind::proceed);
    return admit_gates(in);
  }
  // The request ends (phase 7) and the exchange is ready for the next one.
  void end() {
    record_only();
    h.context().next_request();
  }
  void record_only() {
    PhaseInput in = h.input();
    record(in, 0);
  }
  limits::LimitsCopy copy() const { return gate.collect(); }

  PipelineHarness h;
  LimitGate gate;
};

std::uint64_t limited(const limits::LimitsCopy& copy, limits::LimitKind kind, bool shadow = false) {
  std::uint64_t n = 0;
  for (const auto& r : copy.routes) n += (shadow ? r.shadow : r.limited)[static_cast<std::size_t>(kind)];
  return n;
}

}  // namespace

TEST_CASE("limit gate: a route's fixed bucket refuses past its burst with 429 rate_limited",
          "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.routes[0].rate_limit = RouteRateLimit{per_second(2), 2, RouteRateLimit::By::route, "", false};
  GateHarness g(config);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
    g.end();
  }
  const Step refused = g.admit(kStart + kSecond / 10);
  CHECK(refused.kind == Step::Kind::respond);
  CHECK(refused.status == 429);
  CHECK(refused.error == ErrorKind::rate_limited);
  const Exchange& ex = g.h.exchange();
  CHECK(ex.fate == Fate::rate_limited);
  CHECK(ex.limits.refusal.kind == limits::LimitKind::route_rate);
  CHECK(ex.limits.refusal.policy.quota == 2);
  CHECK(ex.limits.refusal.retry_after_s == 1);  // 400 ms, rounded up
  g.end();
  CHECK(limited(g.copy(), limits::LimitKind::route_rate) == 1);
  CHECK(g.copy().routes.at(0).tenant == "acme");
  // Half a second on, one more.
  CHECK(g.admit(kStart + kSecond / 2).kind == Step::Kind::proceed);
}

TEST_CASE("limit gate: a resumed request is not counted twice", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.routes[0].rate_limit = RouteRateLimit{per_second(1), 1, RouteRateLimit::By::route, "", false};
  GateHarness g(config);
  REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
  // Phases 3-5 run again after a suspension (Downstream::resume).
  PhaseInput in = g.h.input();
  g.h.exchange().resumed = true;
  REQUIRE(match_route(in).kind == Step::Kind::proceed);
  CHECK(admit_gates(in).kind == Step::Kind::proceed);
  g.end();
  CHECK(g.admit(kStart).kind == Step::Kind::respond);
}

TEST_CASE("limit gate: shadow limits count and refuse nothing", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.routes[0].rate_limit = RouteRateLimit{per_second(1), 1, RouteRateLimit::By::route, "", true};
  config.tenants[0].limits.max_concurrent = 1;
  config.tenants[0].limits.shadow = true;
  GateHarness g(config);
  REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
  CHECK_FALSE(g.h.exchange().limits.shadow_refused);
  // Still in flight: a second request is over both limits, and passes.
  limits::ConcurrencyCell* first_slot = g.h.exchange().limits.slot;
  REQUIRE(first_slot);
  g.h.exchange().limits.slot = nullptr;  // kept by "the first request" (released below)
  g.h.exchange().limits.holder.reset();
  g.h.context().next_request();
  CHECK(g.admit(kStart).kind == Step::Kind::proceed);
  CHECK(g.h.exchange().limits.shadow_refused);
  CHECK(g.h.exchange().limits.shadow_kind == limits::LimitKind::tenant_concurrency);
  CHECK(first_slot->in_flight() == 2);
  g.end();
  first_slot->release();
  CHECK(first_slot->in_flight() == 0);
  CHECK(limited(g.copy(), limits::LimitKind::route_rate, true) == 1);
  CHECK(limited(g.copy(), limits::LimitKind::tenant_concurrency, true) == 1);
  CHECK(limited(g.copy(), limits::LimitKind::route_rate) == 0);
}

TEST_CASE("limit gate: max_concurrent holds a slot until the request ends", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.tenants[0].limits.max_concurrent = 1;
  GateHarness g(config);
  REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
  limits::ConcurrencyCell* cell = g.h.exchange().limits.slot;
  REQUIRE(cell);
  CHECK(cell->in_flight() == 1);
  g.record_only();  // the request ends: its slot goes back
  CHECK(cell->in_flight() == 0);
  g.h.context().next_request();  // and not a second time
  CHECK(cell->in_flight() == 0);
  REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
  g.h.exchange().limits.slot = nullptr;  // a request still in flight elsewhere
  g.h.exchange().limits.holder.reset();
  g.h.context().next_request();
  const Step refused = g.admit(kStart);
  CHECK(refused.status == 429);
  CHECK(g.h.exchange().limits.refusal.kind == limits::LimitKind::tenant_concurrency);
  CHECK(g.h.exchange().limits.slot == nullptr);
  g.end();
  CHECK(cell->in_flight() == 1);
  cell->release();
  CHECK(limited(g.copy(), limits::LimitKind::tenant_concurrency) == 1);
  REQUIRE(g.copy().tenants.size() == 1);
  CHECK(g.copy().tenants[0].max_concurrent == 1);
}

TEST_CASE("limit gate: a refusal by a bucket gives the slot back at once", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.tenants[0].limits.max_concurrent = 10;
  config.tenants[0].limits.rate = per_second(1);
  config.tenants[0].limits.burst = 1;
  GateHarness g(config);
  REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
  limits::ConcurrencyCell* cell = g.h.exchange().limits.slot;
  g.end();
  CHECK(g.admit(kStart).status == 429);
  CHECK(g.h.exchange().limits.refusal.kind == limits::LimitKind::tenant_rate);
  CHECK(cell->in_flight() == 0);
  g.end();
  CHECK(cell->in_flight() == 0);
}

TEST_CASE("limit gate: keyed buckets by header, one shared key without it", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.routes[0].rate_limit = RouteRateLimit{per_second(1), 1, RouteRateLimit::By::header, "x-user", false};
  GateHarness g(config);
  const auto admitted = [&](const std::string& headers) {
    const bool ok = g.admit(kStart, headers).kind == Step::Kind::proceed;
    g.end();
    return ok;
  };
  CHECK(admitted("X-User: alice\r\n"));
  CHECK_FALSE(admitted("X-User: alice\r\n"));
  CHECK(admitted("X-User: bob\r\n"));
  CHECK(admitted(""));
  CHECK_FALSE(admitted("X-User: \r\n"));  // empty counts as absent
  CHECK(g.copy().keys == 3);
}

TEST_CASE("limit gate: keyed buckets by client address", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  config.routes[0].rate_limit = RouteRateLimit{per_second(1), 2, RouteRateLimit::By::client_ip, "", false};
  GateHarness g(config);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(g.admit(kStart).kind == Step::Kind::proceed);
    g.end();
  }
  CHECK(g.admit(kStart).status == 429);
  g.end();
  CHECK(g.copy().keys == 1);
}

TEST_CASE("limit gate: a route without limits passes untouched", "[proxy][pipeline][limits]") {
  tg::config::Config config = base();
  auto other = make_service("other", LbPolicy::round_robin, {{"b", 1, "127.0.0.1", 9}});
  config.services.push_back(std::move(other));
  config.routes[0].service = "other";  // no tenant, no rate_limit
  config.tenants[0].limits.max_concurrent = 1;
  GateHarness g(config);
  for (int i = 0; i < 3; ++i) {
    CHECK(g.admit(kStart).kind == Step::Kind::proceed);
    CHECK(g.h.exchange().limits.slot == nullptr);
  }
  CHECK(g.copy().routes.empty());
}
