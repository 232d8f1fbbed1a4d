// The proto form of a series' deltas and of a breaker transition
// (proxy/telemetry/batch_build.hpp), as tg-control validates them.
#include "telemetry/batch_build.hpp"

#include <catch2/catch.hpp>

using tg::proxy::BreakerEventCopy;
using tg::proxy::ErrorKind;
using tg::proxy::Fate;
using tg::proxy::telemetry::SeriesDeltaCounts;
using tg::proxy::telemetry::to_proto;
namespace v1 = tenantgate::v1;
namespace resilience = tg::proxy::resilience;

TEST_CASE("a retried request and a 401 as series deltas", "[proxy][telemetry]") {
  SeriesDeltaCounts d;
  d.key = {"acme", "r", "svc", ""};
  d.counts.requests[1] = 1;  // the retried request, answered 200
  d.counts.requests[3] = 1;  // the 401
  d.counts.retries = 1;
  d.counts.fates[static_cast<std::size_t>(Fate::retried_ok)] = 1;
  d.counts.fates[static_cast<std::size_t>(Fate::auth_failed)] = 1;
  d.counts.errors[static_cast<std::size_t>(ErrorKind::none)] = 1;
  d.counts.errors[static_cast<std::size_t>(ErrorKind::unauthenticated)] = 1;
  d.counts.bytes_out = 12;
  d.counts.latency.record(300);
  d.counts.latency.record(700);
  v1::SeriesDelta out;
  to_proto(d, out);
  CHECK(out.tenant() == "acme");
  CHECK(out.route() == "r");
  CHECK(out.instance().empty());
  REQUIRE(out.requests_by_class_size() == 5);
  CHECK(out.requests_by_class(1) == 1);
  CHECK(out.requests_by_class(3) == 1);
  CHECK(out.retries() == 1);
  CHECK(out.auth_failures() == 1);
  CHECK(out.gateway_errors().empty());
  REQUIRE(out.fates().size() == 2);
  CHECK(out.fates().at("retried_ok") == 1);
  CHECK(out.fates().at("auth_failed") == 1);
  CHECK(out.bytes_out() == 12);
  REQUIRE(out.latency().buckets_size() == 21);
  CHECK(out.latency().count() == 2);
  CHECK(out.latency().sum_us() == 1000);
  CHECK(out.latency().buckets(3) == 1);  // 300 µs: bucket <= 500
  CHECK(out.latency().buckets(4) == 1);  // 700 µs: bucket <= 1000
}

TEST_CASE("zero request classes and an empty histogram are left out", "[proxy][telemetry]") {
  SeriesDeltaCounts d;
  d.key = {"", "", "svc", "i1"};
  d.counts.errors[static_cast<std::size_t>(ErrorKind::connect_failure)] = 2;
  v1::SeriesDelta out;
  to_proto(d, out);
  CHECK(out.requests_by_class_size() == 0);
  CHECK_FALSE(out.has_latency());
  REQUIRE(out.gateway_errors().size() == 1);
  CHECK(out.gateway_errors().at("connect_failure") == 2);
}

TEST_CASE("a breaker opening is a warning event, closing an info one", "[proxy][telemetry]") {
  BreakerEventCopy e;
  e.unix_ms = 1234;
  e.tenant = "acme";
  e.service = "svc";
  e.instance = "i1";
  e.address = "127.0.0.1:80";
  e.transition = {resilience::BreakerState::closed, resilience::BreakerState::open,
                  resilience::BreakerReason::consecutive_failures};
  e.open_for_ms = 10000;
  e.failures = 5;
  v1::TelemetryEvent out;
  to_proto(e, out);
  CHECK(out.kind() == "breaker");
  CHECK(out.level() == "warning");
  CHECK(out.message() == "closed -> open (5 consecutive failures)");
  CHECK(out.fingerprint() == "i1");
  CHECK(out.time_unix_ms() == 1234);
  CHECK(out.detail_json().find("\"open_for_ms\":10000") != std::string::npos);
  CHECK(out.detail_json().find("\"address\":\"127.0.0.1:80\"") != std::string::npos);
  e.transition = {resilience::BreakerState::half_open, resilience::BreakerState::closed,
                  resilience::BreakerReason::probe_succeeded};
  to_proto(e, out);
  CHECK(out.level() == "info");
  CHECK(out.message() == "half_open -> closed (probe succeeded)");
}
