// Telemetry.Report against the real tg-control (telemetry.proto): acks after
// commit, DUPLICATE for resends, REFUSED with a reason, the bearer-token
// check; Top and Series over gRPC, HTTP JSON and tgctl; and exactly-once
// under kill -9 — a simulated proxy resends whatever was not acked, and the
// stored sums equal what it sent, exactly.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/telemetry_stream.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <deque>
#include <map>
#include <random>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A route series with `ok` 2xx and `failed` 5xx answers, all in bucket 4 (500 us, 1 ms].
v1::SeriesDelta delta(const std::string& route, std::uint64_t ok, std::uint64_t failed) {
  v1::SeriesDelta d;
  d.set_tenant("acme");
  d.set_route(route);
  d.set_service("web");
  for (std::uint64_t n : {std::uint64_t{0}, ok, std::uint64_t{0}, std::uint64_t{0}, failed}) d.add_requests_by_class(n);
  for (int i = 0; i < 21; ++i) d.mutable_latency()->add_buckets(i == 4 ? ok + failed : 0);
  d.mutable_latency()->set_count(ok + failed);
  d.mutable_latency()->set_sum_us((ok + failed) * 800);
  if (failed) (*d.mutable_gateway_errors())["upstream_timeout"] = failed;
  return d;
}

v1::TelemetryBatch batch(const std::string& node, const std::string& boot, std::uint64_t seq) {
  v1::TelemetryBatch b;
  b.set_node_id(node);
  b.set_boot_id(boot);
  b.set_seq(seq);
  const std::int64_t now = now_ms();
  b.set_interval_start_unix_ms(now - 1000);
  b.set_interval_ms(1000);
  b.set_sent_unix_ms(now);
  return b;
}

// SELECT of one integer from the database (read-only, beside the running tg-control).
std::int64_t query_int(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(handle, 5000);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(handle, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
  std::int64_t value = -1;
  if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return value;
}

}  // namespace

