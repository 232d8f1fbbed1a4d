// SqliteStore against a real file: migrations, round trip, atomic commits,
// deferred foreign keys, generation, audit queries.
#include "store/sqlite_store.hpp"

#include "store/memory_store.hpp"
#include "store/migrations.hpp"
#include "temp_dir.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <catch2/catch.hpp>

namespace tg::control {
namespace {

using test::TempDir;

Mutation put(ObjectKind kind, const std::string& name, const std::string& parent, const std::string& body) {
  return Mutation{kind, name, parent, body};
}
Mutation erase(ObjectKind kind, const std::string& name) { return Mutation{kind, name, {}, std::nullopt}; }

AuditRecord audit(std::int64_t time, const std::string& actor, const std::string& name) {
  return AuditRecord{time, actor, "Test", "tenant", name, "", "{}"};
}

TEST_CASE("sqlite store: fresh file gets every migration, reopening applies none", "[sqlite]") {
  TempDir dir;
  const std::string path = dir.file("nested/dir/tg.db");  // parents created
  {
    SqliteStore store(SqliteOptions{path});
    CHECK(store.migrations_applied_at_open() == static_cast<int>(schema_migrations().size()));
    CHECK(schema_version(store.database()) == schema_migrations().back().version);
    SQLite::Statement mode(store.database(), "PRAGMA journal_mode");
    REQUIRE(mode.executeStep());
    CHECK(mode.getColumn(0).getString() == "wal");
    SQLite::Statement fk(store.database(), "PRAGMA foreign_keys");
    REQUIRE(fk.executeStep());
    CHECK(fk.getColumn(0).getInt() == 1);
    SQLite::Statement sync(store.database(), "PRAGMA synchronous");
    REQUIRE(sync.executeStep());
    CHECK(sync.getColumn(0).getInt() == 1);  // NORMAL
  }
  SqliteStore again(SqliteOptions{path});
  CHECK(again.migrations_applied_at_open() == 0);
}

TEST_CASE("sqlite store: an older database is migrated forward, keeping its rows", "[sqlite]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    CHECK(apply_migrations(db, schema_migrations().first(1), 1) == 1);  // as the first release left it
    db.exec("INSERT INTO tenants(id, body) VALUES ('old', x'0a036f6c64')");
    CHECK_FALSE(db.tableExists("audit"));
  }
  SqliteStore store(SqliteOptions{path});
  CHECK(store.migrations_applied_at_open() == static_cast<int>(schema_migrations().size()) - 1);
  CHECK(store.database().tableExists("audit"));
  CHECK(store.load().tenants.size() == 1);
}

TEST_CASE("sqlite store: a database from a newer tg-control is refused", "[sqlite]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  { SqliteStore store(SqliteOptions{path}); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO schema_migrations(version, name, applied_unix_ms) VALUES (999, 'future', 0)");
  }
  CHECK_THROWS_WITH(SqliteStore(SqliteOptions{path}), Catch::Contains("schema version 999"));
}

TEST_CASE("sqlite store: one owner per database file", "[sqlite]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SqliteStore owner(SqliteOptions{path});
    CHECK_THROWS_WITH(SqliteStore(SqliteOptions{path}), Catch::Contains("in use by another tg-control"));
  }
  SqliteStore next(SqliteOptions{path});  // released on close
  CHECK(next.load().revision == 0);
}

TEST_CASE("sqlite store: commit round trip, revision, generation", "[sqlite]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SqliteStore store(SqliteOptions{path});
    CHECK(store.begin_generation() == 1);
    CommitBatch first{1, {put(ObjectKind::tenant, "acme", "", "T1")}, {audit(10, "a", "acme")}};
    // A child before its parent in the same transaction: deferred keys allow it.
    CommitBatch second{2,
                       {put(ObjectKind::route, "r", "svc", "R"), put(ObjectKind::service, "svc", "acme", "S"),
                        put(ObjectKind::instance, "i", "svc", std::string("I\0nul", 5))},
                       {audit(20, "b", "svc")}};
    store.commit({first, second});
    CommitBatch third{3, {put(ObjectKind::tenant, "acme", "", "T2"), put(ObjectKind::service, "free", "", "F")}, {}};
    store.commit({third});
  }
  SqliteStore store(SqliteOptions{path});
  CHECK(store.begin_generation() == 2);  // bumped at every start, never reused
  const LoadedState state = store.load();
  CHECK(state.revision == 3);
  CHECK(state.generation == 2);
  CHECK(state.tenants == std::vector<std::string>{"T2"});
  CHECK(state.services == std::vector<std::string>{"F", "S"});  // by name: free, svc
  CHECK(state.instances == std::vector<std::string>{std::string("I\0nul", 5)});
  CHECK(state.routes == std::vector<std::string>{"R"});
}

