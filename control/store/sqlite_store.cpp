#include "store/sqlite_store.hpp"
#include "store/sqlite_ingest.hpp"

#include "store/migrations.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace tg::control {
namespace {

struct TableSql {
  const char* upsert;
  const char* erase;
  const char* select;
};

// Indexed by ObjectKind.
constexpr TableSql table_sql[] = {
    {"INSERT INTO tenants(id, body, body_hash) VALUES (?1, ?3, ?4) "
     "ON CONFLICT(id) DO UPDATE SET body = excluded.body, body_hash = excluded.body_hash",
     "DELETE FROM tenants WHERE id = ?", "SELECT body, id, '', body_hash FROM tenants ORDER BY id"},
    {"INSERT INTO services(name, tenant, body, body_hash) VALUES (?1, NULLIF(?2, ''), ?3, ?4) "
     "ON CONFLICT(name) DO UPDATE SET tenant = excluded.tenant, body = excluded.body, body_hash = excluded.body_hash",
     "DELETE FROM services WHERE name = ?", "SELECT body, name, COALESCE(tenant, ''), body_hash FROM services ORDER BY name"},
    {"INSERT INTO instances(id, service, body, body_hash) VALUES (?1, ?2, ?3, ?4) "
     "ON CONFLICT(id) DO UPDATE SET service = excluded.service, body = excluded.body, body_hash = excluded.body_hash",
     "DELETE FROM instances WHERE id = ?", "SELECT body, id, service, body_hash FROM instances ORDER BY id"},
    {"INSERT INTO routes(name, service, body, body_hash) VALUES (?1, ?2, ?3, ?4) "
     "ON CONFLICT(name) DO UPDATE SET service = excluded.service, body = excluded.body, body_hash = excluded.body_hash",
     "DELETE FROM routes WHERE name = ?", "SELECT body, name, service, body_hash FROM routes ORDER BY name"},
};

constexpr const char* object_tables[] = {"tenants", "services", "instances", "routes"};

// FNV-1a 64 of a body, as stored in body_hash (an INTEGER: the same bits, signed).
std::int64_t body_hash(const void* data, std::size_t size) {
  std::uint64_t hash = 14695981039346656037ull;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(hash);
}

// Rows written before migration 5 have no checksum yet: compute them once.
void fill_missing_hashes(SQLite::Database& db) {
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  for (const char* table : object_tables) {
    SQLite::Statement rows(db, std::string("SELECT rowid, body FROM ") + table + " WHERE body_hash IS NULL");
    SQLite::Statement set(db, std::string("UPDATE ") + table + " SET body_hash = ? WHERE rowid = ?");
    while (rows.executeStep()) {
      const SQLite::Column body = rows.getColumn(1);
      set.reset();
      set.bind(1, body_hash(body.getBlob(), static_cast<std::size_t>(body.getBytes())));
      set.bind(2, rows.getColumn(0).getInt64());
      set.exec();
    }
  }
  transaction.commit();
}

std::uint64_t read_meta(SQLite::Database& db, const char* key) {
  SQLite::Statement query(db, "SELECT value FROM registry_meta WHERE key = ?");
  query.bind(1, key);
  if (!query.executeStep()) throw std::runtime_error(std::string("registry_meta has no ") + key);
  return static_cast<std::uint64_t>(query.getColumn(0).getInt64());
}

void write_meta(SQLite::Database& db, const char* key, std::uint64_t value) {
  SQLite::Statement update(db, "UPDATE registry_meta SET value = ? WHERE key = ?");
  update.bind(1, static_cast<int64_t>(value));
  update.bind(2, key);
  update.exec();
}

}  // namespace

const char* const SqliteStore::integrity_checked_tables[] = {
    "schema_migrations", "registry_meta", "registry_identity", "adopted_registries",
    "tenants",           "services",      "instances",         "routes",
    "tombstones"};

