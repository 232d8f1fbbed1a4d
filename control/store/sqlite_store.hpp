// The product Store: one SQLite file (docs/control-plane.md, Storage and durability).
//
// Settings, applied on every open: journal_mode=WAL, foreign_keys=ON,
// busy_timeout, synchronous=NORMAL. With WAL + NORMAL a COMMIT that returned
// survives a process crash or kill -9 (the WAL is written before COMMIT
// returns; only fsync is deferred to checkpoints), but the last transactions
// may be lost on power failure or an OS crash; `synchronous_full` (FULL)
// closes that too at the cost of an fsync per commit. Either way the file is
// never left inconsistent: SQLite's transactions are atomic.
//
// One process owns one file (docs/control-plane.md): the store holds an exclusive
// flock(2) on "PATH.lock" while open, so a second tg-control on the same
// database fails at startup instead of interleaving writes. The kernel drops
// the lock when the process dies, kill -9 included.
#pragma once

#include "store/store.hpp"

#include <map>
#include <memory>
#include <string>

namespace SQLite {
class Database;
class Statement;
}

namespace tg::control {

class IngestStatements;  // store/sqlite_ingest.hpp

struct SqliteOptions {
  std::string path;             // parent directory and file are created if missing
  int busy_timeout_ms = 5000;   // bounds every wait for a lock held by another process
  bool synchronous_full = false;
  long long now_unix_ms = 0;    // recorded with migrations
  // PRAGMA max_page_count after migrating (0 = SQLite's default, no cap; a
  // value below the file's size means its size): a write that needs more
  // pages fails as on a full disk (StoreFull).
  long long max_page_count = 0;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when needed) and migrates. Throws std::runtime_error.
  explicit SqliteStore(const SqliteOptions& options);
  ~SqliteStore() override;

  LoadedState load() override;
  std::uint64_t begin_generation() override;
  void commit(const std::vector<CommitBatch>& batches) override;
  std::vector<AuditRow> list_audit(const AuditQuery& query) override;
  std::vector<EventRow> list_events(const EventQuery& query) override;
  std::size_t delete_audit_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  std::size_t delete_events_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  void probe_write() override;
  // Occurrences and status samples (sqlite_ingest.cpp).
  std::vector<StatusSample> list_status_samples(const StatusQuery& query) override;
  std::size_t delete_occurrences_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  std::size_t delete_status_samples_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;

  // Tables whose pages check_integrity() reads: everything the registry is
  // loaded from. The audit log is left out: it is not loaded, only listed,
  // and it is the table that grows (its time would dominate a start).
  static const char* const integrity_checked_tables[];

  // PRAGMA integrity_check of each registry table and its indexes: the
  // problems SQLite reports, each as "TABLE: line" (at most `max_problems` lines, then "... and N
  // more"); empty when the tables are sound. Startup refuses a database with
  // problems (a damaged index page passes quick_check and a plain load, and
  // would load part of a table without an error). Seconds at large sizes: see
  // docs/operations.md, "Store integrity and disk full".
  std::vector<std::string> check_integrity(std::size_t max_problems = 10);

  int migrations_applied_at_open() const { return migrations_applied_; }
  SQLite::Database& database() { return *db_; }

 private:
  void commit_batches(const std::vector<CommitBatch>& batches);
  std::vector<EventRow> list_occurrences(const EventQuery& query);
  // The telemetry of `batches`, inside commit_batches' transaction
  // (store/sqlite_rollups.cpp): marks checked and moved, deltas of new
  // batches merged per (series, minute) across the whole group and upserted.
  void write_telemetry(const std::vector<CommitBatch>& batches);
  // One event occurrence into its group and the occurrences table
  // (registry batches and telemetry).
  static const char* const event_upsert_sql;
  static void record_event(SQLite::Statement& upsert, IngestStatements& occurrences, const EventRecord& event);
  std::int64_t series_id(const SeriesKey& key);

 public:
  std::vector<TelemetryMark> load_telemetry_marks() override;
  std::vector<SeriesKey> load_telemetry_series() override;
  std::vector<RollupRow> read_rollups_since(std::int64_t since_unix_ms) override;
  std::vector<RollupMinute> read_rollup_minutes(const RollupQuery& query) override;
  std::size_t delete_rollups_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;

  // Alerting (store/sqlite_alerts.cpp, migration 9).
  LoadedAlerts load_alerts() override;
  std::vector<std::string> list_alerts(const AlertQuery& query) override;
  std::optional<std::string> get_alert(std::uint64_t id) override;
  std::size_t delete_alerts_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;

 private:
  // The alerting rows of `batches`, inside commit_batches' transaction.
  void write_alerts(const std::vector<CommitBatch>& batches);

  // Series ids known to be committed; ids created by the transaction under
  // way wait in new_series_ids_ until its COMMIT returned.
  std::map<SeriesKey, std::int64_t> series_ids_;
  std::map<SeriesKey, std::int64_t> new_series_ids_;

  int lock_fd_ = -1;
  std::unique_ptr<SQLite::Database> db_;
  int migrations_applied_ = 0;
};

}  // namespace tg::control
