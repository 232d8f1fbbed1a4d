// CRUD round trips through tgctl against the real tg-control: each noun's
// verbs, read back with `-o json` (admin.proto: Tenants, Services, Instances,
// Routes).
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

// Runs tgctl and requires exit 0.
TgctlResult ok(const ControlProcess& control, const std::vector<std::string>& args) {
  TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  return result;
}

std::vector<std::string> with_json(std::vector<std::string> args) {
  args.insert(args.end(), {"-o", "json"});
  return args;
}

}  // namespace

TEST_CASE("tenants: create, get, list, update, delete", "[control][crud][tenants]") {
  ControlProcess control;
  const auto created =
      json_as<v1::Tenant>(ok(control, with_json({"tenants", "create", "acme", "--label", "tier=gold"})));
  CHECK(created.id() == "acme");
  CHECK(created.labels().at("tier") == "gold");
  CHECK(created.meta().source().kind() == v1::Source::KIND_API);
  CHECK(created.meta().revision() > 0);
  CHECK(created.meta().created_unix_ms() > 0);
  ok(control, {"tenants", "create", "globex"});

  const auto got = json_as<v1::Tenant>(ok(control, with_json({"tenants", "get", "acme"})));
  CHECK(got.labels().at("tier") == "gold");

  const auto listed = json_as<v1::ListTenantsResponse>(ok(control, with_json({"tenants", "list"})));
  REQUIRE(listed.tenants_size() == 2);
  CHECK(listed.tenants(0).id() == "acme");  // ordered by id
  CHECK(listed.tenants(1).id() == "globex");
  const std::string table = ok(control, {"tenants", "list"}).out;
  CHECK(table.starts_with("ID "));
  CHECK(table.find("acme    tier=gold") != std::string::npos);

  // update sets the labels given; the others stay (--remove-label removes one)
  const auto updated = json_as<v1::Tenant>(
      ok(control, with_json({"tenants", "update", "acme", "--label", "zone=eu"})));
  CHECK(updated.labels().size() == 2);
  CHECK(updated.labels().at("zone") == "eu");
  CHECK(updated.labels().at("tier") == "gold");
  const auto removed = json_as<v1::Tenant>(
      ok(control, with_json({"tenants", "update", "acme", "--remove-label", "tier"})));
  CHECK(removed.labels().size() == 1);
  CHECK(removed.labels().at("zone") == "eu");
  CHECK(updated.meta().revision() > created.meta().revision());

  const auto deleted = json_as<v1::DeleteResponse>(ok(control, with_json({"tenants", "delete", "globex"})));
  CHECK(deleted.revision() > updated.meta().revision());
  const TgctlResult gone = tgctl(control, {"tenants", "get", "globex"});
  INFO(gone.describe());
  CHECK(gone.exit_code == 1);
  CHECK(gone.err.find("tenants get: NOT_FOUND") != std::string::npos);
  CHECK(json_as<v1::ListTenantsResponse>(ok(control, with_json({"tenants", "list"}))).tenants_size() == 1);
}

