// The ownership rule (docs/control-plane.md, Ownership): objects from a --config file belong to the
// file; an Admin edit is refused naming the file unless it takes ownership;
// a restart re-applies the file only to what it still owns; a bad file stops
// startup with FILE:LINE:COLUMN.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

std::string site_yaml(const std::string& owned_prefix, const std::string& taken_prefix) {
  return "tenants:\n"
         "  - id: acme\n"
         "services:\n"
         "  - name: web\n"
         "    tenant: acme\n"
         "    instances:\n"
         "      - { id: web-1, address: 127.0.0.1:9001 }\n"
         "routes:\n"
         "  - name: owned\n"
         "    match: { path_prefix: " + owned_prefix + " }\n"
         "    service: web\n"
         "  - name: taken\n"
         "    match: { path_prefix: " + taken_prefix + " }\n"
         "    service: web\n";
}

v1::Route get_route(const ControlProcess& control, const std::string& name) {
  return json_as<v1::Route>(tgctl(control, {"routes", "get", name, "-o", "json"}));
}

}  // namespace

TEST_CASE("config-file objects: recorded source, edits refused naming the file, take-ownership",
          "[control][ownership]") {
  ControlOptions options;
  ControlProcess control(options, false);
  const auto site = control.write("site.yaml", site_yaml("/owned/", "/taken/"));
  control.options().configs = {site};
  control.start();

  const v1::Route owned = get_route(control, "owned");
  CHECK(owned.meta().source().kind() == v1::Source::KIND_CONFIG_FILE);
  CHECK(owned.meta().source().file() == site.string());
  CHECK(owned.meta().source().line() == 9);
  const auto tenant = json_as<v1::Tenant>(tgctl(control, {"tenants", "get", "acme", "-o", "json"}));
  CHECK(tenant.meta().source().kind() == v1::Source::KIND_CONFIG_FILE);

  for (const std::vector<std::string>& edit :
       {std::vector<std::string>{"routes", "patch", "taken", "--method", "GET"},
        {"routes", "update", "taken", "--service", "web"},
        {"routes", "delete", "taken"},
        {"tenants", "update", "acme", "--label", "a=b"},
        {"services", "update", "web", "--tenant", "acme", "--lb", "weighted"},
        {"instances", "deregister", "web-1"}}) {
    const TgctlResult refused = tgctl(control, edit);
    INFO(refused.describe());
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("FAILED_PRECONDITION") != std::string::npos);
    CHECK(refused.err.find(site.filename().string()) != std::string::npos);
  }
  CHECK(get_route(control, "taken").match().method().empty());  // nothing changed

  const auto taken = json_as<v1::Route>(tgctl(
      control, {"routes", "patch", "taken", "--path-prefix", "/api-taken/", "--take-ownership", "-o", "json"}));
  CHECK(taken.match().path_prefix() == "/api-taken/");
  CHECK(taken.meta().source().kind() == v1::Source::KIND_API);
  // the API owns it now: a plain edit works
  const TgctlResult plain = tgctl(control, {"routes", "patch", "taken", "--method", "POST"});
  INFO(plain.describe());
  CHECK(plain.exit_code == 0);

  SECTION("a restart re-applies the file only to the objects it still owns") {
    control.stop();
    control.write("site.yaml", site_yaml("/owned-v2/", "/taken-v2/"));
    control.start();
    CHECK(get_route(control, "owned").match().path_prefix() == "/owned-v2/");
    const v1::Route kept = get_route(control, "taken");
    CHECK(kept.match().path_prefix() == "/api-taken/");
    CHECK(kept.match().method() == "POST");
    CHECK(kept.meta().source().kind() == v1::Source::KIND_API);
  }
}

TEST_CASE("a config file error stops startup with FILE:LINE:COLUMN", "[control][ownership][config]") {
  ControlProcess control({}, false);
  const auto bad = control.write("bad.yaml",
                                 "services:\n"
                                 "  - name: web\n"
                                 "    bogus: 1\n"
                                 "routes: []\n");
  control.options().configs = {bad};
  const auto status = control.start_expecting_exit();
  INFO(control.describe());
  REQUIRE(status.has_value());
  CHECK_FALSE(status->success());
  CHECK(control.log().find("bad.yaml:3:5:") != std::string::npos);
}

