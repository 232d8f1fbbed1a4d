// Checks of a TelemetryBatch (REFUSED with a reason naming the field) and
// where its deltas are bucketed in time (skew, lateness).
#include "telemetry/batch.hpp"

#include "telemetry/telemetry_fixtures.hpp"

#include <catch2/catch.hpp>

namespace tg::control::telemetry {
namespace {

using namespace tg::control::test;

TEST_CASE("telemetry batch: a well-formed batch has no problem", "[telemetry]") {
  auto b = batch("proxy-1", "boot-a", 1);
  *b.add_series() = route_delta("acme", "web", "web-svc", 10, 1);
  auto* e = b.add_events();
  e->set_time_unix_ms(kT0);
  e->set_kind("breaker");
  e->set_level("warning");
  e->set_message("closed -> open");
  CHECK(batch_problem(b).empty());
}

TEST_CASE("telemetry batch: each malformed field is refused by name", "[telemetry]") {
  auto b = batch("proxy-1", "boot-a", 1);
  *b.add_series() = route_delta("acme", "web", "web-svc", 10, 0);
  *b.add_series() = route_delta("acme", "web2", "web-svc", 10, 0);
  SECTION("node id") {
    b.set_node_id("bad node");
    CHECK(batch_problem(b).rfind("node_id:", 0) == 0);
  }
  SECTION("boot id") {
    b.set_boot_id("");
    CHECK(batch_problem(b) == "boot_id: required");
  }
  SECTION("seq") {
    b.set_seq(0);
    CHECK(batch_problem(b) == "seq: must be 1 or more");
  }
  SECTION("requests_by_class") {
    b.mutable_series(1)->mutable_requests_by_class()->RemoveLast();
    CHECK(batch_problem(b) == "series 1: requests_by_class has 4 entries (0 or 5)");
  }
  SECTION("histogram buckets") {
    b.mutable_series(0)->mutable_latency()->mutable_buckets()->RemoveLast();
    CHECK(batch_problem(b) == "series 0: latency.buckets has 20 entries (0 or 21)");
  }
  SECTION("bucket sum") {
    b.mutable_series(0)->mutable_latency()->set_count(11);
    CHECK(batch_problem(b) == "series 0: latency: the buckets sum to 10, count is 11");
  }
  SECTION("name lengths") {
    b.mutable_series(1)->set_tenant(std::string(64, 'a'));
    CHECK(batch_problem(b) == "series 1: tenant: 64 bytes; at most 63");
  }
  SECTION("event level") {
    auto* e = b.add_events();
    e->set_time_unix_ms(kT0);
    e->set_kind("breaker");
    e->set_level("loud");
    CHECK(batch_problem(b).rfind("events 0: level:", 0) == 0);
  }
}

TEST_CASE("telemetry batch: bucketed by interval start unless skewed or late", "[telemetry]") {
  SECTION("on time") {
    const Placement p = place(batch("p", "b", 1, kT0, kT0 + 1000), kT0 + 1200);
    CHECK(p.time_unix_ms == kT0);
    CHECK_FALSE(p.skewed);
    CHECK_FALSE(p.late);
  }
  SECTION("the proxy's clock is 6 s ahead: receive time") {
    const Placement p = place(batch("p", "b", 1, kT0 + 6000, kT0 + 7000), kT0 + 1000);
    CHECK(p.skewed);
    CHECK(p.time_unix_ms == kT0 + 1000);
  }
  SECTION("a resend three minutes after its interval: receive time, late") {
    const Placement p = place(batch("p", "b", 1, kT0, kT0 + 180'000), kT0 + 180'500);
    CHECK(p.late);
    CHECK_FALSE(p.skewed);
    CHECK(p.time_unix_ms == kT0 + 180'500);
  }
  SECTION("a resend within two minutes keeps its interval") {
    const Placement p = place(batch("p", "b", 1, kT0, kT0 + 100'000), kT0 + 100'500);
    CHECK_FALSE(p.late);
    CHECK(p.time_unix_ms == kT0);
  }
}

}  // namespace
}  // namespace tg::control::telemetry
