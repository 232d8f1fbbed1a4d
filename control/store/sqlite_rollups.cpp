// SqliteStore's telemetry tables (migration 7): marks, series, minute
// rollups and their named counts. Runs on the writer thread like the rest
// of the store.
#include "store/sqlite_store.hpp"
#include "store/sqlite_ingest.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace tg::control {
namespace {

// The counter columns of telemetry_rollups in RollupCounters' order.
const std::string& counter_columns() {
  static const std::string columns = [] {
    std::string out =
        "r1xx, r2xx, r3xx, r4xx, r5xx, gateway_errors, retries, auth_failures, rate_limited, held, bytes_in, "
        "bytes_out, latency_count, latency_sum_us";
    for (std::size_t i = 0; i < metrics::kLatencyBuckets; ++i) out += ", b" + std::to_string(i);
    return out;
  }();
  return columns;
}
constexpr int kCounterColumns = 14 + static_cast<int>(metrics::kLatencyBuckets);

std::string upsert_rollup_sql() {
  std::string values = "?1, ?2";
  std::string updates;
  const std::string columns = counter_columns();
  std::size_t start = 0;
  for (int i = 0; i < kCounterColumns; ++i) {
    const std::size_t comma = columns.find(',', start);
    const std::string name = columns.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? columns.size() : comma + 2;
    values += ", ?" + std::to_string(i + 3);
    updates += std::string(i ? ", " : "") + name + " = " + name + " + excluded." + name;
  }
  return "INSERT INTO telemetry_rollups(series_id, minute_unix_ms, " + columns + ") VALUES (" + values +
         ") ON CONFLICT(series_id, minute_unix_ms) DO UPDATE SET " + updates;
}

// SQLite integers are signed 64-bit: counters are stored with the same bits.
std::int64_t as_column(std::uint64_t value) { return static_cast<std::int64_t>(value); }

void bind_counters(SQLite::Statement& s, int first, const RollupCounters& c) {
  int i = first;
  for (std::uint64_t v : c.requests_by_class) s.bind(i++, as_column(v));
  for (std::uint64_t v : {c.gateway_errors, c.retries, c.auth_failures, c.rate_limited, c.held, c.bytes_in,
                          c.bytes_out, c.latency_count, c.latency_sum_us})
    s.bind(i++, as_column(v));
  for (std::uint64_t v : c.latency_buckets) s.bind(i++, as_column(v));
}

RollupCounters read_counters(SQLite::Statement& s, int first) {
  RollupCounters c;
  int i = first;
  const auto next = [&s, &i] { return static_cast<std::uint64_t>(s.getColumn(i++).getInt64()); };
  for (auto& v : c.requests_by_class) v = next();
  for (std::uint64_t* v : {&c.gateway_errors, &c.retries, &c.auth_failures, &c.rate_limited, &c.held, &c.bytes_in,
                           &c.bytes_out, &c.latency_count, &c.latency_sum_us})
    *v = next();
  for (auto& v : c.latency_buckets) v = next();
  return c;
}

// What the group's new batches add to one (series, minute).
struct Merged {
  RollupCounters counters;
  std::map<std::string, std::uint64_t> error_kinds, fates;
};

}  // namespace

std::int64_t SqliteStore::series_id(const SeriesKey& key) {
  if (auto it = series_ids_.find(key); it != series_ids_.end()) return it->second;
  if (auto it = new_series_ids_.find(key); it != new_series_ids_.end()) return it->second;
  SQLite::Statement insert(*db_,
                           "INSERT INTO telemetry_series(tenant, route, service, instance) VALUES (?1, ?2, ?3, ?4) "
                           "ON CONFLICT(tenant, route, service, instance) DO NOTHING");
  insert.bind(1, key.tenant);
  insert.bind(2, key.route);
  insert.bind(3, key.service);
  insert.bind(4, key.instance);
  insert.exec();
  SQLite::Statement select(*db_,
                           "SELECT id FROM telemetry_series WHERE tenant = ?1 AND route = ?2 AND service = ?3 AND "
                           "instance = ?4");
  select.bind(1, key.tenant);
  select.bind(2, key.route);
  select.bind(3, key.service);
  select.bind(4, key.instance);
  if (!select.executeStep()) throw std::runtime_error("telemetry_series: the series just inserted is missing");
  const std::int64_t id = select.getColumn(0).getInt64();
  new_series_ids_.emplace(key, id);
  return id;
}

