// Event occurrences beside their groups (every event of any source), the
// level filter, paging of occurrences, status samples, and their retention
// deletes. SqliteStore and MemoryStore agree.
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

namespace tg::control {
namespace {

EventRecord event(std::int64_t time, const std::string& kind, const std::string& level, const std::string& fingerprint,
                  const std::string& message, const std::string& source = "ingest") {
  EventRecord e;
  e.time_unix_ms = time;
  e.source = source;
  e.kind = kind;
  e.level = level;
  e.tenant = "acme";
  e.service = "web";
  e.instance = "w" + std::to_string(time % 7);
  e.fingerprint = fingerprint;
  e.message = message;
  e.detail_json = "{\"t\":" + std::to_string(time) + "}";
  return e;
}

void check_occurrences(Store& store) {
  CommitBatch batch;
  for (int i = 0; i < 20; ++i)
    batch.events.push_back(event(1000 + i, "OrderFailed", "error", "order # failed", "order " + std::to_string(i) + " failed"));
  batch.events.push_back(event(2000, "health", "warning", "w1 healthy->unhealthy", "healthy -> unhealthy", "health-check"));
  batch.events.push_back(event(2001, "Debugging", "debug", "d", "d"));
  store.commit({batch});

  EventQuery grouped;
  const auto groups = store.list_events(grouped);
  REQUIRE(groups.size() == 3);
  const EventRow* orders = nullptr;
  for (const auto& g : groups)
    if (g.record.kind == "OrderFailed") orders = &g;
  REQUIRE(orders != nullptr);
  CHECK(orders->count == 20);
  CHECK(orders->group_id == 0);

  EventQuery single;
  single.occurrences = true;
  single.limit = 1000;
  const auto all = store.list_events(single);
  REQUIRE(all.size() == 22);  // every event, the health flip included
  CHECK(all[0].record.time_unix_ms == 2001);  // the newest first
  CHECK(all[0].count == 1);
  single.kind = "OrderFailed";
  const auto occurrences = store.list_events(single);
  REQUIRE(occurrences.size() == 20);
  for (const auto& o : occurrences) {
    CHECK(o.group_id == orders->id);
    CHECK(o.record.kind == "OrderFailed");
    CHECK(o.record.tenant == "acme");
    CHECK(o.first_seen_unix_ms == o.record.time_unix_ms);
  }
  CHECK(occurrences[0].record.message == "order 19 failed");
  CHECK(occurrences[0].record.detail_json == "{\"t\":1019}");
  CHECK(occurrences[19].record.message == "order 0 failed");

  // Paging by (time, id), as groups.
  single.limit = 8;
  std::vector<std::string> paged;
  for (int page = 0; page < 4; ++page) {
    const auto rows = store.list_events(single);
    for (const auto& r : rows) paged.push_back(r.record.message);
    if (rows.empty()) break;
    single.before_last_seen_unix_ms = rows.back().last_seen_unix_ms;
    single.before_id = rows.back().id;
  }
  REQUIRE(paged.size() == 20);
  CHECK(paged.back() == "order 0 failed");

  // At or above a level: groups and occurrences.
  EventQuery warnings;
  warnings.min_level = "warning";
  CHECK(store.list_events(warnings).size() == 2);
  warnings.occurrences = true;
  warnings.limit = 1000;
  CHECK(store.list_events(warnings).size() == 21);
  warnings.min_level = "critical";
  CHECK(store.list_events(warnings).empty());

  // Retention of occurrences: at most the limit, the oldest first; groups stay.
  CHECK(store.delete_occurrences_before(1010, 6) == 6);
  CHECK(store.delete_occurrences_before(1010, 6) == 4);
  CHECK(store.delete_occurrences_before(1010, 6) == 0);
  single = EventQuery{};
  single.occurrences = true;
  single.limit = 1000;
  CHECK(store.list_events(single).size() == 12);
  CHECK(store.list_events(EventQuery{}).size() == 3);
}

void check_samples(Store& store) {
  CommitBatch batch;
  for (int i = 0; i < 30; ++i) {
    StatusSample s;
    s.time_unix_ms = 1000 + i;
    s.tenant = "acme";
    s.service = i % 2 ? "web" : "api";
    s.instance = i % 2 ? "w1" : "a1";
    s.cpu = i;
    s.memory_bytes = i * 10;
    s.restarts = 1;
    s.load = 0.5;
    batch.status_samples.push_back(s);
  }
  store.commit({batch});
  StatusQuery query;
  query.instance = "w1";
  const auto w1 = store.list_status_samples(query);
  REQUIRE(w1.size() == 15);
  CHECK(w1.front().time_unix_ms == 1001);  // oldest first
  CHECK(w1.back().memory_bytes == 290);
  CHECK(w1.front().detail_json == "{}");
  query = StatusQuery{};
  query.service = "api";
  query.since_unix_ms = 1010;
  query.until_unix_ms = 1020;
  CHECK(store.list_status_samples(query).size() == 5);
  CHECK(store.delete_status_samples_before(1020, 15) == 15);
  CHECK(store.delete_status_samples_before(1020, 15) == 5);
  CHECK(store.list_status_samples(StatusQuery{}).size() == 10);
}

}  // namespace

TEST_CASE("occurrences: every event is kept beside its group, paged, filtered by level (memory store)",
          "[events][occurrences]") {
  MemoryStore store;
  check_occurrences(store);
}

TEST_CASE("occurrences: every event is kept beside its group, paged, filtered by level (sqlite store)",
          "[events][occurrences][sqlite]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  check_occurrences(store);
}

TEST_CASE("status samples: listed oldest first by scope and time, deleted in batches", "[status][sqlite]") {
  MemoryStore memory;
  check_samples(memory);
  test::TempDir dir;
  SqliteStore sqlite(SqliteOptions{dir.file("tg.db")});
  check_samples(sqlite);
}

}  // namespace tg::control
