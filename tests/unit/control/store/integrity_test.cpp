// A damaged database is refused, never loaded in part: PRAGMA integrity_check
// of the registry tables (SqliteStore::check_integrity) and the checks of
// Registry::load (keys against bodies, parents present).
#include "registry/registry.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_store.hpp"

#include "fake_clock.hpp"
#include "temp_dir.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <catch2/catch.hpp>

#include <fstream>

namespace tg::control {
namespace {

using test::TempDir;

std::string tenant_body(const std::string& id) {
  v1::Tenant tenant;
  tenant.set_id(id);
  return tenant.SerializeAsString();
}

std::string service_body(const std::string& name, const std::string& tenant) {
  v1::Service service;
  service.set_name(name);
  service.set_tenant(tenant);
  return service.SerializeAsString();
}

Mutation put(ObjectKind kind, const std::string& name, const std::string& parent, const std::string& body) {
  return Mutation{kind, name, parent, body};
}

// Tenants t000..t(n-1), each with one service s000.. (its tenant indexed).
void populate(SqliteStore& store, int n) {
  CommitBatch batch;
  batch.revision = 1;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "%03d", i);
    const std::string tenant = std::string("t") + id, service = std::string("s") + id;
    batch.mutations.push_back(put(ObjectKind::tenant, tenant, "", tenant_body(tenant)));
    batch.mutations.push_back(put(ObjectKind::service, service, tenant, service_body(service, tenant)));
  }
  store.commit({batch});
}

TEST_CASE("store integrity: a sound database passes integrity_check", "[sqlite][integrity]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  populate(store, 50);
  CHECK(store.check_integrity().empty());
}

TEST_CASE("store integrity: garbage in a page of an index fails integrity_check", "[sqlite][integrity]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  long long page_size = 0, root = 0;
  {
    SqliteStore store(SqliteOptions{path});
    populate(store, 200);
    SQLite::Statement size(store.database(), "PRAGMA page_size");
    REQUIRE(size.executeStep());
    page_size = size.getColumn(0).getInt64();
    SQLite::Statement page(store.database(), "SELECT rootpage FROM sqlite_schema WHERE name = 'services_by_tenant'");
    REQUIRE(page.executeStep());
    root = page.getColumn(0).getInt64();
  }  // the last connection closes: the WAL is checkpointed into the file
  REQUIRE(root > 1);
  {
    // Overwrite the last quarter of the index's root page (its cells grow
    // down from the end), as a bad sector or a stray write would; the page
    // header stays intact.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(file);
    file.seekp((root - 1) * page_size + page_size * 3 / 4);
    const std::string garbage(page_size / 4, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    REQUIRE(file.flush());
  }
  SqliteStore store(SqliteOptions{path});
  const std::vector<std::string> problems = store.check_integrity(3);
  REQUIRE_FALSE(problems.empty());
  CHECK(problems.size() <= 4);  // 3 lines, then "... and N more"
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  INFO(all);
  CHECK(all.rfind("services: ", 0) == 0);  // the damaged table is named
  CHECK(all.find("*** in database") == std::string::npos);  // one problem a line, each with its table
  for (const auto& p : problems) CHECK(p.find('\n') == std::string::npos);
}

TEST_CASE("store integrity: a row whose key disagrees with its body is refused, naming it", "[sqlite][integrity]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  // A flipped byte in the key column (or in the body): "acme" vs "acmf".
  store.commit({CommitBatch{1,
                            {put(ObjectKind::tenant, "acme", "", tenant_body("acmf")),
                             put(ObjectKind::tenant, "beta", "", tenant_body("beta"))},
                            {}}});
  test::FakeClock clock;
  Registry registry(clock);
  CHECK_THROWS_WITH(registry.load(store.load()),
                    Catch::Contains("tenant \"acme\": the row's key differs from the name in its body (\"acmf\")"));
  CHECK(registry.tenants().empty());  // nothing of it was loaded
}

TEST_CASE("store integrity: a parent column that disagrees with the body is refused", "[sqlite][integrity]") {
  TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  store.commit({CommitBatch{1,
                            {put(ObjectKind::tenant, "acme", "", tenant_body("acme")),
                             put(ObjectKind::tenant, "beta", "", tenant_body("beta")),
                             put(ObjectKind::service, "web", "beta", service_body("web", "acme"))},
                            {}}});
  test::FakeClock clock;
  Registry registry(clock);
  CHECK_THROWS_WITH(registry.load(store.load()),
                    Catch::Contains("service \"web\": the row's parent column \"beta\" differs from its body's \"acme\""));
}

TEST_CASE("store integrity: a service whose tenant row is missing is refused, naming it", "[sqlite][integrity]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SqliteStore store(SqliteOptions{path});
    populate(store, 3);
  }
  {
    // Foreign keys are off by default on a plain connection: the way a lost
    // page or a hand edit leaves a dangling reference.
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("DELETE FROM tenants WHERE id IN ('t001', 't002')");
  }
  SqliteStore store(SqliteOptions{path});
  test::FakeClock clock;
  Registry registry(clock);
  const LoadedState state = store.load();
  REQUIRE(state.services.size() == 3);  // the store itself loads it without a word
  CHECK_THROWS_WITH(registry.load(state), Catch::Contains("(2 problem(s))") &&
                                              Catch::Contains("service \"s001\": its tenant \"t001\" is not in the store") &&
                                              Catch::Contains("service \"s002\": its tenant \"t002\" is not in the store"));
  CHECK(registry.services().empty());
}

}  // namespace
}  // namespace tg::control

