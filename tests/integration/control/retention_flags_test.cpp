// --audit-retention: bad values are refused before anything starts; 0 keeps
// the audit log forever. (The deletion itself: unit/control
// server/audit_retention_test.cpp, with a fake clock.)
#include "control/support/control_process.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;

TEST_CASE("tg-control --audit-retention: bad values exit 2 naming the flag, 0 and 90d start", "[control][retention]") {
  ControlProcess control({}, false);
  for (const auto& [value, problem] : std::vector<std::pair<std::string, std::string>>{
           {"30m", "at least 1h"}, {"2y", "unknown unit"}, {"400d", "too large"}, {"soon", "bad duration"}}) {
    control.options().extra_args = {"--audit-retention", value};
    const auto status = control.start_expecting_exit();
    INFO(value << "\n" << control.describe());
    REQUIRE(status.has_value());
    CHECK(status->exited);
    CHECK(status->code == 2);
    const std::string log = control.log();
    CHECK(log.find("--audit-retention") != std::string::npos);
    CHECK(log.find(problem) != std::string::npos);
  }
  for (const std::string value : {"0", "90d"}) {
    control.options().extra_args = {"--audit-retention", value};
    control.start();
    CHECK(control.stop().success());
  }
}