SqliteStore::SqliteStore(const SqliteOptions& options) {
  const std::filesystem::path path(options.path);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  const std::string lock_path = options.path + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw std::runtime_error("cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error(options.path + ": " +
                             (error == EWOULDBLOCK ? std::string("in use by another tg-control (") + lock_path + " is locked)"
                                                   : std::string("cannot lock ") + lock_path + ": " + std::strerror(error)));
  }
  try {
    db_ = std::make_unique<SQLite::Database>(options.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                             options.busy_timeout_ms);
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("PRAGMA foreign_keys=ON");
    db_->exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    migrations_applied_ = apply_migrations(*db_, schema_migrations(), options.now_unix_ms);
    fill_missing_hashes(*db_);
    if (options.max_page_count > 0)
      db_->exec("PRAGMA max_page_count = " + std::to_string(options.max_page_count));
  } catch (const std::exception& e) {
    db_.reset();
    ::close(lock_fd_);
    throw std::runtime_error(options.path + ": " + e.what());
  }
}

SqliteStore::~SqliteStore() {
  db_.reset();  // close the database before giving up ownership
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

LoadedState SqliteStore::load() {
  SQLite::Transaction read(*db_);  // one consistent snapshot of all tables
  LoadedState state;
  state.revision = read_meta(*db_, "revision");
  state.generation = read_meta(*db_, "generation");
  state.fleet_ahead = read_meta(*db_, "fleet_ahead");
  {
    SQLite::Statement id(*db_, "SELECT value FROM registry_identity WHERE key = 'registry_id'");
    if (!id.executeStep()) throw std::runtime_error("registry_identity has no registry_id");
    state.registry_id = id.getColumn(0).getString();
    SQLite::Statement adopted(*db_, "SELECT registry_id FROM adopted_registries ORDER BY registry_id");
    while (adopted.executeStep()) state.adopted.push_back(adopted.getColumn(0).getString());
  }
  std::vector<std::string>* out[4] = {&state.tenants, &state.services, &state.instances, &state.routes};
  std::vector<StoredKey>* keys[4] = {&state.tenant_keys, &state.service_keys, &state.instance_keys,
                                     &state.route_keys};
  std::vector<std::string> damaged;
  std::size_t more = 0;
  for (int k = 0; k < 4; ++k) {
    SQLite::Statement query(*db_, table_sql[k].select);
    while (query.executeStep()) {
      const SQLite::Column body = query.getColumn(0);
      std::string name = query.getColumn(1).getString();
      const SQLite::Column hash = query.getColumn(3);
      if (hash.isNull() || hash.getInt64() != body_hash(body.getBlob(), static_cast<std::size_t>(body.getBytes()))) {
        // A flipped byte in a body that still parses would be served as true.
        if (damaged.size() < 10) {
          damaged.push_back(std::string(to_string(static_cast<ObjectKind>(k))) + " \"" + name +
                            "\": its body does not match its checksum (damaged)");
        } else {
          ++more;
        }
        continue;
      }
      out[k]->emplace_back(static_cast<const char*>(body.getBlob()), static_cast<std::size_t>(body.getBytes()));
      keys[k]->push_back(StoredKey{std::move(name), query.getColumn(2).getString()});
    }
  }
  if (!damaged.empty()) {
    std::string message = "the registry in the store is damaged (" + std::to_string(damaged.size() + more) +
                          " row(s)); refusing to load it:";
    for (const auto& line : damaged) message += "\n  " + line;
    if (more) message += "\n  ... and " + std::to_string(more) + " more";
    throw std::runtime_error(message);
  }
  SQLite::Statement tombstones(*db_,
                               "SELECT kind, name, file, line, deleted_unix_ms, actor FROM tombstones "
                               "ORDER BY kind, name");
  while (tombstones.executeStep()) {
    const std::string kind = tombstones.getColumn(0).getString();
    const auto parsed = object_kind_from_string(kind);
    if (!parsed) throw std::runtime_error("tombstones: unknown kind \"" + kind + "\"");
    state.tombstones.push_back(Tombstone{*parsed, tombstones.getColumn(1).getString(),
                                         tombstones.getColumn(2).getString(),
                                         static_cast<std::uint32_t>(tombstones.getColumn(3).getInt64()),
                                         tombstones.getColumn(4).getInt64(), tombstones.getColumn(5).getString()});
  }
  read.commit();
  return state;
}

std::vector<std::string> SqliteStore::check_integrity(std::size_t max_problems) {
  std::vector<std::string> problems;
  std::size_t more = 0;
  for (const char* table : integrity_checked_tables) {
    if (!db_->tableExists(table)) continue;
    // integrity_check(TABLE) checks the table's b-tree and every index of it
    // (entries missing or extra, order, record format), unlike quick_check.
    SQLite::Statement check(*db_, std::string("PRAGMA integrity_check(") + table + ")");
    while (check.executeStep()) {
      const std::string text = check.getColumn(0).getString();
      if (text == "ok") continue;
      // One result may hold several lines, the first naming the schema.
      std::size_t start = 0;
      while (start <= text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line.rfind("*** in database", 0) == 0) continue;
        if (problems.size() < max_problems) {
          problems.push_back(std::string(table) + ": " + line);
        } else {
          ++more;
        }
      }
    }
  }
  if (more) problems.push_back("... and " + std::to_string(more) + " more");
  return problems;
}