TEST_CASE("sqlite store: a failing commit stores nothing of its group", "[sqlite]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  store.commit({CommitBatch{1, {put(ObjectKind::tenant, "acme", "", "T")}, {audit(1, "a", "acme")}}});
  CommitBatch good{2, {put(ObjectKind::tenant, "beta", "", "B")}, {audit(2, "a", "beta")}};
  CommitBatch dangling{3, {put(ObjectKind::route, "r", "no-such-service", "R")}, {audit(3, "a", "r")}};
  CHECK_THROWS(store.commit({good, dangling}));
  const LoadedState state = store.load();
  CHECK(state.revision == 1);
  CHECK(state.tenants.size() == 1);
  CHECK(store.list_audit({}).size() == 1);
  // Deleting a parent that still has children fails too.
  store.commit({CommitBatch{2, {put(ObjectKind::service, "svc", "acme", "S")}, {}}});
  CHECK_THROWS(store.commit({CommitBatch{3, {erase(ObjectKind::tenant, "acme")}, {}}}));
  store.commit({CommitBatch{3, {erase(ObjectKind::service, "svc"), erase(ObjectKind::tenant, "acme")}, {}}});
  CHECK(store.load().tenants.empty());
}

TEST_CASE("sqlite store: audit queries filter, order newest first and page", "[sqlite][audit]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  CommitBatch batch{1, {}, {}};
  for (int i = 1; i <= 10; ++i) batch.audit.push_back(audit(i * 100, i % 2 ? "odd" : "even", "n" + std::to_string(i)));
  store.commit({batch});
  auto rows = store.list_audit({});
  REQUIRE(rows.size() == 10);
  CHECK(rows.front().record.name == "n10");
  CHECK(rows.front().id > rows.back().id);
  AuditQuery q;
  q.actor = "odd";
  CHECK(store.list_audit(q).size() == 5);
  q = {};
  q.since_unix_ms = 300;
  q.until_unix_ms = 600;
  rows = store.list_audit(q);
  REQUIRE(rows.size() == 3);  // 300, 400, 500
  CHECK(rows.front().record.time_unix_ms == 500);
  q = {};
  q.limit = 4;
  rows = store.list_audit(q);
  REQUIRE(rows.size() == 4);
  q.before_id = rows.back().id;
  rows = store.list_audit(q);
  REQUIRE(rows.size() == 4);
  CHECK(rows.front().record.name == "n6");
  q = {};
  q.name = "n3";
  q.kind = "tenant";
  q.method = "Test";
  CHECK(store.list_audit(q).size() == 1);
  // The in-memory store agrees with SQL on the same filters.
  AuditQuery window;
  window.since_unix_ms = 300;
  window.until_unix_ms = 600;
  int matching = 0;
  for (const auto& row : store.list_audit({})) matching += audit_matches(window, row) ? 1 : 0;
  CHECK(matching == 3);
}

TEST_CASE("sqlite store: a registry id is created with the database and kept, and identity changes commit",
          "[sqlite][registry]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  std::string id;
  {
    SqliteStore store(SqliteOptions{path});
    const LoadedState state = store.load();
    id = state.registry_id;
    CHECK(id.size() == 32);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(state.adopted.empty());
    CHECK(state.fleet_ahead == 0);
    CHECK(store.begin_generation() == 1);
    CommitBatch batch;
    batch.identity.generation = 9;
    batch.identity.fleet_ahead = 4;
    batch.identity.adopted = {"zz-other", "aa-other"};
    batch.identity.time_unix_ms = 1000;
    batch.audit.push_back(AuditRecord{1000, "admin", "AdoptRegistry", "registry", "aa-other", "", "{}"});
    store.commit({batch});
    CommitBatch lower;  // a generation is never lowered
    lower.identity.generation = 3;
    lower.identity.adopted = {"aa-other"};  // adopting twice is one row
    store.commit({lower});
  }
  {
    SqliteStore store(SqliteOptions{path});
    const LoadedState state = store.load();
    CHECK(state.registry_id == id);
    CHECK(state.generation == 9);
    CHECK(state.fleet_ahead == 4);
    CHECK(state.adopted == std::vector<std::string>{"aa-other", "zz-other"});
    CHECK(store.list_audit(AuditQuery{}).size() == 1);
    CommitBatch clear;
    clear.identity.fleet_ahead = 0;
    store.commit({clear});
    CHECK(store.load().fleet_ahead == 0);
    CHECK(store.begin_generation() == 10);
  }
  // Another database is another registry.
  SqliteStore other(SqliteOptions{dir.file("other.db")});
  CHECK(other.load().registry_id != id);
}