void SqliteStore::write_telemetry(const std::vector<CommitBatch>& batches) {
  bool any = false;
  for (const CommitBatch& batch : batches) any = any || !batch.telemetry.empty();
  if (!any) return;
  SQLite::Statement read_mark(*db_, "SELECT seq FROM telemetry_marks WHERE node_id = ?1 AND boot_id = ?2");
  SQLite::Statement write_mark(*db_,
                               "INSERT INTO telemetry_marks(node_id, boot_id, seq, updated_unix_ms) "
                               "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(node_id, boot_id) DO UPDATE SET "
                               "seq = excluded.seq, updated_unix_ms = excluded.updated_unix_ms");
  // Marks as this transaction moves them: two batches of one proxy can share
  // a group (the second must see the first's mark).
  std::map<std::pair<std::string, std::string>, std::uint64_t> marks;
  // Batches of many proxies report the same series: merged per (series,
  // minute) first, so the group writes each row once.
  std::map<std::pair<SeriesKey, std::int64_t>, Merged> merged;
  std::optional<SQLite::Statement> event;
  std::optional<IngestStatements> occurrences;  // each event's occurrence row
  for (const CommitBatch& batch : batches) {
    for (const TelemetryCommit& t : batch.telemetry) {
      const auto key = std::make_pair(t.node_id, t.boot_id);
      auto mark = marks.find(key);
      if (mark == marks.end()) {
        read_mark.reset();
        read_mark.bind(1, t.node_id);
        read_mark.bind(2, t.boot_id);
        const std::uint64_t stored =
            read_mark.executeStep() ? static_cast<std::uint64_t>(read_mark.getColumn(0).getInt64()) : 0;
        mark = marks.emplace(key, stored).first;
      }
      t.duplicate = t.seq <= mark->second;
      if (t.duplicate) continue;
      mark->second = t.seq;
      write_mark.reset();
      write_mark.bind(1, t.node_id);
      write_mark.bind(2, t.boot_id);
      write_mark.bind(3, as_column(t.seq));
      write_mark.bind(4, static_cast<std::int64_t>(t.received_unix_ms));
      write_mark.exec();
      if (!t.events.empty() && !event) {
        event.emplace(*db_, event_upsert_sql);
        occurrences.emplace(*db_);
      }
      for (const EventRecord& e : t.events) record_event(*event, *occurrences, e);
      for (const RollupDelta& d : t.deltas) {
        Merged& m = merged[{d.series, d.minute_unix_ms}];
        m.counters.add(d.counters);
        for (const auto& [name, n] : d.error_kinds) m.error_kinds[name] += n;
        for (const auto& [name, n] : d.fates) m.fates[name] += n;
      }
    }
  }
  if (merged.empty()) return;
  SQLite::Statement upsert(*db_, upsert_rollup_sql());
  SQLite::Statement count(*db_,
                          "INSERT INTO telemetry_rollup_counts(series_id, minute_unix_ms, what, name, count) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(series_id, minute_unix_ms, what, name) "
                          "DO UPDATE SET count = count + excluded.count");
  for (const auto& [key, m] : merged) {
    const std::int64_t id = series_id(key.first);
    upsert.reset();
    upsert.bind(1, id);
    upsert.bind(2, static_cast<std::int64_t>(key.second));
    bind_counters(upsert, 3, m.counters);
    upsert.exec();
    for (const auto* named : {&m.error_kinds, &m.fates}) {
      const char* what = named == &m.error_kinds ? "error" : "fate";
      for (const auto& [name, n] : *named) {
        count.reset();
        count.bind(1, id);
        count.bind(2, static_cast<std::int64_t>(key.second));
        count.bind(3, what);
        count.bind(4, name);
        count.bind(5, as_column(n));
        count.exec();
      }
    }
  }
}

std::vector<TelemetryMark> SqliteStore::load_telemetry_marks() {
  SQLite::Statement query(*db_, "SELECT node_id, boot_id, seq, updated_unix_ms FROM telemetry_marks");
  std::vector<TelemetryMark> marks;
  while (query.executeStep())
    marks.push_back(TelemetryMark{query.getColumn(0).getString(), query.getColumn(1).getString(),
                                  static_cast<std::uint64_t>(query.getColumn(2).getInt64()),
                                  query.getColumn(3).getInt64()});
  return marks;
}

std::vector<SeriesKey> SqliteStore::load_telemetry_series() {
  SQLite::Statement query(*db_, "SELECT id, tenant, route, service, instance FROM telemetry_series");
  std::vector<SeriesKey> keys;
  while (query.executeStep()) {
    SeriesKey key{query.getColumn(1).getString(), query.getColumn(2).getString(), query.getColumn(3).getString(),
                  query.getColumn(4).getString()};
    series_ids_.emplace(key, query.getColumn(0).getInt64());
    keys.push_back(std::move(key));
  }
  return keys;
}

