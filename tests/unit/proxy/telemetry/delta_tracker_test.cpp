// DeltaTracker (proxy/telemetry/delta_tracker.hpp): per-series deltas of the
// workers' cumulative counters, summed over workers; zero series omitted;
// counters carried across tables keep counting; a route removed and re-added
// starts clean; a worker that did not answer counts in a later batch.
#include "telemetry/delta_tracker.hpp"

#include <catch2/catch.hpp>

using tg::proxy::ErrorKind;
using tg::proxy::Fate;
using tg::proxy::UpstreamError;
using tg::proxy::WorkerStatsCopy;
using tg::proxy::telemetry::DeltaTracker;
using tg::proxy::telemetry::SeriesDeltaCounts;
using tg::proxy::telemetry::SeriesKey;

namespace {

using Copies = std::vector<std::optional<WorkerStatsCopy>>;

WorkerStatsCopy::Route route(std::string name, std::uint64_t serial, std::uint64_t ok, std::uint64_t errors_5xx = 0) {
  WorkerStatsCopy::Route r;
  r.name = std::move(name);
  r.service = "svc";
  r.tenant = "acme";
  r.serial = serial;
  r.requests[1] = ok;
  r.requests[4] = errors_5xx;
  r.errors[static_cast<std::size_t>(ErrorKind::connect_failure)] = errors_5xx;
  r.fates[static_cast<std::size_t>(Fate::ok)] = ok + errors_5xx;
  for (std::uint64_t i = 0; i < ok + errors_5xx; ++i) r.latency.record(300);
  return r;
}

const SeriesDeltaCounts* find(const std::vector<SeriesDeltaCounts>& deltas, const SeriesKey& key) {
  for (const auto& d : deltas)
    if (d.key == key) return &d;
  return nullptr;
}

const SeriesKey kRouteA{"acme", "a", "svc", ""};

}  // namespace

TEST_CASE("the first update gives the counters as they are, summed over workers", "[proxy][telemetry]") {
  DeltaTracker tracker(2);
  WorkerStatsCopy w0, w1;
  w0.routes = {route("a", 1, 3, 1)};
  w1.routes = {route("a", 2, 2)};
  const auto deltas = tracker.update(Copies{w0, w1});
  REQUIRE(deltas.size() == 1);
  const SeriesDeltaCounts* a = find(deltas, kRouteA);
  REQUIRE(a);
  CHECK(a->counts.requests[1] == 5);
  CHECK(a->counts.requests[4] == 1);
  CHECK(a->counts.errors[static_cast<std::size_t>(ErrorKind::connect_failure)] == 1);
  CHECK(a->counts.latency.count == 6);
  CHECK(a->counts.fates[static_cast<std::size_t>(Fate::ok)] == 6);
}

TEST_CASE("later updates give what grew, and a series that did not move is omitted", "[proxy][telemetry]") {
  DeltaTracker tracker(1);
  WorkerStatsCopy w;
  w.routes = {route("a", 1, 10), route("b", 2, 4)};
  tracker.update(Copies{w});
  w.routes = {route("a", 1, 13), route("b", 2, 4)};
  const auto deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].key == kRouteA);
  CHECK(deltas[0].counts.requests[1] == 3);
  CHECK(deltas[0].counts.latency.count == 3);
  CHECK(deltas[0].counts.latency.sum_us == 900);
  CHECK(tracker.update(Copies{w}).empty());
}

TEST_CASE("counters carried over a table switch keep counting (same object)", "[proxy][telemetry]") {
  DeltaTracker tracker(1);
  WorkerStatsCopy w;
  w.routes = {route("a", 7, 5)};
  tracker.update(Copies{w});
  // A new table: another route first, the same RouteRuntime for "a" at another position.
  w.routes = {route("z", 8, 0), route("a", 7, 6)};
  const auto deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[1] == 1);
}

TEST_CASE("a route removed and re-added starts clean: no negative delta, nothing counted twice",
          "[proxy][telemetry]") {
  DeltaTracker tracker(1);
  WorkerStatsCopy w;
  w.routes = {route("a", 1, 100)};
  tracker.update(Copies{w});
  w.routes = {};  // removed
  CHECK(tracker.update(Copies{w}).empty());
  w.routes = {route("a", 2, 3)};  // re-added: a new object counting from 0
  auto deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[1] == 3);
  // Removed and re-added between two updates: the new object's counts, all
  // of them, even fewer than the old one had.
  w.routes = {route("a", 3, 1)};
  deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[1] == 1);
  // ... or more than the old one had.
  w.routes = {route("a", 4, 50)};
  deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[1] == 50);
}

