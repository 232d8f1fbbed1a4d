// Retention (--audit-retention, --events-retention): audit rows older than
// the retention, and event groups last seen before it, are deleted in
// batches on the writer thread; younger rows stay.
#include "server/core.hpp"

#include "fake_clock.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <thread>

namespace tg::control {
namespace {

using namespace std::chrono_literals;

void add_audit(Store& store, std::int64_t time_unix_ms, int rows) {
  CommitBatch batch;
  for (int i = 0; i < rows; ++i)
    batch.audit.push_back(AuditRecord{time_unix_ms, "t", "Heartbeat", "instance", "i" + std::to_string(i), "{}", "{}"});
  store.commit({batch});
}

std::size_t audit_rows(Store& store) {
  AuditQuery all;
  all.limit = 100000;
  return store.list_audit(all).size();
}

// `groups` event groups (distinct fingerprints) last seen at `time_unix_ms`.
void add_events(Store& store, std::int64_t time_unix_ms, int groups, const std::string& prefix) {
  CommitBatch batch;
  for (int i = 0; i < groups; ++i)
    batch.events.push_back(EventRecord{time_unix_ms, "health-check", "health", "warning", "", "web", "a", "",
                                       prefix + std::to_string(i), "healthy -> unhealthy", "{}"});
  store.commit({batch});
}

std::size_t event_groups(Store& store) {
  EventQuery all;
  all.limit = 100000;
  return store.list_events(all).size();
}

TEST_CASE("sqlite store: delete_audit_before deletes at most the limit, oldest first", "[sqlite][retention]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  add_audit(store, 1000, 1500);
  add_audit(store, 5000, 20);
  CHECK(store.delete_audit_before(5000, 1000) == 1000);
  CHECK(store.delete_audit_before(5000, 1000) == 500);
  CHECK(store.delete_audit_before(5000, 1000) == 0);
  CHECK(audit_rows(store) == 20);
  CHECK(store.delete_audit_before(5001, 1000) == 20);
}

TEST_CASE("sqlite store: delete_events_before deletes groups last seen before the cutoff, at most the limit",
          "[sqlite][retention]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  add_events(store, 1000, 1500, "old-");
  add_events(store, 5000, 20, "young-");
  // A group first seen long ago but seen again since is kept whole.
  add_events(store, 1000, 1, "recurring-");
  add_events(store, 6000, 1, "recurring-");
  CHECK(store.delete_events_before(5000, 1000) == 1000);
  CHECK(store.delete_events_before(5000, 1000) == 500);
  CHECK(store.delete_events_before(5000, 1000) == 0);
  CHECK(event_groups(store) == 21);
  CHECK(store.delete_events_before(5001, 1000) == 20);
  const auto left = store.list_events(EventQuery{});
  REQUIRE(left.size() == 1);
  CHECK(left[0].count == 2);
  CHECK(left[0].first_seen_unix_ms == 1000);
}

TEST_CASE("core: audit retention deletes old rows in batches and keeps the rest", "[core][retention]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  test::FakeClock clock;
  const std::int64_t now = clock.unix_ms();
  add_audit(store, now - 3 * 3600 * 1000, 2500);  // older than the retention
  add_audit(store, now - 1800 * 1000, 7);          // younger
  Registry registry(clock);
  registry.load(store.load());
  CoreOptions options;
  options.audit_retention = 1h;
  options.retention_sweep = 10ms;
  options.retention_delete_batch = 1000;
  Core core(store, registry, options);
  core.start();
  std::uint64_t deleted = 0;
  for (int i = 0; i < 2000 && deleted < 2500; ++i) {
    std::promise<std::uint64_t> result;
    boost::asio::post(core.io(), [&] { result.set_value(core.metrics().audit_deleted()); });
    auto future = result.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    deleted = future.get();
    if (deleted < 2500) std::this_thread::sleep_for(5ms);
  }
  CHECK(deleted == 2500);
  core.stop();
  CHECK(audit_rows(store) == 7);
}

TEST_CASE("core: events retention deletes groups last seen before it in batches, at start, and keeps the rest",
          "[core][retention]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  test::FakeClock clock;
  const std::int64_t now = clock.unix_ms();
  add_events(store, now - 15LL * 24 * 3600 * 1000, 2500, "old-");  // last seen before the retention
  add_events(store, now - 3600 * 1000, 7, "young-");
  add_audit(store, now - 15LL * 24 * 3600 * 1000, 3);  // no audit retention: kept
  Registry registry(clock);
  registry.load(store.load());
  CoreOptions options;
  options.events_retention = 14 * 24h;
  options.retention_sweep = 1h;  // only the sweep at start runs within this test
  options.retention_delete_batch = 1000;
  Core core(store, registry, options);
  core.start();
  std::uint64_t deleted = 0;
  for (int i = 0; i < 2000 && deleted < 2500; ++i) {
    std::promise<std::uint64_t> result;
    boost::asio::post(core.io(), [&] { result.set_value(core.metrics().events_deleted()); });
    auto future = result.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    deleted = future.get();
    if (deleted < 2500) std::this_thread::sleep_for(5ms);
  }
  CHECK(deleted == 2500);
  core.stop();
  CHECK(event_groups(store) == 7);
  CHECK(audit_rows(store) == 3);
}

}  // namespace
}  // namespace tg::control