TEST_CASE("telemetry: batches are acked after commit, resends DUPLICATE, malformed REFUSED, and Top and Series read them",
          "[control][telemetry]") {
  ControlProcess control;
  {
    TelemetryStream stream(control.grpc_address());
    auto first = batch("sim-1", "boot-1", 1);
    *first.add_series() = delta("api", 90, 10);
    *first.add_series() = delta("www", 40, 0);
    auto* event = first.add_events();
    event->set_time_unix_ms(now_ms());
    event->set_kind("breaker");
    event->set_level("warning");
    event->set_service("web");
    event->set_instance("web/10.0.0.1:80");
    event->set_fingerprint("web/10.0.0.1:80");
    event->set_message("closed -> open (5 consecutive failures)");
    REQUIRE(stream.send(first));
    auto bad = batch("sim-1", "boot-1", 2);
    *bad.add_series() = delta("api", 1, 0);
    bad.mutable_series(0)->mutable_latency()->set_count(2);
    REQUIRE(stream.send(bad));
    REQUIRE(stream.send(first));  // a resend
    auto a1 = stream.read(), a2 = stream.read(), a3 = stream.read();
    REQUIRE((a1 && a2 && a3));
    CHECK(a1->seq() == 1);
    CHECK(a1->result() == v1::TELEMETRY_RESULT_STORED);
    CHECK(a2->seq() == 2);
    CHECK(a2->result() == v1::TELEMETRY_RESULT_REFUSED);
    CHECK(a2->reason() == "series 0: latency: the buckets sum to 1, count is 2");
    CHECK(a3->result() == v1::TELEMETRY_RESULT_DUPLICATE);
    CHECK(stream.finish().ok());
  }
  CHECK(query_int(control.db_path(), "SELECT SUM(r2xx + r5xx) FROM telemetry_rollups") == 140);
  CHECK(query_int(control.db_path(), "SELECT seq FROM telemetry_marks WHERE node_id = 'sim-1'") == 1);
  CHECK(query_int(control.db_path(), "SELECT count FROM events WHERE source = 'proxy:sim-1' AND kind = 'breaker'") == 1);

  const auto stub = control.stub();
  v1::TopRequest top_request;
  v1::TopResponse top;
  REQUIRE(stub->Top(admin_context().get(), top_request, &top).ok());
  REQUIRE(top.rows_size() == 2);
  CHECK(top.rows(0).route() == "api");
  CHECK(top.rows(0).requests() == 100);
  CHECK(top.rows(0).errors() == 10);
  CHECK(top.rows(0).p99_ms() > 0.5);
  CHECK(top.rows(0).p99_ms() <= 1.0);
  CHECK(top.proxies_reporting() == 1);

  v1::SeriesRequest series_request;
  series_request.set_metric("requests");
  series_request.set_route("api");
  series_request.set_step_ms(10'000);
  series_request.set_since_unix_ms(now_ms() - 60'000);
  v1::SeriesResponse series;
  REQUIRE(stub->Series(admin_context().get(), series_request, &series).ok());
  double total = 0;
  for (const auto& p : series.points()) total += p.value();
  CHECK(total == 100.0);
  series_request.set_step_ms(60'000);  // from the minute rollups
  series_request.set_since_unix_ms(now_ms() - 600'000);
  v1::SeriesResponse minutes;
  REQUIRE(stub->Series(admin_context().get(), series_request, &minutes).ok());
  total = 0;
  for (const auto& p : minutes.points()) total += p.value();
  CHECK(total == 100.0);
  series_request.set_metric("cpu");
  grpc::Status status = stub->Series(admin_context().get(), series_request, &minutes);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // A container status metric needs a service or instance scope (not a route).
  CHECK(status.error_message() == "service: a scope is required: service or instance (tenant filters)");

  // The same through HTTP JSON.
  const auto http = HttpClient(control.http_port()).post("/v1/admin/Top", "{\"by\":\"service\"}", {{"Connection", "close"}});
  CHECK(http.status == 200);
  CHECK(http.body.find("\"service\":\"web\"") != std::string::npos);
  CHECK(http.body.find("\"requests\":\"140\"") != std::string::npos);

  // /metrics carries the tenant families.
  const auto metrics = HttpClient(control.http_port()).get("/metrics", {{"Connection", "close"}});
  CHECK(metrics.body.find("tg_control_tenant_requests_total{tenant=\"acme\",service=\"web\",class=\"5xx\"} 10") !=
        std::string::npos);
  CHECK(metrics.body.find("tg_control_telemetry_batches_total{result=\"refused\"} 1") != std::string::npos);
  CHECK(metrics.body.find("tg_control_telemetry_batches_total{result=\"duplicate\"} 1") != std::string::npos);

  // After a restart the window is re-seeded from the rollups.
  control.stop();
  control.start();
  v1::TopResponse again;
  REQUIRE(control.stub()->Top(admin_context().get(), top_request, &again).ok());
  REQUIRE(again.rows_size() == 2);
  CHECK(again.rows(0).requests() == 100);
}

TEST_CASE("telemetry: a stream needs a proxy or admin token", "[control][telemetry][auth]") {
  ControlOptions options;
  options.tokens = "ops admin-secret admin\nedge proxy-secret proxy\nlook viewer-secret viewer\n";
  ControlProcess control(options);
  for (const auto& [token, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"", grpc::StatusCode::UNAUTHENTICATED},
           {"nope", grpc::StatusCode::UNAUTHENTICATED},
           {"viewer-secret", grpc::StatusCode::PERMISSION_DENIED}}) {
    TelemetryStream stream(control.grpc_address(), token);
    stream.send(batch("sim-1", "boot-1", 1));
    CHECK_FALSE(stream.read());
    CHECK(stream.finish().error_code() == code);
  }
  TelemetryStream stream(control.grpc_address(), "proxy-secret");
  auto b = batch("sim-1", "boot-1", 1);
  *b.add_series() = delta("api", 1, 0);
  REQUIRE(stream.send(b));
  const auto ack = stream.read();
  REQUIRE(ack);
  CHECK(ack->result() == v1::TELEMETRY_RESULT_STORED);
}

// The simulated proxy: batches of random deltas, a window of 8 unacked, a
// buffer of everything not acked that is resent in seq order on every new
// stream. tg-control is killed (SIGKILL) in each round after a random
// number of acks: sometimes with nothing in flight (between batches),
// sometimes with batches sent and not acked (during a stream).
TEST_CASE("telemetry: kill -9 of tg-control between batches and during a stream loses nothing, counts nothing twice",
          "[control][telemetry][kill9]") {
  ControlProcess control;
  std::mt19937 random(std::random_device{}());
  constexpr std::uint64_t kBatches = 240;
  constexpr std::size_t kWindow = 8;
  const std::string node = "sim-kill", boot = "boot-" + std::to_string(random());
  std::map<std::string, std::uint64_t> sent_ok, sent_failed;  // by route
  std::deque<v1::TelemetryBatch> unacked;
  std::uint64_t created = 0, stored = 0, duplicates = 0;
  int kills = 0;
  const auto make_batch = [&] {
    auto b = batch(node, boot, ++created);
    for (const char* route : {"a", "b", "c"}) {
      const std::uint64_t ok = random() % 50, failed = random() % 5;
      if (ok + failed == 0) continue;
      *b.add_series() = delta(route, ok, failed);
      sent_ok[route] += ok;
      sent_failed[route] += failed;
    }
    return b;
  };
  int rounds = 0;
  while (created < kBatches || !unacked.empty()) {
    REQUIRE(++rounds < 20);  // a stream that keeps breaking without a kill fails the test, not the suite
    const bool kill = kills < 6;
    const std::uint64_t kill_after = 5 + random() % 40;
    const bool idle = kills % 2 == 0;  // between batches, else with batches in flight
    TelemetryStream stream(control.grpc_address());
    std::size_t in_flight = 0;  // unacked[0, in_flight) are sent on this stream
    std::uint64_t acked_here = 0;
    for (;;) {
      const bool stop_sending = kill && idle && acked_here + in_flight >= kill_after;
      bool broken = false;
      while (!stop_sending && in_flight < kWindow && (in_flight < unacked.size() || created < kBatches)) {
        if (in_flight == unacked.size()) unacked.push_back(make_batch());
        if (!stream.send(unacked[in_flight])) {
          broken = true;
          break;
        }
        ++in_flight;
      }
      if (broken || in_flight == 0) break;  // gone, or everything acked (or idle: time to kill)
      if (kill && !idle && acked_here >= kill_after) break;  // kill with `in_flight` unacked
      const auto ack = stream.read();
      if (!ack) break;
      REQUIRE(ack->seq() == unacked.front().seq());
      REQUIRE(ack->result() != v1::TELEMETRY_RESULT_REFUSED);
      (ack->result() == v1::TELEMETRY_RESULT_STORED ? stored : duplicates) += 1;
      unacked.pop_front();
      --in_flight;
      ++acked_here;
    }
    if (!kill) {
      CHECK(stream.finish().ok());
      continue;
    }
    UNSCOPED_INFO("round " << kills << ": killed with " << in_flight << " batch(es) sent and not acked");
    control.kill();
    ++kills;
    control.start();
  }
  CHECK(kills == 6);
  CHECK(unacked.empty());
  CHECK(stored + duplicates == kBatches);
  for (const char* route : {"a", "b", "c"}) {
    INFO("route " << route);
    const std::string where = "FROM telemetry_rollups r JOIN telemetry_series s ON s.id = r.series_id WHERE s.route = '" +
                              std::string(route) + "'";
    CHECK(query_int(control.db_path(), "SELECT SUM(r2xx) " + where) == static_cast<std::int64_t>(sent_ok[route]));
    CHECK(query_int(control.db_path(), "SELECT SUM(r5xx) " + where) == static_cast<std::int64_t>(sent_failed[route]));
    CHECK(query_int(control.db_path(), "SELECT SUM(latency_count) " + where) ==
          static_cast<std::int64_t>(sent_ok[route] + sent_failed[route]));
  }
  CHECK(query_int(control.db_path(), "SELECT seq FROM telemetry_marks WHERE node_id = '" + node + "'") ==
        static_cast<std::int64_t>(kBatches));
  // The restarted process's window holds the same (re-seeded, then fed).
  v1::TopRequest request;
  request.set_window_ms(3'600'000);
  request.set_sort("name");
  v1::TopResponse top;
  REQUIRE(control.stub()->Top(admin_context().get(), request, &top).ok());
  REQUIRE(top.rows_size() == 3);
  CHECK(top.rows(0).requests() == sent_ok["a"] + sent_failed["a"]);
}

TEST_CASE("telemetry: tgctl top and tgctl metrics series", "[control][telemetry][tgctl]") {
  ControlProcess control;
  {
    TelemetryStream stream(control.grpc_address());
    auto b = batch("sim-1", "boot-1", 1);
    *b.add_series() = delta("api", 90, 10);
    *b.add_series() = delta("www", 40, 0);
    REQUIRE(stream.send(b));
    const auto ack = stream.read();
    REQUIRE(ack);
    REQUIRE(ack->result() == v1::TELEMETRY_RESULT_STORED);
  }
  const auto top = tgctl(control, {"top", "--sort", "rate", "-o", "json"});
  INFO(top.describe());
  REQUIRE(top.exit_code == 0);
  const auto rows = json_as<v1::TopResponse>(top);
  REQUIRE(rows.rows_size() == 2);
  CHECK(rows.rows(0).route() == "api");
  CHECK(rows.rows(0).requests() == 100);

  const auto table = tgctl(control, {"top", "--by", "service", "--window", "10m"});
  INFO(table.describe());
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.rfind("TENANT  SERVICE  REQUESTS  RATE/S  ERRORS  ERROR %", 0) == 0);
  CHECK(table.out.find("acme    web      140") != std::string::npos);
  CHECK(table.out.find("1 row(s) over the last 10m, 1 proxy reporting.") != std::string::npos);

  const auto series = tgctl(control, {"metrics", "series", "errors", "--route", "api", "--since", "2m", "--step", "10s",
                                      "-o", "json"});
  INFO(series.describe());
  REQUIRE(series.exit_code == 0);
  const auto points = json_as<v1::SeriesResponse>(series);
  double errors = 0;
  for (const auto& p : points.points()) errors += p.value();
  CHECK(errors == 10.0);
  CHECK(points.step_ms() == 10'000);

  const auto no_scope = tgctl(control, {"metrics", "series", "errors"});
  CHECK(no_scope.exit_code == 2);
  CHECK(no_scope.err.find("a scope is required") != std::string::npos);
  const auto bad_sort = tgctl(control, {"top", "--sort", "slow"});
  CHECK(bad_sort.exit_code == 2);
}