std::uint64_t SqliteStore::begin_generation() {
  SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  const std::uint64_t generation = read_meta(*db_, "generation") + 1;
  write_meta(*db_, "generation", generation);
  transaction.commit();
  return generation;
}

namespace {

// SQLITE_FULL: the disk, or PRAGMA max_page_count (how tests make a disk full).
bool is_full(const SQLite::Exception& e) { return (e.getErrorCode() & 0xff) == SQLITE_FULL; }

}  // namespace

void SqliteStore::commit(const std::vector<CommitBatch>& batches) {
  new_series_ids_.clear();
  try {
    commit_batches(batches);
  } catch (const SQLite::Exception& e) {
    new_series_ids_.clear();  // rolled back with the transaction
    if (is_full(e)) throw StoreFull(e.what());
    throw;
  } catch (...) {
    new_series_ids_.clear();
    throw;
  }
  series_ids_.merge(new_series_ids_);
  new_series_ids_.clear();
}

void SqliteStore::probe_write() {
  // Two committed transactions: the first needs new pages (64 KiB of
  // overflow) and WAL space, as a real write would; the second takes the
  // row away again. A probe that rolled back would allocate pages but never
  // touch the disk, and could report space that is not there.
  try {
    db_->exec("INSERT OR REPLACE INTO registry_meta(key, value) VALUES ('write_probe', zeroblob(65536))");
    db_->exec("DELETE FROM registry_meta WHERE key = 'write_probe'");
  } catch (const SQLite::Exception& e) {
    if (is_full(e)) throw StoreFull(e.what());
    throw;
  }
}

const char* const SqliteStore::event_upsert_sql =
    "INSERT INTO events(tenant, service, instance, route, source, kind, level, fingerprint, "
    "message, detail_json, count, first_seen_unix_ms, last_seen_unix_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11) "
    "ON CONFLICT(tenant, service, kind, fingerprint) DO UPDATE SET "
    "instance = excluded.instance, route = excluded.route, source = excluded.source, "
    "level = excluded.level, message = excluded.message, detail_json = excluded.detail_json, "
    "count = count + 1, last_seen_unix_ms = MAX(last_seen_unix_ms, excluded.last_seen_unix_ms) "
    "RETURNING id";

void SqliteStore::record_event(SQLite::Statement& event, IngestStatements& occurrences, const EventRecord& e) {
  event.reset();
  event.bind(1, e.tenant);
  event.bind(2, e.service);
  event.bind(3, e.instance);
  event.bind(4, e.route);
  event.bind(5, e.source);
  event.bind(6, e.kind);
  event.bind(7, e.level);
  event.bind(8, e.fingerprint);
  event.bind(9, e.message);
  event.bind(10, e.detail_json.empty() ? std::string("{}") : e.detail_json);
  event.bind(11, static_cast<int64_t>(e.time_unix_ms));
  if (!event.executeStep()) throw std::runtime_error("an event upsert returned no group id");
  const std::int64_t group_id = event.getColumn(0).getInt64();
  event.reset();  // done with the row (RETURNING): the next bind needs it reset
  occurrences.occurrence(group_id, e);
}