TEST_CASE("sqlite store: a database of before registry ids gets one at the upgrade", "[sqlite][registry]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    CHECK(apply_migrations(db, schema_migrations().first(2), 1) == 2);
  }
  SqliteStore store(SqliteOptions{path});
  CHECK(store.load().registry_id.size() == 32);
}

TEST_CASE("sqlite store: tombstones commit with their batch, replace, clear and survive a reopen",
          "[sqlite][tombstones]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SqliteStore store(SqliteOptions{path});
    CommitBatch create{1, {put(ObjectKind::service, "web", "", "s"), put(ObjectKind::route, "r", "web", "r")}, {}};
    store.commit({create});
    CommitBatch remove{2, {erase(ObjectKind::route, "r")}, {}};
    remove.tombstones.push_back(Tombstone{ObjectKind::route, "r", "acme.yaml", 9, 1000, "alice"});
    store.commit({remove});
    // The same key again replaces the row.
    CommitBatch again;
    again.tombstones.push_back(Tombstone{ObjectKind::route, "r", "other.yaml", 3, 2000, "bob"});
    again.tombstones.push_back(Tombstone{ObjectKind::service, "gone", "acme.yaml", 4, 2000, "bob"});
    store.commit({again});
  }
  SqliteStore store(SqliteOptions{path});
  LoadedState state = store.load();
  CHECK(state.routes.empty());
  REQUIRE(state.tombstones.size() == 2);
  CHECK(state.tombstones[0].kind == ObjectKind::route);  // ordered by (kind text, name)
  CHECK(state.tombstones[0].file == "other.yaml");
  CHECK(state.tombstones[0].line == 3);
  CHECK(state.tombstones[0].deleted_unix_ms == 2000);
  CHECK(state.tombstones[0].actor == "bob");
  CHECK(state.tombstones[1].kind == ObjectKind::service);
  CommitBatch clear;
  clear.cleared_tombstones.push_back(TombstoneKey{ObjectKind::route, "r"});
  clear.cleared_tombstones.push_back(TombstoneKey{ObjectKind::tenant, "never-there"});
  store.commit({clear});
  state = store.load();
  REQUIRE(state.tombstones.size() == 1);
  CHECK(state.tombstones[0].name == "gone");
}

TEST_CASE("sqlite store: a failing commit stores none of its tombstones", "[sqlite][tombstones]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  CommitBatch bad{1, {put(ObjectKind::route, "r", "no-such-service", "r")}, {}};
  bad.tombstones.push_back(Tombstone{ObjectKind::route, "x", "a.yaml", 1, 1, "a"});
  CHECK_THROWS(store.commit({bad}));
  CHECK(store.load().tombstones.empty());
}

TEST_CASE("sqlite store: a migration number missing below the newest is still applied", "[sqlite]") {
  TempDir dir;
  SQLite::Database db(dir.file("gap.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const Migration with_gap[] = {{1, "one", "CREATE TABLE one (x)"}, {3, "three", "CREATE TABLE three (x)"}};
  CHECK(apply_migrations(db, with_gap, 1) == 2);
  const Migration all[] = {{1, "one", "CREATE TABLE one (x)"},
                           {2, "two", "CREATE TABLE two (x)"},
                           {3, "three", "CREATE TABLE three (x)"}};
  CHECK(apply_migrations(db, all, 2) == 1);
  CHECK(db.tableExists("two"));
  CHECK(schema_version(db) == 3);
}

}  // namespace
}  // namespace tg::control
