// tgctl apply -f FILE (Admin.Apply): creates, updates with a diff, unchanged,
// --dry-run commits nothing, --prune deletes what an earlier apply of the same
// file created and the document no longer holds.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <regex>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

std::string document(const std::string& api_prefix, bool with_extra_route) {
  std::string yaml =
      "tenants:\n"
      "  - id: acme\n"
      "services:\n"
      "  - name: web\n"
      "    tenant: acme\n"
      "    instances:\n"
      "      - { id: web-1, address: 127.0.0.1:9001 }\n"
      "routes:\n"
      "  - name: api\n"
      "    match: { path_prefix: " + api_prefix + " }\n"
      "    service: web\n";
  if (with_extra_route) {
    yaml +=
        "  - name: extra\n"
        "    match: { host: extra.test }\n"
        "    service: web\n";
  }
  return yaml;
}

// kind/name → action of an apply response.
std::map<std::string, v1::Change::Action> actions(const v1::ApplyResponse& response) {
  std::map<std::string, v1::Change::Action> by_object;
  for (const v1::Change& change : response.changes()) {
    by_object[change.kind() + "/" + change.name()] = change.action();
  }
  return by_object;
}

}  // namespace

TEST_CASE("apply: create, unchanged, update with a diff, dry run, prune", "[control][apply]") {
  ControlProcess control;
  const auto file = control.write("site.yaml", document("/api/", true));
  const std::string name = file.string();

  // first apply: everything is created
  const auto created = json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", name, "-o", "json"}));
  CHECK(created.committed());
  CHECK(actions(created) == std::map<std::string, v1::Change::Action>{
                                {"tenant/acme", v1::Change::ACTION_CREATE},
                                {"service/web", v1::Change::ACTION_CREATE},
                                {"instance/web-1", v1::Change::ACTION_CREATE},
                                {"route/api", v1::Change::ACTION_CREATE},
                                {"route/extra", v1::Change::ACTION_CREATE}});
  REQUIRE(created.changes_size() == 5);
  CHECK(created.changes(0).kind() == "tenant");  // parents first
  const auto api = json_as<v1::Route>(tgctl(control, {"routes", "get", "api", "-o", "json"}));
  CHECK(api.meta().source().kind() == v1::Source::KIND_APPLY);
  CHECK(api.meta().source().file() == name);

  const auto audit_size = [&] {
    return json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "-o", "json"})).entries_size();
  };
  const int audited = audit_size();
  CHECK(audited == 5);  // one entry per object created

  // the same document again: nothing changes, nothing written
  const auto same = json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", name, "-o", "json"}));
  CHECK(actions(same) == std::map<std::string, v1::Change::Action>{
                             {"tenant/acme", v1::Change::ACTION_UNCHANGED},
                             {"service/web", v1::Change::ACTION_UNCHANGED},
                             {"instance/web-1", v1::Change::ACTION_UNCHANGED},
                             {"route/api", v1::Change::ACTION_UNCHANGED},
                             {"route/extra", v1::Change::ACTION_UNCHANGED}});
  CHECK(same.revision() == created.revision());
  CHECK(audit_size() == audited);

  // a change: one update, with its diff in the table output
  control.write("site.yaml", document("/api/v2/", true));
  const TgctlResult update = tgctl(control, {"apply", "-f", name});
  INFO(update.describe());
  REQUIRE(update.exit_code == 0);
  CHECK(std::regex_search(update.out, std::regex("\nupdate +route +api +match")));
  CHECK(update.out.find("match.path_prefix: /api/ -> /api/v2/") != std::string::npos);
  CHECK(update.out.find("1 to update") != std::string::npos);
  CHECK(update.out.find("Committed") != std::string::npos);
  CHECK(json_as<v1::Route>(tgctl(control, {"routes", "get", "api", "-o", "json"})).match().path_prefix() ==
        "/api/v2/");

  // dry run: the change is reported, not committed
  control.write("site.yaml", document("/api/v3/", true));
  const TgctlResult dry = tgctl(control, {"apply", "-f", name, "--dry-run"});
  INFO(dry.describe());
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out.find("match.path_prefix: /api/v2/ -> /api/v3/") != std::string::npos);
  CHECK(dry.out.find("Dry run: nothing was committed.") != std::string::npos);
  const auto dry_json = json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", name, "--dry-run", "-o", "json"}));
  CHECK_FALSE(dry_json.committed());
  CHECK(audit_size() == audited + 1);  // the one update; the dry runs left no trace
  CHECK(json_as<v1::Route>(tgctl(control, {"routes", "get", "api", "-o", "json"})).match().path_prefix() ==
        "/api/v2/");

  // a route gone from the document stays without --prune, goes with it
  control.write("site.yaml", document("/api/v2/", false));
  const auto kept = json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", name, "-o", "json"}));
  CHECK_FALSE(actions(kept).contains("route/extra"));
  CHECK(tgctl(control, {"routes", "get", "extra"}).exit_code == 0);
  const auto dry_prune =
      json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", name, "--prune", "--dry-run", "-o", "json"}));
  CHECK(actions(dry_prune)["route/extra"] == v1::Change::ACTION_DELETE);
  CHECK(tgctl(control, {"routes", "get", "extra"}).exit_code == 0);
  const auto pruned = json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", name, "--prune", "-o", "json"}));
  CHECK(actions(pruned)["route/extra"] == v1::Change::ACTION_DELETE);
  CHECK(tgctl(control, {"routes", "get", "extra"}).exit_code == 1);
}