namespace tg::control {
namespace {

TEST_CASE("store integrity: a flipped byte inside a body that still parses is refused by its checksum",
          "[sqlite][integrity]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  v1::Instance instance;
  instance.set_id("w1");
  instance.set_service("s000");
  instance.set_address("10.0.0.1:8080");
  std::string body = instance.SerializeAsString();
  {
    SqliteStore store(SqliteOptions{path});
    populate(store, 1);
    store.commit({CommitBatch{2, {put(ObjectKind::instance, "w1", "s000", body)}, {}}});
    CHECK(store.load().instances.size() == 1);
  }
  {
    // 10.0.0.1 becomes 10.0.0.7: still a valid Instance, another upstream.
    const auto at = body.find("10.0.0.1");
    REQUIRE(at != std::string::npos);
    body[at + 7] = '7';
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement update(db, "UPDATE instances SET body = ? WHERE id = 'w1'");
    update.bind(1, body.data(), static_cast<int>(body.size()));
    update.exec();
  }
  v1::Instance parsed;
  REQUIRE(parsed.ParseFromString(body));
  CHECK(parsed.address() == "10.0.0.7:8080");
  SqliteStore store(SqliteOptions{path});
  CHECK_THROWS_WITH(store.load(), Catch::Contains("(1 row(s))") &&
                                      Catch::Contains("instance \"w1\": its body does not match its checksum"));
}

TEST_CASE("store integrity: rows written before checksums existed get theirs at open", "[sqlite][integrity]") {
  TempDir dir;
  const std::string path = dir.file("tg.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    REQUIRE(apply_migrations(db, schema_migrations().first(4), 1) == 4);
    SQLite::Statement insert(db, "INSERT INTO tenants(id, body) VALUES ('acme', ?)");
    const std::string body = tenant_body("acme");
    insert.bind(1, body.data(), static_cast<int>(body.size()));
    insert.exec();
  }
  SqliteStore store(SqliteOptions{path});
  CHECK(store.load().tenants.size() == 1);
  SQLite::Statement missing(store.database(), "SELECT COUNT(*) FROM tenants WHERE body_hash IS NULL");
  REQUIRE(missing.executeStep());
  CHECK(missing.getColumn(0).getInt() == 0);
}

}  // namespace
}  // namespace tg::control
