// Edits that change only what the operator named (PatchService, PatchTenant,
// PatchInstance through `tgctl ... update|patch`), refusals in tgctl's words,
// and the fleet-wide `tgctl instances list`.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

constexpr const char* site_yaml =
    "tenants:\n"
    "  - id: acme\n"
    "  - id: beta\n"
    "services:\n"
    "  - name: acme-web\n"
    "    tenant: acme\n"
    "    health_check: { type: http, path: /ready, interval: 24h }\n"
    "    instances:\n"
    "      - { id: web-1, address: 127.0.0.1:9001 }\n"
    "      - { id: web-2, address: 127.0.0.1:9002, weight: 3, labels: { zone: a } }\n"
    "  - name: beta-api\n"
    "    tenant: beta\n"
    "    instances:\n"
    "      - { id: api-1, address: 127.0.0.1:9101 }\n"
    "      - { id: api-2, address: 127.0.0.1:9102 }\n";

v1::Service get_service(const ControlProcess& control, const std::string& name) {
  return json_as<v1::Service>(tgctl(control, {"services", "get", name, "-o", "json"}));
}

std::vector<std::string> ids_of(const v1::ListInstancesResponse& response) {
  std::vector<std::string> ids;
  for (const auto& instance : response.instances()) ids.push_back(instance.id());
  return ids;
}

}  // namespace

TEST_CASE("services update and patch change only the flags given, the tenant stays", "[control][patch]") {
  ControlProcess control(ControlOptions{}, false);
  control.options().configs = {control.write("site.yaml", site_yaml)};
  control.start();

  const TgctlResult refused = tgctl(control, {"services", "patch", "acme-web", "--lb", "least_request"});
  INFO(refused.describe());
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("FAILED_PRECONDITION") != std::string::npos);
  CHECK(refused.err.find("site.yaml") != std::string::npos);
  CHECK(refused.err.find("pass --take-ownership") != std::string::npos);
  CHECK(refused.err.find(" take_ownership") == std::string::npos);

  const TgctlResult updated =
      tgctl(control, {"services", "update", "acme-web", "--lb", "least_request", "--take-ownership"});
  INFO(updated.describe());
  REQUIRE(updated.exit_code == 0);
  const v1::Service service = get_service(control, "acme-web");
  CHECK(service.tenant() == "acme");
  CHECK(service.lb_policy() == v1::LB_POLICY_LEAST_REQUEST);
  CHECK(service.health_check().path() == "/ready");
  CHECK(service.meta().source().kind() == v1::Source::KIND_API);
  const auto discovered = json_as<v1::DiscoverInstancesResponse>(
      tgctl(control, {"instances", "discover", "acme-web", "-o", "json"}));
  CHECK(discovered.instances_size() == 2);

  // The audit row shows only the intended change.
  const auto audit = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--kind", "service", "--name", "acme-web", "-o", "json"}));
  REQUIRE(audit.entries_size() >= 1);
  const v1::AuditEntry& row = audit.entries(0);
  CHECK(row.method() == "PatchService");
  v1::Service before, after;
  REQUIRE(google::protobuf::util::JsonStringToMessage(row.before_json(), &before).ok());
  REQUIRE(google::protobuf::util::JsonStringToMessage(row.after_json(), &after).ok());
  CHECK(before.tenant() == "acme");
  CHECK(after.tenant() == "acme");
  before.clear_meta();
  after.clear_meta();
  before.set_lb_policy(v1::LB_POLICY_LEAST_REQUEST);
  CHECK(before.DebugString() == after.DebugString());

  // A later patch of one timeout keeps lb and tenant.
  REQUIRE(tgctl(control, {"services", "patch", "acme-web", "--idle-timeout", "90s"}).exit_code == 0);
  const v1::Service patched = get_service(control, "acme-web");
  CHECK(patched.timeouts().idle_ms() == 90'000);
  CHECK(patched.lb_policy() == v1::LB_POLICY_LEAST_REQUEST);
  CHECK(patched.tenant() == "acme");

  // tenants and instances: the labels and fields not named stay
  REQUIRE(tgctl(control, {"tenants", "update", "beta", "--label", "tier=gold", "--take-ownership"}).exit_code == 0);
  REQUIRE(tgctl(control, {"tenants", "update", "beta", "--label", "team=blue"}).exit_code == 0);
  const auto beta = json_as<v1::Tenant>(tgctl(control, {"tenants", "get", "beta", "-o", "json"}));
  CHECK(beta.labels().size() == 2);
  CHECK(beta.labels().at("tier") == "gold");
  const auto web2 = json_as<v1::Instance>(
      tgctl(control, {"instances", "update", "web-2", "--weight", "5", "--take-ownership", "-o", "json"}));
  CHECK(web2.weight() == 5);
  CHECK(web2.labels().at("zone") == "a");
  CHECK(web2.address() == "127.0.0.1:9002");
  CHECK(web2.service() == "acme-web");
}

