// SqliteStore's telemetry tables: upserts add, a batch's mark decides
// inside the transaction, marks survive reopening, queries filter and sum,
// retention deletes in bounded batches.
#include "store/sqlite_store.hpp"

#include "telemetry/telemetry_fixtures.hpp"
#include "temp_dir.hpp"

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

namespace tg::control {
namespace {

using test::kT0;
using test::TempDir;

TelemetryCommit commit_of(const std::string& node, const std::string& boot, std::uint64_t seq, SeriesKey series,
                          std::int64_t minute, std::uint64_t ok) {
  TelemetryCommit c;
  c.node_id = node;
  c.boot_id = boot;
  c.seq = seq;
  c.received_unix_ms = minute + 1000;
  RollupDelta d;
  d.series = std::move(series);
  d.minute_unix_ms = minute;
  d.counters.requests_by_class[1] = ok;
  d.counters.latency_count = ok;
  d.counters.latency_buckets[3] = ok;
  d.counters.latency_sum_us = ok * 300;
  d.error_kinds = {{"upstream_timeout", 1}};
  c.deltas.push_back(std::move(d));
  return c;
}

CommitBatch batch_of(std::vector<TelemetryCommit> commits) {
  CommitBatch b;
  b.telemetry = std::move(commits);
  return b;
}

std::int64_t count_rows(SqliteStore& store, const char* table) {
  return store.database().execAndGet(std::string("SELECT COUNT(*) FROM ") + table).getInt64();
}

const SeriesKey api{"acme", "api", "svc", ""};
const SeriesKey inst{"acme", "", "svc", "svc/1"};

TEST_CASE("sqlite rollups: upserts add, resends are not added, marks survive a reopen", "[sqlite][telemetry]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SqliteStore store(SqliteOptions{path});
    std::vector<CommitBatch> group = {batch_of({commit_of("p1", "b1", 1, api, kT0, 10)}),
                                      batch_of({commit_of("p2", "b1", 1, api, kT0, 5)}),
                                      // Same proxy twice in one group: the second sees the first's mark.
                                      batch_of({commit_of("p1", "b1", 1, api, kT0, 10)})};
    store.commit(group);
    CHECK_FALSE(group[0].telemetry[0].duplicate);
    CHECK_FALSE(group[1].telemetry[0].duplicate);
    CHECK(group[2].telemetry[0].duplicate);
    store.commit({batch_of({commit_of("p1", "b1", 2, api, kT0, 1), commit_of("p1", "b1", 3, inst, kT0, 4)})});
    CHECK(count_rows(store, "telemetry_rollups") == 2);  // one row per (series, minute)
    CHECK(store.database().execAndGet("SELECT count FROM telemetry_rollup_counts WHERE name = 'upstream_timeout' "
                                      "AND series_id = (SELECT id FROM telemetry_series WHERE route = 'api')")
              .getInt64() == 3);
  }
  SqliteStore store(SqliteOptions{path});
  auto marks = store.load_telemetry_marks();
  std::sort(marks.begin(), marks.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  REQUIRE(marks.size() == 2);
  CHECK(marks[0].seq == 3);
  CHECK(marks[1].seq == 1);
  std::vector<CommitBatch> resend = {batch_of({commit_of("p1", "b1", 3, inst, kT0, 4)})};
  store.commit(resend);
  CHECK(resend[0].telemetry[0].duplicate);
  CHECK(store.load_telemetry_series().size() == 2);
  RollupQuery q;
  q.tenant = "acme";
  q.since_unix_ms = kT0;
  q.until_unix_ms = kT0 + 60'000;
  const auto routes = store.read_rollup_minutes(q);
  REQUIRE(routes.size() == 1);
  CHECK(routes[0].counters.requests() == 16);
  CHECK(routes[0].counters.latency_buckets[3] == 16);
  CHECK(routes[0].counters.latency_sum_us == 16 * 300);
  q.instance_series = true;
  const auto instances = store.read_rollup_minutes(q);
  REQUIRE(instances.size() == 1);
  CHECK(instances[0].counters.requests() == 4);
  const auto rows = store.read_rollups_since(kT0);
  CHECK(rows.size() == 2);
}

TEST_CASE("sqlite rollups: a failed transaction stores neither deltas nor mark", "[sqlite][telemetry]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  CommitBatch bad;
  bad.telemetry.push_back(commit_of("p1", "b1", 1, api, kT0, 10));
  bad.mutations.push_back(Mutation{ObjectKind::route, "r", "no-such-service", std::string("x")});
  CHECK_THROWS(store.commit({bad}));
  CHECK(store.load_telemetry_marks().empty());
  CHECK(count_rows(store, "telemetry_rollups") == 0);
  std::vector<CommitBatch> again = {batch_of({commit_of("p1", "b1", 1, api, kT0, 10)})};
  store.commit(again);  // the series id cached by the failed transaction was dropped with it
  CHECK_FALSE(again[0].telemetry[0].duplicate);
  CHECK(count_rows(store, "telemetry_rollups") == 1);
}

TEST_CASE("sqlite rollups: retention deletes old minutes in bounded batches, then old marks", "[sqlite][telemetry]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  for (int m = 0; m < 10; ++m)
    store.commit({batch_of({commit_of("p1", "b1", static_cast<std::uint64_t>(m + 1), api, kT0 + m * 60'000, 1)})});
  CHECK(count_rows(store, "telemetry_rollups") == 10);
  CHECK(count_rows(store, "telemetry_rollup_counts") == 10);
  const std::int64_t cutoff = kT0 + 5 * 60'000;
  CHECK(store.delete_rollups_before(cutoff, 4) == 4);
  CHECK(count_rows(store, "telemetry_rollups") == 6);
  std::size_t total = 4, deleted = 0;
  while ((deleted = store.delete_rollups_before(cutoff, 4)) == 4) total += deleted;
  total += deleted;
  CHECK(total == 10);  // 5 rollups + 5 counts; the mark is recent
  CHECK(count_rows(store, "telemetry_rollups") == 5);
  CHECK(count_rows(store, "telemetry_marks") == 1);
  CHECK(store.delete_rollups_before(kT0 + 3'600'000, 1000) == 11);  // everything, and the mark
  CHECK(store.load_telemetry_marks().empty());
}

}  // namespace
}  // namespace tg::control