TEST_CASE("a config directory loads every *.yaml in it", "[control][ownership][config]") {
  ControlProcess control({}, false);
  std::filesystem::create_directory(control.dir() / "conf.d");
  write_file(control.dir() / "conf.d" / "a.yaml", "tenants:\n  - id: from-a\n");
  write_file(control.dir() / "conf.d" / "b.yaml", "tenants:\n  - id: from-b\n");
  write_file(control.dir() / "conf.d" / "ignored.txt", "not yaml at all: [\n");
  control.options().configs = {control.dir() / "conf.d"};
  control.start();
  const auto tenants = json_as<v1::ListTenantsResponse>(tgctl(control, {"tenants", "list", "-o", "json"}));
  REQUIRE(tenants.tenants_size() == 2);
  CHECK(tenants.tenants(0).id() == "from-a");
  CHECK(tenants.tenants(1).id() == "from-b");
}

TEST_CASE("config-file instances: operational calls are allowed, the state survives a restart",
          "[control][ownership]") {
  ControlProcess control({}, false);
  const auto site = control.write("site.yaml", site_yaml("/owned/", "/taken/"));
  control.options().configs = {site};
  control.start();

  // admin state and heartbeats are operations, not edits of the file's object
  const TgctlResult drain = tgctl(control, {"instances", "set-state", "web-1", "draining"});
  INFO(drain.describe());
  CHECK(drain.exit_code == 0);
  CHECK(tgctl(control, {"instances", "heartbeat", "web-1"}).exit_code == 0);
  // replacing it is an edit: refused, naming the file
  const TgctlResult replace =
      tgctl(control, {"instances", "register", "web", "127.0.0.1:9009", "--id", "web-1", "--replace"});
  CHECK(replace.exit_code == 1);
  CHECK(replace.err.find("FAILED_PRECONDITION") != std::string::npos);
  CHECK(replace.err.find("site.yaml") != std::string::npos);

  control.stop();
  control.start();
  const auto instances = json_as<v1::DiscoverInstancesResponse>(
      tgctl(control, {"instances", "discover", "web", "-o", "json"}));
  REQUIRE(instances.instances_size() == 1);
  CHECK(instances.instances(0).admin_state() == v1::ADMIN_STATE_DRAINING);
  CHECK(instances.instances(0).address() == "127.0.0.1:9001");
  CHECK(instances.instances(0).meta().source().kind() == v1::Source::KIND_CONFIG_FILE);

  // With --take-ownership the replace goes through, and the instance is the
  // API's from then on: a restart re-applying the file leaves it alone.
  const TgctlResult taken = tgctl(control, {"instances", "register", "web", "127.0.0.1:9009", "--id", "web-1",
                                            "--replace", "--take-ownership"});
  CHECK(taken.exit_code == 0);
  control.stop();
  control.start();
  const auto after = json_as<v1::DiscoverInstancesResponse>(tgctl(control, {"instances", "discover", "web", "-o", "json"}));
  REQUIRE(after.instances_size() == 1);
  CHECK(after.instances(0).address() == "127.0.0.1:9009");
  CHECK(after.instances(0).meta().source().kind() == v1::Source::KIND_API);
}

TEST_CASE("an object removed from its config file is gone after a restart", "[control][ownership]") {
  ControlProcess control({}, false);
  const auto site = control.write("site.yaml", site_yaml("/owned/", "/taken/"));
  control.options().configs = {site};
  control.start();
  REQUIRE(tgctl(control, {"routes", "create", "by-api", "--service", "web"}).exit_code == 0);
  control.stop();
  // the same file without the route "taken"
  std::string yaml = site_yaml("/owned/", "/taken/");
  yaml = yaml.substr(0, yaml.find("  - name: taken"));
  control.write("site.yaml", yaml);
  control.start();
  CHECK(tgctl(control, {"routes", "get", "taken"}).exit_code == 1);
  CHECK(tgctl(control, {"routes", "get", "owned"}).exit_code == 0);
  CHECK(tgctl(control, {"routes", "get", "by-api"}).exit_code == 0);  // not the file's
  const auto audit = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--name", "taken", "--method", "startup", "-o", "json"}));
  REQUIRE(audit.entries_size() >= 2);
  CHECK(audit.entries(0).after_json().empty());  // the newest: its deletion at startup
}

TEST_CASE("a name declared in two config files stops startup naming both", "[control][ownership][config]") {
  ControlProcess control({}, false);
  const auto a = control.write("a.yaml", "tenants:\n  - id: acme\n");
  const auto b = control.write("b.yaml", "tenants:\n  - id: globex\n  - id: acme\n");
  control.options().configs = {a, b};
  const auto status = control.start_expecting_exit();
  INFO(control.describe());
  REQUIRE(status.has_value());
  CHECK_FALSE(status->success());
  CHECK(control.log().find("a.yaml:2:") != std::string::npos);
  CHECK(control.log().find("b.yaml:3:") != std::string::npos);
}