TEST_CASE("apply: prune leaves objects of other sources alone", "[control][apply]") {
  ControlProcess control;
  REQUIRE(tgctl(control, {"services", "create", "by-api"}).exit_code == 0);
  REQUIRE(tgctl(control, {"routes", "create", "api-route", "--service", "by-api"}).exit_code == 0);
  const auto file = control.write("one.yaml", "tenants:\n  - id: t1\n");
  const auto first = json_as<v1::ApplyResponse>(tgctl(control, {"apply", "-f", file.string(), "--prune", "-o", "json"}));
  CHECK(actions(first) == std::map<std::string, v1::Change::Action>{{"tenant/t1", v1::Change::ACTION_CREATE}});
  CHECK(tgctl(control, {"routes", "get", "api-route"}).exit_code == 0);
  CHECK(tgctl(control, {"services", "get", "by-api"}).exit_code == 0);
}

TEST_CASE("apply: a bad document is refused with FILE:LINE:COLUMN and commits nothing", "[control][apply]") {
  ControlProcess control;
  SECTION("an unknown key: INVALID_ARGUMENT at its line and column") {
    const auto file = control.write("bad-key.yaml",
                                    "tenants:\n"
                                    "  - id: ok-tenant\n"
                                    "    colour: blue\n");
    const TgctlResult result = tgctl(control, {"apply", "-f", file.string()});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("apply: INVALID_ARGUMENT") != std::string::npos);
    CHECK(result.err.find("bad-key.yaml:3:5:") != std::string::npos);
    CHECK(tgctl(control, {"tenants", "get", "ok-tenant"}).exit_code == 1);
  }
  SECTION("a dangling reference: NOT_FOUND, located, naming the missing service") {
    const auto file = control.write("bad.yaml",
                                    "tenants:\n"
                                    "  - id: ok-tenant\n"
                                    "routes:\n"
                                    "  - name: r\n"
                                    "    service: missing-service\n");
    const TgctlResult result = tgctl(control, {"apply", "-f", file.string()});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("apply: NOT_FOUND") != std::string::npos);
    CHECK(std::regex_search(result.err, std::regex("bad\\.yaml:[45]:[0-9]+: .*missing-service")));
    CHECK(tgctl(control, {"tenants", "get", "ok-tenant"}).exit_code == 1);
  }
}

TEST_CASE("apply: objects of another source need --take-ownership", "[control][apply][ownership]") {
  ControlProcess control;
  REQUIRE(tgctl(control, {"tenants", "create", "acme", "--label", "by=api"}).exit_code == 0);
  const auto file = control.write("site.yaml", "tenants:\n  - id: acme\n  - id: other\n");

  const TgctlResult refused = tgctl(control, {"apply", "-f", file.string()});
  INFO(refused.describe());
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("apply: FAILED_PRECONDITION") != std::string::npos);
  CHECK(refused.err.find("acme") != std::string::npos);
  CHECK(tgctl(control, {"tenants", "get", "other"}).exit_code == 1);  // all or nothing

  const auto taken = json_as<v1::ApplyResponse>(
      tgctl(control, {"apply", "-f", file.string(), "--take-ownership", "-o", "json"}));
  CHECK(actions(taken) == std::map<std::string, v1::Change::Action>{
                              {"tenant/acme", v1::Change::ACTION_UPDATE},
                              {"tenant/other", v1::Change::ACTION_CREATE}});
  const auto acme = json_as<v1::Tenant>(tgctl(control, {"tenants", "get", "acme", "-o", "json"}));
  CHECK(acme.meta().source().kind() == v1::Source::KIND_APPLY);
  CHECK(acme.labels().empty());
}