void SqliteStore::commit_batches(const std::vector<CommitBatch>& batches) {
  // The Transaction rolls back in its destructor if anything below throws
  // (including COMMIT failing a deferred foreign key).
  SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  SQLite::Statement upserts[4] = {{*db_, table_sql[0].upsert}, {*db_, table_sql[1].upsert},
                                  {*db_, table_sql[2].upsert}, {*db_, table_sql[3].upsert}};
  SQLite::Statement erases[4] = {{*db_, table_sql[0].erase}, {*db_, table_sql[1].erase},
                                 {*db_, table_sql[2].erase}, {*db_, table_sql[3].erase}};
  SQLite::Statement audit(*db_,
                          "INSERT INTO audit(time_unix_ms, actor, method, kind, name, before_json, after_json) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)");
  SQLite::Statement put_tombstone(*db_,
                                  "INSERT INTO tombstones(kind, name, file, line, deleted_unix_ms, actor) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kind, name) DO UPDATE SET "
                                  "file = excluded.file, line = excluded.line, "
                                  "deleted_unix_ms = excluded.deleted_unix_ms, actor = excluded.actor");
  SQLite::Statement clear_tombstone(*db_, "DELETE FROM tombstones WHERE kind = ? AND name = ?");
  SQLite::Statement event(*db_, event_upsert_sql);
  IngestStatements ingest(*db_);
  std::uint64_t revision = 0;
  for (const CommitBatch& batch : batches) {
    for (const Mutation& m : batch.mutations) {
      const int k = static_cast<int>(m.kind);
      if (m.body) {
        SQLite::Statement& s = upserts[k];
        s.reset();
        s.bind(1, m.name);
        s.bind(2, m.parent);
        s.bind(3, m.body->data(), static_cast<int>(m.body->size()));
        s.bind(4, body_hash(m.body->data(), m.body->size()));
        s.exec();
      } else {
        SQLite::Statement& s = erases[k];
        s.reset();
        s.bind(1, m.name);
        s.exec();
      }
    }
    for (const AuditRecord& r : batch.audit) {
      audit.reset();
      audit.bind(1, static_cast<int64_t>(r.time_unix_ms));
      audit.bind(2, r.actor);
      audit.bind(3, r.method);
      audit.bind(4, r.kind);
      audit.bind(5, r.name);
      audit.bind(6, r.before_json);
      audit.bind(7, r.after_json);
      audit.exec();
    }
    for (const EventRecord& e : batch.events) record_event(event, ingest, e);
    for (const StatusSample& sample : batch.status_samples) ingest.status_sample(sample);
    for (const TombstoneKey& key : batch.cleared_tombstones) {
      clear_tombstone.reset();
      clear_tombstone.bind(1, std::string(to_string(key.kind)));
      clear_tombstone.bind(2, key.name);
      clear_tombstone.exec();
    }
    for (const Tombstone& t : batch.tombstones) {
      put_tombstone.reset();
      put_tombstone.bind(1, std::string(to_string(t.kind)));
      put_tombstone.bind(2, t.name);
      put_tombstone.bind(3, t.file);
      put_tombstone.bind(4, static_cast<int64_t>(t.line));
      put_tombstone.bind(5, static_cast<int64_t>(t.deleted_unix_ms));
      put_tombstone.bind(6, t.actor);
      put_tombstone.exec();
    }
    revision = std::max(revision, batch.revision);
    const IdentityChange& identity = batch.identity;
    if (identity.generation) {
      SQLite::Statement lift(*db_, "UPDATE registry_meta SET value = MAX(value, ?) WHERE key = 'generation'");
      lift.bind(1, static_cast<int64_t>(*identity.generation));
      lift.exec();
    }
    if (identity.fleet_ahead) write_meta(*db_, "fleet_ahead", *identity.fleet_ahead);
    for (const std::string& id : identity.adopted) {
      SQLite::Statement adopt(*db_,
                              "INSERT INTO adopted_registries(registry_id, adopted_unix_ms) VALUES (?, ?) "
                              "ON CONFLICT(registry_id) DO NOTHING");
      adopt.bind(1, id);
      adopt.bind(2, static_cast<int64_t>(identity.time_unix_ms));
      adopt.exec();
    }
  }
  if (revision != 0) {
    SQLite::Statement update(*db_, "UPDATE registry_meta SET value = MAX(value, ?) WHERE key = 'revision'");
    update.bind(1, static_cast<int64_t>(revision));
    update.exec();
  }
  write_telemetry(batches);
  write_alerts(batches);
  transaction.commit();
}

namespace {

// Deletes at most `limit` rows of `table` whose `time_column` is before
// `cutoff_unix_ms`, the oldest first: an index on the column finds them,
// the primary key deletes them.
std::size_t delete_rows_before(SQLite::Database& db, const char* table, const char* time_column,
                               std::int64_t cutoff_unix_ms, std::size_t limit) {
  SQLite::Statement erase(db, std::string("DELETE FROM ") + table + " WHERE id IN (SELECT id FROM " + table +
                                  " WHERE " + time_column + " < ? ORDER BY " + time_column + " LIMIT ?)");
  erase.bind(1, static_cast<int64_t>(cutoff_unix_ms));
  erase.bind(2, static_cast<int64_t>(limit));
  try {
    return static_cast<std::size_t>(erase.exec());
  } catch (const SQLite::Exception& e) {
    if (is_full(e)) throw StoreFull(e.what());
    throw;
  }
}

}  // namespace