TEST_CASE("instances list: every service, filtered by state, tenant and health", "[control][instances]") {
  ControlProcess control(ControlOptions{}, false);
  control.options().configs = {control.write("site.yaml", site_yaml)};
  control.start();
  REQUIRE(tgctl(control, {"instances", "set-state", "web-1", "disabled"}).exit_code == 0);
  REQUIRE(tgctl(control, {"instances", "set-state", "api-2", "disabled"}).exit_code == 0);
  REQUIRE(tgctl(control, {"instances", "set-state", "api-1", "draining"}).exit_code == 0);

  using Ids = std::vector<std::string>;
  CHECK(ids_of(json_as<v1::ListInstancesResponse>(tgctl(control, {"instances", "list", "-o", "json"}))) ==
        Ids{"api-1", "api-2", "web-1", "web-2"});
  CHECK(ids_of(json_as<v1::ListInstancesResponse>(
            tgctl(control, {"instances", "list", "--state", "disabled", "-o", "json"}))) == Ids{"api-2", "web-1"});
  CHECK(ids_of(json_as<v1::ListInstancesResponse>(tgctl(
            control, {"instances", "list", "--state", "disabled", "--tenant", "acme", "-o", "json"}))) ==
        Ids{"web-1"});
  CHECK(ids_of(json_as<v1::ListInstancesResponse>(
            tgctl(control, {"instances", "list", "beta-api", "--health", "healthy", "-o", "json"}))) ==
        Ids{"api-1", "api-2"});
  // acme-web has a health check (probed once a day, at a random offset):
  // its instances await their first check, out of rotation.
  CHECK(ids_of(json_as<v1::ListInstancesResponse>(
            tgctl(control, {"instances", "list", "--health", "unhealthy", "-o", "json"}))) ==
        Ids{"web-1", "web-2"});

  const TgctlResult table = tgctl(control, {"instances", "list", "--state", "disabled"});
  INFO(table.describe());
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("web-1  acme-web") != std::string::npos);
  CHECK(table.out.find("api-2  beta-api") != std::string::npos);
}

TEST_CASE("refusals name tgctl's flags: UNAUTHENTICATED names --token-file and TG_TOKEN_FILE",
          "[control][auth]") {
  ControlOptions options;
  options.tokens = "ops s3cret-ops\n";
  ControlProcess control(options);
  const TgctlResult none = tgctl(control, {"instances", "list"});
  INFO(none.describe());
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("UNAUTHENTICATED") != std::string::npos);
  CHECK(none.err.find("pass --token-file FILE or set TG_TOKEN_FILE") != std::string::npos);

  TgctlOptions wrong;
  wrong.env = {"TG_TOKEN_FILE=" + control.write("wrong.token", "nope\n").string()};
  const TgctlResult rejected = tgctl(control, {"tenants", "list"}, wrong);
  CHECK(rejected.exit_code == 1);
  CHECK(rejected.err.find("wrong.token (--token-file or TG_TOKEN_FILE) was not accepted") != std::string::npos);
}