TEST_CASE("services: create with policies, list by tenant, update, delete", "[control][crud][services]") {
  ControlProcess control;
  ok(control, {"tenants", "create", "acme"});
  ok(control, {"tenants", "create", "globex"});
  const auto created = json_as<v1::Service>(ok(
      control, with_json({"services", "create", "acme-web", "--tenant", "acme", "--lb", "ring_hash",
                          "--hash-header", "X-User", "--health-check", "http", "--health-path",
                          "/ready", "--health-interval", "2s", "--connect-timeout", "500ms",
                          "--retry-attempts", "3", "--retry-on", "connect_failure,503",
                          "--max-body", "1MiB"})));
  CHECK(created.tenant() == "acme");
  CHECK(created.lb_policy() == v1::LB_POLICY_RING_HASH);
  CHECK(created.hash_key().kind() == v1::HashKey::KIND_HEADER);
  CHECK(created.hash_key().name() == "x-user");  // header names are stored lower-case
  CHECK(created.health_check().path() == "/ready");
  CHECK(created.health_check().interval_ms() == 2000);
  CHECK(created.timeouts().connect_ms() == 500);
  CHECK(created.retry().attempts() == 3);
  REQUIRE(created.retry().on_size() == 2);
  CHECK(created.retry().on(1) == v1::RETRY_ON_503);
  CHECK(created.limits().max_body() == 1024 * 1024);
  ok(control, {"services", "create", "globex-api", "--tenant", "globex"});

  const auto acme_only = json_as<v1::ListServicesResponse>(
      ok(control, with_json({"services", "list", "--tenant", "acme"})));
  REQUIRE(acme_only.services_size() == 1);
  CHECK(acme_only.services(0).name() == "acme-web");
  CHECK(json_as<v1::ListServicesResponse>(ok(control, with_json({"services", "list"}))).services_size() == 2);

  // update changes only the fields given; --clear resets one
  const auto updated = json_as<v1::Service>(
      ok(control, with_json({"services", "update", "acme-web", "--lb", "least_request"})));
  CHECK(updated.lb_policy() == v1::LB_POLICY_LEAST_REQUEST);
  CHECK(updated.tenant() == "acme");
  CHECK(updated.health_check().path() == "/ready");
  CHECK(updated.retry().attempts() == 3);
  const auto cleared = json_as<v1::Service>(
      ok(control, with_json({"services", "patch", "acme-web", "--clear", "health_check"})));
  CHECK_FALSE(cleared.has_health_check());
  CHECK(cleared.timeouts().connect_ms() == 500);
  CHECK(json_as<v1::Service>(ok(control, with_json({"services", "get", "acme-web"}))).lb_policy() ==
        v1::LB_POLICY_LEAST_REQUEST);

  ok(control, {"services", "delete", "globex-api"});
  CHECK(tgctl(control, {"services", "get", "globex-api"}).exit_code == 1);
}

