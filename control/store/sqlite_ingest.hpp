// The SQLite side of event occurrences and container status samples
// (migration 8): the statements SqliteStore's commit uses for them, and the
// SQL expression that orders event levels. The queries and retention deletes
// are SqliteStore members defined in sqlite_ingest.cpp.
#pragma once

#include "store/store.hpp"

#include <SQLiteCpp/Statement.h>

#include <cstdint>

namespace SQLite {
class Database;
}

// SQL: the rank of a level column as event_level_rank() gives it (-1 for
// anything else), so "at or above" is one comparison.
#define TG_EVENT_LEVEL_RANK_SQL(column)                                                                  \
  "(CASE " column " WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warning' THEN 2 WHEN 'error' THEN 3 " \
  "WHEN 'critical' THEN 4 ELSE -1 END)"

namespace tg::control {

// Prepared once per commit transaction.
class IngestStatements {
 public:
  explicit IngestStatements(SQLite::Database& db);

  // One occurrence of `event`, whose group row has `group_id`.
  void occurrence(std::int64_t group_id, const EventRecord& event);
  void status_sample(const StatusSample& sample);

 private:
  SQLite::Statement occurrence_;
  SQLite::Statement sample_;
};

}  // namespace tg::control
