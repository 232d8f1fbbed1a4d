// Numbered schema migrations of the tg-control database.
//
// Each migration runs once, in order, and is recorded in schema_migrations (a
// number missing from a database is applied even when a higher one is there);
// all pending migrations of a start run in ONE transaction (a crash half way
// leaves the previous schema). A database whose newest recorded migration is
// unknown to this binary (written by a newer tg-control) is refused rather
// than guessed at. Never edit a released migration: add a new number.
#pragma once

#include <span>

namespace SQLite {
class Database;
}

namespace tg::control {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // one or more statements
};

// The migrations this binary knows, in order.
std::span<const Migration> schema_migrations();

// Applies the pending ones of `migrations`; returns how many ran. Throws
// std::runtime_error for a newer database or a failing statement (rolled back).
int apply_migrations(SQLite::Database& db, std::span<const Migration> migrations, long long now_unix_ms);

// The newest recorded migration (0 for a fresh file).
int schema_version(SQLite::Database& db);

}  // namespace tg::control
