#include "store/sqlite_ingest.hpp"
#include "store/sqlite_store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

namespace tg::control {

IngestStatements::IngestStatements(SQLite::Database& db)
    : occurrence_(db,
                  "INSERT INTO event_occurrences(group_id, time_unix_ms, source, instance, route, level, message, "
                  "detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      sample_(db,
              "INSERT INTO status_samples(time_unix_ms, tenant, service, instance, cpu, memory_bytes, restarts, load, "
              "detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)") {}

void IngestStatements::occurrence(std::int64_t group_id, const EventRecord& e) {
  occurrence_.reset();
  occurrence_.bind(1, static_cast<int64_t>(group_id));
  occurrence_.bind(2, static_cast<int64_t>(e.time_unix_ms));
  occurrence_.bind(3, e.source);
  occurrence_.bind(4, e.instance);
  occurrence_.bind(5, e.route);
  occurrence_.bind(6, e.level);
  occurrence_.bind(7, e.message);
  occurrence_.bind(8, e.detail_json.empty() ? std::string("{}") : e.detail_json);
  occurrence_.exec();
}

void IngestStatements::status_sample(const StatusSample& s) {
  sample_.reset();
  sample_.bind(1, static_cast<int64_t>(s.time_unix_ms));
  sample_.bind(2, s.tenant);
  sample_.bind(3, s.service);
  sample_.bind(4, s.instance);
  sample_.bind(5, s.cpu);
  sample_.bind(6, static_cast<int64_t>(s.memory_bytes));
  sample_.bind(7, static_cast<int64_t>(s.restarts));
  sample_.bind(8, s.load);
  sample_.bind(9, s.detail_json.empty() ? std::string("{}") : s.detail_json);
  sample_.exec();
}

namespace {

// As SqliteStore's other retention deletes: at most `limit` rows older than
// the cutoff, the oldest first, found by the time index.
std::size_t delete_before(SQLite::Database& db, const char* table, std::int64_t cutoff_unix_ms, std::size_t limit) {
  SQLite::Statement erase(db, std::string("DELETE FROM ") + table + " WHERE id IN (SELECT id FROM " + table +
                                  " WHERE time_unix_ms < ? ORDER BY time_unix_ms LIMIT ?)");
  erase.bind(1, static_cast<int64_t>(cutoff_unix_ms));
  erase.bind(2, static_cast<int64_t>(limit));
  try {
    return static_cast<std::size_t>(erase.exec());
  } catch (const SQLite::Exception& e) {
    if ((e.getErrorCode() & 0xff) == SQLITE_FULL) throw StoreFull(e.what());
    throw;
  }
}

}  // namespace

std::size_t SqliteStore::delete_occurrences_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  return delete_before(*db_, "event_occurrences", cutoff_unix_ms, limit);  // index event_occurrences_by_time
}

std::size_t SqliteStore::delete_status_samples_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  return delete_before(*db_, "status_samples", cutoff_unix_ms, limit);  // index status_samples_by_time
}

// The group's key columns come from the group row (tenant, service, kind,
// fingerprint are the same for all its occurrences); the rest is the
// occurrence's own.
std::vector<EventRow> SqliteStore::list_occurrences(const EventQuery& q) {
  SQLite::Statement query(*db_,
                          "SELECT o.id, o.group_id, e.tenant, e.service, o.instance, o.route, o.source, e.kind, "
                          "o.level, e.fingerprint, o.message, o.detail_json, o.time_unix_ms "
                          "FROM event_occurrences o JOIN events e ON e.id = o.group_id "
                          "WHERE (?1 = 0 OR o.time_unix_ms < ?1 OR (o.time_unix_ms = ?1 AND o.id < ?2)) "
                          "AND (?3 = '' OR e.tenant = ?3) AND (?4 = '' OR e.service = ?4) "
                          "AND (?5 = '' OR o.instance = ?5) AND (?6 = '' OR e.kind = ?6) "
                          "AND (?7 = 0 OR o.time_unix_ms >= ?7) "
                          "AND (?9 < 0 OR " TG_EVENT_LEVEL_RANK_SQL("o.level") " >= ?9) "
                          "ORDER BY o.time_unix_ms DESC, o.id DESC LIMIT ?8");
  query.bind(1, static_cast<int64_t>(q.before_last_seen_unix_ms));
  query.bind(2, static_cast<int64_t>(q.before_id));
  query.bind(3, q.tenant);
  query.bind(4, q.service);
  query.bind(5, q.instance);
  query.bind(6, q.kind);
  query.bind(7, static_cast<int64_t>(q.since_unix_ms));
  query.bind(8, static_cast<int64_t>(q.limit));
  query.bind(9, q.min_level.empty() ? -1 : event_level_rank(q.min_level));
  std::vector<EventRow> rows;
  while (query.executeStep()) {
    EventRow row;
    row.id = static_cast<std::uint64_t>(query.getColumn(0).getInt64());
    row.group_id = static_cast<std::uint64_t>(query.getColumn(1).getInt64());
    row.record.tenant = query.getColumn(2).getString();
    row.record.service = query.getColumn(3).getString();
    row.record.instance = query.getColumn(4).getString();
    row.record.route = query.getColumn(5).getString();
    row.record.source = query.getColumn(6).getString();
    row.record.kind = query.getColumn(7).getString();
    row.record.level = query.getColumn(8).getString();
    row.record.fingerprint = query.getColumn(9).getString();
    row.record.message = query.getColumn(10).getString();
    row.record.detail_json = query.getColumn(11).getString();
    row.record.time_unix_ms = query.getColumn(12).getInt64();
    row.count = 1;
    row.first_seen_unix_ms = row.last_seen_unix_ms = row.record.time_unix_ms;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<StatusSample> SqliteStore::list_status_samples(const StatusQuery& q) {
  SQLite::Statement query(*db_,
                          "SELECT time_unix_ms, tenant, service, instance, cpu, memory_bytes, restarts, load, "
                          "detail_json FROM status_samples "
                          "WHERE (?1 = '' OR tenant = ?1) AND (?2 = '' OR service = ?2) AND (?3 = '' OR instance = ?3) "
                          "AND time_unix_ms >= ?4 AND (?5 = 0 OR time_unix_ms < ?5) "
                          "ORDER BY time_unix_ms, id LIMIT ?6");
  query.bind(1, q.tenant);
  query.bind(2, q.service);
  query.bind(3, q.instance);
  query.bind(4, static_cast<int64_t>(q.since_unix_ms));
  query.bind(5, static_cast<int64_t>(q.until_unix_ms));
  query.bind(6, static_cast<int64_t>(q.limit));
  std::vector<StatusSample> rows;
  while (query.executeStep()) {
    StatusSample s;
    s.time_unix_ms = query.getColumn(0).getInt64();
    s.tenant = query.getColumn(1).getString();
    s.service = query.getColumn(2).getString();
    s.instance = query.getColumn(3).getString();
    s.cpu = query.getColumn(4).getDouble();
    s.memory_bytes = query.getColumn(5).getInt64();
    s.restarts = query.getColumn(6).getInt64();
    s.load = query.getColumn(7).getDouble();
    s.detail_json = query.getColumn(8).getString();
    rows.push_back(std::move(s));
  }
  return rows;
}

}  // namespace tg::control
