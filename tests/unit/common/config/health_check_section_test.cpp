// services[].health_check: expect (statuses and ranges), host, and the rules
// that keep them to HTTP checks; errors at FILE:LINE:COLUMN.
#include "load_helpers.hpp"

namespace tg::config {
namespace {

using test::load_ok;
using test::single_error;

const HealthCheck& check_of(const Config& config) {
  REQUIRE(config.services.size() == 1);
  REQUIRE(config.services[0].health_check.has_value());
  return *config.services[0].health_check;
}

TEST_CASE("health_check: expect takes statuses and ranges, host a name with an optional port",
          "[config][health_check]") {
  const Config config = load_ok(
      "services:\n"
      "  - name: web\n"
      "    health_check: { type: http, path: \"/ready?deep=1\", expect: [200, 204-206, \"300-399\"], host: acme.internal:8080 }\n");
  const HealthCheck& hc = check_of(config);
  CHECK(hc.expect == std::vector<StatusRange>{{200, 200}, {204, 206}, {300, 399}});
  CHECK(hc.host == "acme.internal:8080");
  CHECK(hc.path == "/ready?deep=1");
  CHECK(check_of(load_ok("services:\n  - name: web\n    health_check: { expect: 503 }\n")).expect ==
        std::vector<StatusRange>{{503, 503}});
  CHECK(check_of(load_ok("services:\n  - name: web\n    health_check: { host: \"[::1]:80\" }\n")).host == "[::1]:80");
}

TEST_CASE("health_check: bad expect and host values are refused at the value", "[config][health_check]") {
  CHECK(single_error("services:\n  - name: web\n    health_check: { expect: [200-600] }\n") ==
        "t.yaml:3:30: services[0].health_check.expect[0]: a status must be from 100 to 599, got 600");
  CHECK(single_error("services:\n  - name: web\n    health_check: { expect: [399-200] }\n") ==
        "t.yaml:3:30: services[0].health_check.expect[0]: range 399-200 ends before it starts");
  CHECK(single_error("services:\n  - name: web\n    health_check: { expect: [2xx] }\n") ==
        "t.yaml:3:30: services[0].health_check.expect[0]: must be a status (200) or a range of statuses (200-399), got \"2xx\"");
  CHECK(single_error("services:\n  - name: web\n    health_check: { expect: [] }\n") ==
        "t.yaml:3:29: services[0].health_check.expect: must list at least one status or range (default 200-399)");
  CHECK(single_error("services:\n  - name: web\n    health_check: { host: \"*.acme\" }\n") ==
        "t.yaml:3:27: services[0].health_check.host: must be a host name or an IP address, without a wildcard");
  CHECK(single_error("services:\n  - name: web\n    health_check: { type: tcp, host: a.internal }\n") ==
        "t.yaml:3:38: services[0].health_check.host: expect and host apply only to type http (this check is tcp)");
}

}  // namespace
}  // namespace tg::config