TEST_CASE("instances: register, discover, set-state, deregister", "[control][crud][instances]") {
  ControlProcess control;
  ok(control, {"services", "create", "web"});
  const auto first = json_as<v1::Instance>(
      ok(control, with_json({"instances", "register", "web", "127.0.0.1:9001"})));
  CHECK(first.id() == "web/127.0.0.1:9001");  // default id
  CHECK(first.weight() == 1);                 // 0 = 1 on register
  CHECK(first.admin_state() == v1::ADMIN_STATE_ACTIVE);
  const auto second = json_as<v1::Instance>(
      ok(control, with_json({"instances", "register", "web", "127.0.0.1:9002", "--id", "a-web-2",
                             "--weight", "3", "--label", "zone=b", "--state", "draining"})));
  CHECK(second.weight() == 3);
  CHECK(second.labels().at("zone") == "b");
  CHECK(second.admin_state() == v1::ADMIN_STATE_DRAINING);

  // registering an existing id: ALREADY_EXISTS, unless --replace
  const TgctlResult again = tgctl(control, {"instances", "register", "web", "127.0.0.1:9003", "--id", "a-web-2"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("ALREADY_EXISTS") != std::string::npos);
  const auto replaced = json_as<v1::Instance>(ok(
      control, with_json({"instances", "register", "web", "127.0.0.1:9003", "--id", "a-web-2", "--replace"})));
  CHECK(replaced.address() == "127.0.0.1:9003");

  auto discovered = json_as<v1::DiscoverInstancesResponse>(
      ok(control, with_json({"instances", "discover", "web"})));
  REQUIRE(discovered.instances_size() == 2);
  CHECK(discovered.instances(0).id() == "a-web-2");  // ordered by id
  CHECK(discovered.instances(1).id() == "web/127.0.0.1:9001");

  const auto disabled = json_as<v1::Instance>(
      ok(control, with_json({"instances", "set-state", "web/127.0.0.1:9001", "disabled"})));
  CHECK(disabled.admin_state() == v1::ADMIN_STATE_DISABLED);

  ok(control, {"instances", "deregister", "a-web-2"});
  discovered = json_as<v1::DiscoverInstancesResponse>(ok(control, with_json({"instances", "discover", "web"})));
  REQUIRE(discovered.instances_size() == 1);
  CHECK(discovered.instances(0).admin_state() == v1::ADMIN_STATE_DISABLED);
  const std::string table = ok(control, {"instances", "discover", "web"}).out;
  CHECK(table.find("web/127.0.0.1:9001  web      127.0.0.1:9001  1       disabled") != std::string::npos);
}

TEST_CASE("routes: create, get, list, update, patch, delete", "[control][crud][routes]") {
  ControlProcess control;
  ok(control, {"tenants", "create", "acme"});
  ok(control, {"services", "create", "web", "--tenant", "acme"});
  ok(control, {"services", "create", "web2"});
  const auto created = json_as<v1::Route>(
      ok(control, with_json({"routes", "create", "api", "--service", "web", "--host", "acme.test",
                             "--path-prefix", "/api/", "--header", "X-Tenant-ID=acme",
                             "--method", "GET", "--strip-prefix", "/api"})));
  CHECK(created.service() == "web");
  CHECK(created.match().host() == "acme.test");
  CHECK(created.match().path_prefix() == "/api/");
  CHECK(created.match().method() == "GET");
  CHECK(created.match().header().name() == "x-tenant-id");  // stored lower-case
  CHECK(created.match().header().value() == "acme");
  CHECK(created.rewrite().strip_prefix() == "/api");
  ok(control, {"routes", "create", "other", "--service", "web2", "--path-exact", "/x"});

  CHECK(json_as<v1::Route>(ok(control, with_json({"routes", "get", "api"}))).match().host() == "acme.test");
  const auto by_service = json_as<v1::ListRoutesResponse>(
      ok(control, with_json({"routes", "list", "--service", "web2"})));
  REQUIRE(by_service.routes_size() == 1);
  CHECK(by_service.routes(0).name() == "other");
  const auto by_tenant = json_as<v1::ListRoutesResponse>(
      ok(control, with_json({"routes", "list", "--tenant", "acme"})));
  REQUIRE(by_tenant.routes_size() == 1);
  CHECK(by_tenant.routes(0).name() == "api");

  // patch: only the masked field changes
  const auto patched = json_as<v1::Route>(
      ok(control, with_json({"routes", "patch", "api", "--service", "web2"})));
  CHECK(patched.service() == "web2");
  CHECK(patched.match().host() == "acme.test");
  CHECK(patched.match().method() == "GET");
  CHECK(patched.rewrite().strip_prefix() == "/api");
  CHECK(patched.meta().revision() > created.meta().revision());
  // a flag given as "" clears its field; switching to an exact path clears the prefix
  const auto cleared = json_as<v1::Route>(
      ok(control, with_json({"routes", "patch", "api", "--method", "", "--path-exact", "/api/v1"})));
  CHECK(cleared.match().method().empty());
  CHECK(cleared.match().path_exact() == "/api/v1");
  CHECK(cleared.match().path_prefix().empty());
  CHECK(cleared.match().host() == "acme.test");

  // update replaces the whole route
  const auto updated = json_as<v1::Route>(
      ok(control, with_json({"routes", "update", "api", "--service", "web", "--path-prefix", "/"})));
  CHECK(updated.match().host().empty());
  CHECK_FALSE(updated.match().has_header());
  CHECK(updated.rewrite().strip_prefix().empty());

  ok(control, {"routes", "delete", "other"});
  CHECK(json_as<v1::ListRoutesResponse>(ok(control, with_json({"routes", "list"}))).routes_size() == 1);
  CHECK(tgctl(control, {"routes", "get", "other"}).exit_code == 1);
}