TEST_CASE("a worker without a copy counts in a later update", "[proxy][telemetry]") {
  DeltaTracker tracker(2);
  WorkerStatsCopy w0, w1;
  w0.routes = {route("a", 1, 1)};
  w1.routes = {route("a", 2, 1)};
  tracker.update(Copies{w0, w1});
  w0.routes = {route("a", 1, 2)};
  w1.routes = {route("a", 2, 5)};
  auto deltas = tracker.update(Copies{w0, std::nullopt});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[1] == 1);
  deltas = tracker.update(Copies{w0, w1});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[1] == 4);
}

TEST_CASE("instance series: tries by class, try errors under the access log's kinds, bytes", "[proxy][telemetry]") {
  DeltaTracker tracker(1);
  WorkerStatsCopy w;
  WorkerStatsCopy::Instance i;
  i.id = "i1";
  i.service = "svc";
  i.tenant = "acme";
  i.serial = 9;
  i.responses[1] = 2;
  i.responses[4] = 1;
  i.errors[static_cast<std::size_t>(UpstreamError::connect_failure)] = 3;
  i.errors[static_cast<std::size_t>(UpstreamError::reset)] = 1;
  i.errors[static_cast<std::size_t>(UpstreamError::timeout)] = 2;
  i.bytes_out = 120;
  w.instances = {i};
  const auto deltas = tracker.update(Copies{w});
  const SeriesDeltaCounts* d = find(deltas, SeriesKey{"acme", "", "svc", "i1"});
  REQUIRE(d);
  CHECK(d->counts.requests[1] == 2);
  CHECK(d->counts.requests[4] == 1);
  CHECK(d->counts.errors[static_cast<std::size_t>(ErrorKind::connect_failure)] == 3);
  CHECK(d->counts.errors[static_cast<std::size_t>(ErrorKind::upstream_reset)] == 1);
  CHECK(d->counts.errors[static_cast<std::size_t>(ErrorKind::timeout)] == 2);
  CHECK(d->counts.bytes_out == 120);
  CHECK(d->counts.latency.count == 0);
}

TEST_CASE("the unrouted series has empty route and service", "[proxy][telemetry]") {
  DeltaTracker tracker(1);
  WorkerStatsCopy w;
  w.stats.unrouted_requests[3] = 4;
  w.stats.unrouted_errors[static_cast<std::size_t>(ErrorKind::no_route)] = 4;
  auto deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].key == SeriesKey{});
  CHECK(deltas[0].counts.requests[3] == 4);
  w.stats.unrouted_requests[3] = 5;
  w.stats.unrouted_errors[static_cast<std::size_t>(ErrorKind::no_route)] = 5;
  deltas = tracker.update(Copies{w});
  REQUIRE(deltas.size() == 1);
  CHECK(deltas[0].counts.requests[3] == 1);
}

TEST_CASE("auth failures and rate limits come from the error kinds, and are not gateway errors",
          "[proxy][telemetry]") {
  tg::proxy::telemetry::SeriesCounts c;
  c.errors[static_cast<std::size_t>(ErrorKind::unauthenticated)] = 2;
  c.errors[static_cast<std::size_t>(ErrorKind::forbidden)] = 1;
  c.errors[static_cast<std::size_t>(ErrorKind::rate_limited)] = 4;
  CHECK(c.auth_failures() == 3);
  CHECK(c.rate_limited() == 4);
  CHECK_FALSE(tg::proxy::telemetry::is_gateway_error(ErrorKind::unauthenticated));
  CHECK_FALSE(tg::proxy::telemetry::is_gateway_error(ErrorKind::rate_limited));
  CHECK_FALSE(tg::proxy::telemetry::is_gateway_error(ErrorKind::none));
  CHECK(tg::proxy::telemetry::is_gateway_error(ErrorKind::connect_failure));
  CHECK(tg::proxy::telemetry::is_gateway_error(ErrorKind::overflow));
}
