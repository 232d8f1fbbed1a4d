// tg-control refuses to start on a damaged database instead of loading part
// of it (docs/operations.md, "Store integrity and disk full").
#include "control/support/control_process.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <fstream>

using namespace tg::itest;

namespace {

void ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
}

// A plain connection (foreign keys off, as with the sqlite3 shell).
void exec(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &handle) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(handle);
  REQUIRE(rc == SQLITE_OK);
}

long long query_int(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &handle) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(handle, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  const long long value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return value;
}

void populate_and_stop(ControlProcess& control) {
  ok(control, {"tenants", "create", "acme"});
  ok(control, {"services", "create", "web", "--tenant", "acme"});
  ok(control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "w1"});
  REQUIRE(control.stop().success());  // the last connection closes: the WAL is checkpointed into the file
}

}  // namespace

TEST_CASE("tg-control refuses a database with a damaged index page, naming the damage",
          "[control][store][integrity]") {
  ControlProcess control;
  populate_and_stop(control);
  const long long page_size = query_int(control.db_path(), "PRAGMA page_size");
  const long long root =
      query_int(control.db_path(), "SELECT rootpage FROM sqlite_schema WHERE name = 'services_by_tenant'");
  {
    std::fstream file(control.db_path(), std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(file);
    file.seekp((root - 1) * page_size + page_size * 3 / 4);
    const std::string garbage(page_size / 4, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    REQUIRE(file.flush());
  }
  const auto status = control.start_expecting_exit();
  INFO(control.describe());
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 1);
  CHECK(control.log().find("the database is damaged (PRAGMA integrity_check") != std::string::npos);
  CHECK(control.log().find("\n  services: ") != std::string::npos);  // SQLite's lines, by table

  // The rows themselves are intact and the reference check passes: the flag
  // lets an operator start (e.g. to export) knowingly.
  control.options().extra_args = {"--skip-integrity-check"};
  control.start();
  CHECK(control.log().find("--skip-integrity-check: the registry tables were not checked") != std::string::npos);
  ok(control, {"services", "get", "web"});
}

TEST_CASE("tg-control refuses a database with a dangling reference, naming the rows",
          "[control][store][integrity]") {
  ControlProcess control;
  populate_and_stop(control);
  exec(control.db_path(), "DELETE FROM tenants WHERE id = 'acme'");
  // integrity_check does not look at foreign keys; the load's reference check
  // refuses it, with or without the flag.
  SECTION("checked") {}
  SECTION("--skip-integrity-check") { control.options().extra_args = {"--skip-integrity-check"}; }
  const auto status = control.start_expecting_exit();
  INFO(control.describe());
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 1);
  CHECK(control.log().find("the registry in the store is inconsistent (1 problem(s))") != std::string::npos);
  CHECK(control.log().find("service \"web\": its tenant \"acme\" is not in the store") != std::string::npos);
}
