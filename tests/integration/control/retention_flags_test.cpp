// --audit-retention and --events-retention: bad values are refused before
// anything starts; 0 keeps the rows forever; event groups last seen before
// the retention are deleted at start (and every 10 minutes), the others kept.
// (Batches and the sweep itself: unit/control server/retention_test.cpp, with
// a fake clock.)
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

TEST_CASE("tg-control --audit-retention and --events-retention: bad values exit 2 naming the flag, 0 and 90d start",
          "[control][retention]") {
  ControlProcess control({}, false);
  for (const std::string flag : {"--audit-retention", "--events-retention"}) {
    for (const auto& [value, problem] : std::vector<std::pair<std::string, std::string>>{
             {"30m", "at least 1h"}, {"2y", "unknown unit"}, {"400d", "too large"}, {"soon", "bad duration"}}) {
      control.options().extra_args = {flag, value};
      const auto status = control.start_expecting_exit();
      INFO(flag << " " << value << "\n" << control.describe());
      REQUIRE(status.has_value());
      CHECK(status->exited);
      CHECK(status->code == 2);
      const std::string log = control.log();
      CHECK(log.find(flag + ":") != std::string::npos);
      CHECK(log.find(problem) != std::string::npos);
    }
    for (const std::string value : {"0", "90d"}) {
      control.options().extra_args = {flag, value};
      control.start();
      CHECK(control.stop().success());
    }
  }
}

TEST_CASE("tg-control --events-retention: event groups last seen before it are deleted, counted, the rest kept",
          "[control][retention]") {
  ControlProcess control;
  control.stop();
  // Two groups of the schema's events table: one last seen 20 days ago, one an hour ago.
  const long long now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto row = [](const std::string& fingerprint, long long last_seen) {
    return "INSERT INTO events(tenant, service, instance, route, source, kind, level, fingerprint, message, "
           "detail_json, count, first_seen_unix_ms, last_seen_unix_ms) VALUES ('', 'web', 'a', '', 'health-check', "
           "'health', 'warning', '" + fingerprint + "', '" + fingerprint + "', '{}', 1, " + std::to_string(last_seen) +
           ", " + std::to_string(last_seen) + ");";
  };
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(control.db_path().c_str(), &db) == SQLITE_OK);
  const std::string sql = row("old", now_ms - 20LL * 24 * 3600 * 1000) + row("recent", now_ms - 3600 * 1000);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);

  control.options().extra_args = {"--events-retention", "14d"};
  control.start();
  const auto deleted = [&] {
    return PrometheusText::parse(http_get(control.http_port(), "/metrics").body)
        .value("tg_control_event_rows_deleted_total");
  };
  REQUIRE(poll_for(10s, [&] { return deleted() == 1; }, 20ms));
  const auto events = json_as<v1::ListEventsResponse>(tgctl(control, {"events", "list", "--grouped", "-o", "json"}));
  REQUIRE(events.events_size() == 1);
  CHECK(events.events(0).message() == "recent");
  // Without a retention nothing goes.
  control.stop();
  control.options().extra_args = {"--events-retention", "0"};
  control.start();
  CHECK(deleted() == 0);
  CHECK(json_as<v1::ListEventsResponse>(tgctl(control, {"events", "list", "--grouped", "-o", "json"})).events_size() == 1);
}
