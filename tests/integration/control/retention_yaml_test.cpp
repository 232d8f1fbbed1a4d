// `retention:` in tg-control's --config files: events and audit rows older
// than it are deleted at start; a flag given on the command line wins over
// it; a bad value stops tg-control with FILE:LINE:COLUMN. (The flags alone:
// retention_flags_test.cpp; the sweep in batches: unit/control
// server/retention_test.cpp.)
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Rows written straight into the stopped tg-control's database.
void execute(const ControlProcess& control, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(control.db_path().c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::string event_row(const std::string& fingerprint, long long last_seen) {
  return "INSERT INTO events(tenant, service, instance, route, source, kind, level, fingerprint, message, detail_json, "
         "count, first_seen_unix_ms, last_seen_unix_ms) VALUES ('', 'web', 'a', '', 'health-check', 'health', "
         "'warning', '" + fingerprint + "', '" + fingerprint + "', '{}', 1, " + std::to_string(last_seen) + ", " +
         std::to_string(last_seen) + ");";
}

std::string audit_row(const std::string& name, long long time) {
  return "INSERT INTO audit(time_unix_ms, actor, method, kind, name, before_json, after_json) VALUES (" +
         std::to_string(time) + ", 'test', 'CreateTenant', 'tenant', '" + name + "', '', '{}');";
}

std::optional<double> metric(const ControlProcess& control, const std::string& name) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body).value(name);
}

}  // namespace

TEST_CASE("retention: in YAML deletes older event groups and audit rows, and the flag wins over it",
          "[control][retention]") {
  ControlProcess control;
  control.stop();
  const long long now = now_ms();
  const long long hour = 3600LL * 1000;
  execute(control, event_row("old", now - 3 * hour) + event_row("recent", now - 60'000) +
                       audit_row("old-tenant", now - 3 * hour) + audit_row("recent-tenant", now - 60'000));
  const auto file = control.write("retention.yaml", "retention: { events: 2h, audit: 2h, rollups: 30d }\n");
  control.options().configs = {file};

  SECTION("the YAML values apply") {
    control.start();
    REQUIRE(poll_for(10s, [&] {
      return metric(control, "tg_control_event_rows_deleted_total") == 1 &&
             metric(control, "tg_control_audit_rows_deleted_total") == 1;
    }, 20ms));
    const auto events = json_as<v1::ListEventsResponse>(tgctl(control, {"events", "list", "--grouped", "-o", "json"}));
    REQUIRE(events.events_size() == 1);
    CHECK(events.events(0).message() == "recent");
    const auto audit = json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "-o", "json"}));
    REQUIRE(audit.entries_size() == 1);
    CHECK(audit.entries(0).name() == "recent-tenant");
    // rollups is enforced too (telemetry rollups): no "not enforced" warning.
    CHECK(control.log().find("warning: retention.rollups") == std::string::npos);
    CHECK(control.log().find("rollups 30d (" + file.string() + ":1:12)") != std::string::npos);
    CHECK(control.log().find("retention: events 2h (" + file.string() + ":1:12), audit 2h (" + file.string() +
                             ":1:12)") != std::string::npos);
  }
  SECTION("a flag on the command line wins") {
    control.options().extra_args = {"--events-retention", "0", "--audit-retention", "1d"};
    control.start();
    // The sweep ran at start (the log says what is in effect) and deleted nothing.
    REQUIRE(poll_for(10s, [&] {
      return control.log().find("retention: events forever (--events-retention), audit 1d (--audit-retention)") !=
             std::string::npos;
    }, 20ms));
    CHECK(json_as<v1::ListEventsResponse>(tgctl(control, {"events", "list", "--grouped", "-o", "json"})).events_size() == 2);
    CHECK(json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "-o", "json"})).entries_size() == 2);
    CHECK(metric(control, "tg_control_event_rows_deleted_total") == 0);
  }
}

TEST_CASE("retention: a bad value or an unknown key stops tg-control with FILE:LINE:COLUMN", "[control][retention]") {
  ControlProcess control({}, false);
  const auto file = control.write("retention.yaml", "tenants: []\nretention:\n  events: 30m\n  audits: 1d\n");
  control.options().configs = {file};
  const auto status = control.start_expecting_exit();
  INFO(control.describe());
  REQUIRE(status.has_value());
  CHECK(status->exited);
  CHECK(status->code == 1);
  const std::string log = control.log();
  CHECK(log.find(file.string() + ":3:11: retention.events: at least 1h (or 0 to keep forever), got 30m") !=
        std::string::npos);
  CHECK(log.find(file.string() + ":4:3: retention: unknown key \"audits\" (did you mean \"audit\"?)") !=
        std::string::npos);
}