std::vector<RollupRow> SqliteStore::read_rollups_since(std::int64_t since_unix_ms) {
  SQLite::Statement query(*db_, "SELECT s.tenant, s.route, s.service, s.instance, r.minute_unix_ms, " +
                                    counter_columns() +
                                    " FROM telemetry_rollups r JOIN telemetry_series s ON s.id = r.series_id "
                                    "WHERE r.minute_unix_ms >= ?1 ORDER BY r.minute_unix_ms");
  query.bind(1, static_cast<std::int64_t>(since_unix_ms));
  std::vector<RollupRow> rows;
  while (query.executeStep()) {
    RollupRow row;
    row.series = SeriesKey{query.getColumn(0).getString(), query.getColumn(1).getString(),
                           query.getColumn(2).getString(), query.getColumn(3).getString()};
    row.minute_unix_ms = query.getColumn(4).getInt64();
    row.counters = read_counters(query, 5);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<RollupMinute> SqliteStore::read_rollup_minutes(const RollupQuery& q) {
  std::string sums;
  {
    const std::string columns = counter_columns();
    std::size_t start = 0;
    for (int i = 0; i < kCounterColumns; ++i) {
      const std::size_t comma = columns.find(',', start);
      const std::string name = columns.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? columns.size() : comma + 2;
      sums += std::string(i ? ", " : "") + "SUM(r." + name + ")";
    }
  }
  SQLite::Statement query(*db_, "SELECT r.minute_unix_ms, " + sums +
                                    " FROM telemetry_rollups r JOIN telemetry_series s ON s.id = r.series_id "
                                    "WHERE r.minute_unix_ms >= ?1 AND r.minute_unix_ms < ?2 "
                                    "AND (?3 = '' OR s.tenant = ?3) AND (?4 = '' OR s.route = ?4) "
                                    "AND (?5 = '' OR s.service = ?5) AND (?6 = '' OR s.instance = ?6) "
                                    "AND ((?7 = 1) = (s.instance <> '')) "
                                    "GROUP BY r.minute_unix_ms ORDER BY r.minute_unix_ms");
  query.bind(1, static_cast<std::int64_t>(q.since_unix_ms));
  query.bind(2, static_cast<std::int64_t>(q.until_unix_ms));
  query.bind(3, q.tenant);
  query.bind(4, q.route);
  query.bind(5, q.service);
  query.bind(6, q.instance);
  query.bind(7, q.instance_series ? 1 : 0);
  std::vector<RollupMinute> minutes;
  while (query.executeStep()) minutes.push_back(RollupMinute{query.getColumn(0).getInt64(), read_counters(query, 1)});
  return minutes;
}

std::size_t SqliteStore::delete_rollups_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  try {
    SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    // The oldest minutes first, by the minute index; the named counts of
    // the same minutes go in the same transaction (at most `limit` too).
    SQLite::Statement rollups(*db_,
                              "DELETE FROM telemetry_rollups WHERE id IN (SELECT id FROM telemetry_rollups "
                              "WHERE minute_unix_ms < ?1 ORDER BY minute_unix_ms LIMIT ?2)");
    rollups.bind(1, static_cast<std::int64_t>(cutoff_unix_ms));
    rollups.bind(2, static_cast<std::int64_t>(limit));
    std::size_t deleted = static_cast<std::size_t>(rollups.exec());
    SQLite::Statement counts(*db_,
                             "DELETE FROM telemetry_rollup_counts WHERE id IN (SELECT id FROM telemetry_rollup_counts "
                             "WHERE minute_unix_ms < ?1 ORDER BY minute_unix_ms LIMIT ?2)");
    counts.bind(1, static_cast<std::int64_t>(cutoff_unix_ms));
    counts.bind(2, static_cast<std::int64_t>(limit - deleted));
    deleted += deleted < limit ? static_cast<std::size_t>(counts.exec()) : 0;
    if (deleted < limit) {
      // Marks of boots not heard from since the cutoff: their proxies have
      // restarted (new boot id) or are gone, and a resend that old is
      // beyond any proxy's buffer.
      SQLite::Statement marks(*db_,
                              "DELETE FROM telemetry_marks WHERE rowid IN (SELECT rowid FROM telemetry_marks "
                              "WHERE updated_unix_ms < ?1 ORDER BY updated_unix_ms LIMIT ?2)");
      marks.bind(1, static_cast<std::int64_t>(cutoff_unix_ms));
      marks.bind(2, static_cast<std::int64_t>(limit - deleted));
      deleted += static_cast<std::size_t>(marks.exec());
    }
    transaction.commit();
    return deleted;
  } catch (const SQLite::Exception& e) {
    if ((e.getErrorCode() & 0xff) == SQLITE_FULL) throw StoreFull(e.what());
    throw;
  }
}

}  // namespace tg::control
