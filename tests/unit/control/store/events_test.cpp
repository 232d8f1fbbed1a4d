// The events table: occurrences grouped by (tenant, service, kind,
// fingerprint) with count and first/last seen, filters, paging, and a
// restart that keeps them. SqliteStore and MemoryStore agree.
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>

namespace tg::control {
namespace {

using test::TempDir;

EventRecord event(std::int64_t time, const std::string& service, const std::string& instance,
                  const std::string& fingerprint, const std::string& message) {
  EventRecord e;
  e.time_unix_ms = time;
  e.source = "health-check";
  e.kind = "health";
  e.level = "warning";
  e.tenant = "acme";
  e.service = service;
  e.instance = instance;
  e.fingerprint = fingerprint;
  e.message = message;
  e.detail_json = "{\"n\":" + std::to_string(time) + "}";
  return e;
}

CommitBatch with_events(std::vector<EventRecord> events) {
  CommitBatch batch;
  batch.events = std::move(events);
  return batch;
}

void check_grouping(Store& store) {
  store.commit({with_events({event(1000, "web", "w1", "w1 down", "first"), event(1100, "api", "a1", "a1 down", "a")})});
  store.commit({with_events({event(2000, "web", "w1", "w1 down", "second")})});
  store.commit({with_events({event(3000, "web", "w2", "w2 down", "w2")})});

  auto all = store.list_events(EventQuery{});
  REQUIRE(all.size() == 3);
  // The most recently seen first.
  CHECK(all[0].record.instance == "w2");
  CHECK(all[1].record.instance == "w1");
  CHECK(all[2].record.instance == "a1");
  // One group for the two occurrences of "w1 down": the newest's fields, both times.
  CHECK(all[1].count == 2);
  CHECK(all[1].first_seen_unix_ms == 1000);
  CHECK(all[1].last_seen_unix_ms == 2000);
  CHECK(all[1].record.message == "second");
  CHECK(all[1].record.detail_json == "{\"n\":2000}");

  EventQuery by_instance;
  by_instance.instance = "w1";
  REQUIRE(store.list_events(by_instance).size() == 1);
  EventQuery by_service;
  by_service.service = "web";
  CHECK(store.list_events(by_service).size() == 2);
  EventQuery since;
  since.since_unix_ms = 2000;  // groups last seen at or after
  CHECK(store.list_events(since).size() == 2);
  EventQuery other_kind;
  other_kind.kind = "exception";
  CHECK(store.list_events(other_kind).empty());

  // Paging: the last row of a page is the cursor of the next.
  EventQuery page;
  page.limit = 2;
  const auto first = store.list_events(page);
  REQUIRE(first.size() == 2);
  page.before_last_seen_unix_ms = first.back().last_seen_unix_ms;
  page.before_id = first.back().id;
  const auto second = store.list_events(page);
  REQUIRE(second.size() == 1);
  CHECK(second[0].record.instance == "a1");
}

TEST_CASE("events: grouped with counts, filtered and paged (SQLite)", "[events][sqlite]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  check_grouping(store);
}

TEST_CASE("events: grouped with counts, filtered and paged (memory)", "[events]") {
  MemoryStore store;
  check_grouping(store);
}

TEST_CASE("events: a reopened database keeps them and groups on", "[events][sqlite]") {
  TempDir dir;
  {
    SqliteStore store(SqliteOptions{dir.file("tg.db")});
    store.commit({with_events({event(1000, "web", "w1", "w1 down", "first")})});
  }
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  store.commit({with_events({event(5000, "web", "w1", "w1 down", "again")})});
  const auto all = store.list_events(EventQuery{});
  REQUIRE(all.size() == 1);
  CHECK(all[0].count == 2);
  CHECK(all[0].first_seen_unix_ms == 1000);
  CHECK(all[0].last_seen_unix_ms == 5000);
}

TEST_CASE("events: a failed commit stores none of its events", "[events]") {
  MemoryStore store;
  store.fail_next_commit();
  CHECK_THROWS(store.commit({with_events({event(1000, "web", "w1", "w1 down", "lost")})}));
  CHECK(store.list_events(EventQuery{}).empty());
}

}  // namespace
}  // namespace tg::control
