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

#include <memory>
#include <string>

namespace SQLite {
class Database;
}

namespace tg::control {

struct SqliteOptions {
  std::string path;             // parent directory and file are created if missing
  int busy_timeout_ms = 5000;   // bounds every wait for a lock held by another process
  bool synchronous_full = false;
  long long now_unix_ms = 0;    // recorded with migrations
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

  int migrations_applied_at_open() const { return migrations_applied_; }
  SQLite::Database& database() { return *db_; }

 private:
  int lock_fd_ = -1;
  std::unique_ptr<SQLite::Database> db_;
  int migrations_applied_ = 0;
};

}  // namespace tg::control
