// Deletions that stick: a config-file route deleted through the API with
// --take-ownership is not recreated by the next tg-control start (a
// tombstone), and startup logs every change it makes, one line per object.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

const char* site_yaml =
    "tenants:\n"
    "  - id: acme\n"
    "services:\n"
    "  - name: acme-web\n"
    "    tenant: acme\n"
    "    instances:\n"
    "      - { id: web-1, address: 127.0.0.1:9001 }\n"
    "routes:\n"
    "  - name: acme-host\n"
    "    match: { host: acme.example.com }\n"
    "    service: acme-web\n"
    "  - name: acme-api\n"
    "    match: { path_prefix: /api/ }\n"
    "    service: acme-web\n";

void ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
}

std::vector<std::string> route_names(const ControlProcess& control) {
  const auto routes = json_as<v1::ListRoutesResponse>(tgctl(control, {"routes", "list", "-o", "json"}));
  std::vector<std::string> names;
  for (const auto& r : routes.routes()) names.push_back(r.name());
  return names;
}

}  // namespace

TEST_CASE("a config-file route deleted with --take-ownership stays deleted across restarts",
          "[control][ownership][tombstones]") {
  ControlProcess control({}, false);
  const auto site = control.write("site.yaml", site_yaml);
  control.options().configs = {site};
  control.start();
  // Startup says what it did, one line per object.
  CHECK(control.log().find("tg-control: startup: created route acme-host (" + site.string() + ":9)") !=
        std::string::npos);
  CHECK(control.log().find("tg-control: startup: created service acme-web (" + site.string() + ":4)") !=
        std::string::npos);

  ok(control, {"routes", "delete", "acme-host", "--take-ownership"});
  CHECK(route_names(control) == std::vector<std::string>{"acme-api"});

  SECTION("after a clean stop") { control.stop(); }
  SECTION("after kill -9") { control.kill(); }
  control.start();
  INFO(control.log());
  CHECK(route_names(control) == std::vector<std::string>{"acme-api"});
  CHECK(control.log().find("tg-control: startup: route acme-host: deleted through the API at ") != std::string::npos);
  CHECK(control.log().find("(tombstone); not recreated from " + site.string() + ":9:5") != std::string::npos);

  // Removing it from the file drops the tombstone (logged); declaring it again recreates it.
  control.stop();
  std::string without = site_yaml;
  without.erase(without.find("  - name: acme-host"), std::string("  - name: acme-host\n"
                                                                 "    match: { host: acme.example.com }\n"
                                                                 "    service: acme-web\n")
                                                         .size());
  control.write("site.yaml", without);
  control.start();
  CHECK(control.log().find("tg-control: startup: dropped the tombstone of route acme-host (no longer in " +
                           site.string() + ")") != std::string::npos);
  control.stop();
  control.write("site.yaml", site_yaml);
  control.start();
  CHECK(route_names(control) == std::vector<std::string>{"acme-api", "acme-host"});
}

TEST_CASE("creating a tombstoned route again through the API takes it back", "[control][ownership][tombstones]") {
  ControlProcess control({}, false);
  const auto site = control.write("site.yaml", site_yaml);
  control.options().configs = {site};
  control.start();
  ok(control, {"routes", "delete", "acme-host", "--take-ownership"});
  ok(control, {"routes", "create", "acme-host", "--service", "acme-web", "--host", "new.example.com"});
  control.stop();
  control.start();
  const auto route = json_as<v1::Route>(tgctl(control, {"routes", "get", "acme-host", "-o", "json"}));
  CHECK(route.match().host() == "new.example.com");
  CHECK(route.meta().source().kind() == v1::Source::KIND_API);
}