std::size_t SqliteStore::delete_audit_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  return delete_rows_before(*db_, "audit", "time_unix_ms", cutoff_unix_ms, limit);  // index audit_by_time
}

std::size_t SqliteStore::delete_events_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  return delete_rows_before(*db_, "events", "last_seen_unix_ms", cutoff_unix_ms, limit);  // index events_by_last_seen
}

std::vector<AuditRow> SqliteStore::list_audit(const AuditQuery& q) {
  SQLite::Statement query(*db_,
                          "SELECT id, time_unix_ms, actor, method, kind, name, before_json, after_json FROM audit "
                          "WHERE (?1 = 0 OR id < ?1) AND (?2 = '' OR actor = ?2) AND (?3 = '' OR kind = ?3) "
                          "AND (?4 = '' OR name = ?4) AND (?5 = '' OR method = ?5) "
                          "AND (?6 = 0 OR time_unix_ms >= ?6) AND (?7 = 0 OR time_unix_ms < ?7) "
                          "ORDER BY id DESC LIMIT ?8");
  query.bind(1, static_cast<int64_t>(q.before_id));
  query.bind(2, q.actor);
  query.bind(3, q.kind);
  query.bind(4, q.name);
  query.bind(5, q.method);
  query.bind(6, static_cast<int64_t>(q.since_unix_ms));
  query.bind(7, static_cast<int64_t>(q.until_unix_ms));
  query.bind(8, static_cast<int64_t>(q.limit));
  std::vector<AuditRow> rows;
  while (query.executeStep()) {
    AuditRow row;
    row.id = static_cast<std::uint64_t>(query.getColumn(0).getInt64());
    row.record.time_unix_ms = query.getColumn(1).getInt64();
    row.record.actor = query.getColumn(2).getString();
    row.record.method = query.getColumn(3).getString();
    row.record.kind = query.getColumn(4).getString();
    row.record.name = query.getColumn(5).getString();
    row.record.before_json = query.getColumn(6).getString();
    row.record.after_json = query.getColumn(7).getString();
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<EventRow> SqliteStore::list_events(const EventQuery& q) {
  if (q.occurrences) return list_occurrences(q);
  SQLite::Statement query(*db_,
                          "SELECT id, tenant, service, instance, route, source, kind, level, fingerprint, message, "
                          "detail_json, count, first_seen_unix_ms, last_seen_unix_ms FROM events "
                          "WHERE (?1 = 0 OR last_seen_unix_ms < ?1 OR (last_seen_unix_ms = ?1 AND id < ?2)) "
                          "AND (?3 = '' OR tenant = ?3) AND (?4 = '' OR service = ?4) "
                          "AND (?5 = '' OR instance = ?5) AND (?6 = '' OR kind = ?6) "
                          "AND (?7 = 0 OR last_seen_unix_ms >= ?7) "
                          "AND (?9 < 0 OR " TG_EVENT_LEVEL_RANK_SQL("level") " >= ?9) "
                          "ORDER BY last_seen_unix_ms DESC, id DESC LIMIT ?8");
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
    row.record.tenant = query.getColumn(1).getString();
    row.record.service = query.getColumn(2).getString();
    row.record.instance = query.getColumn(3).getString();
    row.record.route = query.getColumn(4).getString();
    row.record.source = query.getColumn(5).getString();
    row.record.kind = query.getColumn(6).getString();
    row.record.level = query.getColumn(7).getString();
    row.record.fingerprint = query.getColumn(8).getString();
    row.record.message = query.getColumn(9).getString();
    row.record.detail_json = query.getColumn(10).getString();
    row.count = static_cast<std::uint64_t>(query.getColumn(11).getInt64());
    row.first_seen_unix_ms = query.getColumn(12).getInt64();
    row.last_seen_unix_ms = query.getColumn(13).getInt64();
    row.record.time_unix_ms = row.last_seen_unix_ms;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace tg::control
