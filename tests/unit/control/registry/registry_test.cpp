// Registry operations: each status code admin.proto promises, revisions,
// audit rows, and the ownership rule for config-file objects.
#include "registry_fixture.hpp"

#include "registry/transaction.hpp"

namespace tg::control {
namespace {

using test::RegistryFixture;

TEST_CASE("registry: create, get, update, delete with revisions and audit", "[registry]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  CHECK(f.registry.revision() == 1);
  const auto& tenant = f.registry.tenants().at("acme");
  CHECK(tenant.meta().revision() == 1);
  CHECK(tenant.meta().created_unix_ms() == f.clock.unix_ms());
  CHECK(tenant.meta().source().kind() == v1::Source::KIND_API);

  f.clock.advance(std::chrono::seconds(5));
  v1::UpdateTenantRequest update;
  update.mutable_tenant()->set_id("acme");
  (*update.mutable_tenant()->mutable_labels())["tier"] = "gold";
  v1::Tenant updated;
  REQUIRE(f.write(&Registry::update_tenant, update, &updated).ok());
  CHECK(updated.labels().at("tier") == "gold");
  CHECK(updated.meta().revision() == 2);
  CHECK(updated.meta().updated_unix_ms() == updated.meta().created_unix_ms() + 5000);

  const auto audit = f.store.list_audit({});
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].record.actor == "tester");
  CHECK(audit[0].record.kind == "tenant");
  CHECK(audit[0].record.name == "acme");
  CHECK(audit[0].record.before_json.find("\"id\":\"acme\"") != std::string::npos);
  CHECK(audit[0].record.after_json.find("\"tier\":\"gold\"") != std::string::npos);
  CHECK(audit[1].record.before_json.empty());

  v1::DeleteTenantRequest del;
  del.set_id("acme");
  v1::DeleteResponse deleted;
  REQUIRE(f.write(&Registry::delete_tenant, del, &deleted).ok());
  CHECK(deleted.revision() == 3);
  CHECK(f.registry.tenants().empty());
  CHECK(f.store.list_audit({}).at(0).record.after_json.empty());
  CHECK(f.store.load().revision == 3);
}

TEST_CASE("registry: status codes", "[registry]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  CHECK(f.tenant("acme").code == Code::already_exists);
  CHECK(f.tenant("Bad Id").code == Code::invalid_argument);

  v1::GetTenantRequest get;
  get.set_id("nobody");
  v1::Tenant out;
  CHECK(f.registry.get_tenant(get, &out).code == Code::not_found);

  // References must exist.
  const Status no_tenant = f.service("api", "nobody");
  CHECK(no_tenant.code == Code::not_found);
  CHECK(no_tenant.message == "service.tenant: tenant \"nobody\" not found");
  CHECK(f.route("r", "missing").code == Code::not_found);
  CHECK(f.instance("missing", "10.0.0.1:80").code == Code::not_found);
  CHECK(f.registry.revision() == 1);  // failures change nothing

  REQUIRE(f.service("api", "acme").ok());
  CHECK(f.service("api").code == Code::already_exists);

  // A tenant with services cannot go.
  v1::DeleteTenantRequest del_tenant;
  del_tenant.set_id("acme");
  Status status = f.write(&Registry::delete_tenant, del_tenant);
  CHECK(status.code == Code::failed_precondition);
  CHECK(status.message.find("\"api\"") != std::string::npos);

  // A service with routes or instances cannot go.
  REQUIRE(f.route("r", "api").ok());
  v1::DeleteServiceRequest del_service;
  del_service.set_name("api");
  status = f.write(&Registry::delete_service, del_service);
  CHECK(status.code == Code::failed_precondition);
  CHECK(status.message.find("route \"r\"") != std::string::npos);
  v1::DeleteRouteRequest del_route;
  del_route.set_name("r");
  REQUIRE(f.write(&Registry::delete_route, del_route).ok());
  REQUIRE(f.instance("api", "10.0.0.1:80").ok());
  status = f.write(&Registry::delete_service, del_service);
  CHECK(status.code == Code::failed_precondition);
  CHECK(status.message.find("instance \"api/10.0.0.1:80\"") != std::string::npos);

  CHECK(f.write(&Registry::delete_route, del_route).code == Code::not_found);
  v1::DeleteRouteRequest unnamed;
  CHECK(f.write(&Registry::delete_route, unnamed).code == Code::invalid_argument);
}

TEST_CASE("registry: list filters and order", "[registry]") {
  RegistryFixture f;
  REQUIRE(f.tenant("b").ok());
  REQUIRE(f.tenant("a").ok());
  REQUIRE(f.service("s2", "b").ok());
  REQUIRE(f.service("s1", "a").ok());
  REQUIRE(f.route("r2", "s2").ok());
  REQUIRE(f.route("r1", "s1").ok());
  v1::ListTenantsResponse tenants;
  REQUIRE(f.registry.list_tenants({}, &tenants).ok());
  REQUIRE(tenants.tenants_size() == 2);
  CHECK(tenants.tenants(0).id() == "a");
  v1::ListServicesRequest by_tenant;
  by_tenant.set_tenant("b");
  v1::ListServicesResponse services;
  REQUIRE(f.registry.list_services(by_tenant, &services).ok());
  REQUIRE(services.services_size() == 1);
  CHECK(services.services(0).name() == "s2");
  v1::ListRoutesRequest routes_of_a;
  routes_of_a.set_tenant("a");
  v1::ListRoutesResponse routes;
  REQUIRE(f.registry.list_routes(routes_of_a, &routes).ok());
  REQUIRE(routes.routes_size() == 1);
  CHECK(routes.routes(0).name() == "r1");
}

TEST_CASE("registry: config-file objects need take_ownership", "[registry][ownership]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  // Make the tenant file-owned, as startup would.
  {
    v1::Tenant owned = f.registry.tenants().at("acme");
    owned.mutable_meta()->mutable_source()->set_kind(v1::Source::KIND_CONFIG_FILE);
    owned.mutable_meta()->mutable_source()->set_file("deploy/acme.yaml");
    owned.mutable_meta()->mutable_source()->set_line(3);
    Transaction tx(f.registry, f.context);
    tx.put(owned);
    REQUIRE(tx.check().ok());
    f.store.commit({tx.commit()});
  }
  v1::UpdateTenantRequest update;
  update.mutable_tenant()->set_id("acme");
  Status status = f.write(&Registry::update_tenant, update);
  CHECK(status.code == Code::failed_precondition);
  CHECK(status.message.find("the config file deploy/acme.yaml (line 3)") != std::string::npos);
  v1::DeleteTenantRequest del;
  del.set_id("acme");
  CHECK(f.write(&Registry::delete_tenant, del).code == Code::failed_precondition);

  update.set_take_ownership(true);
  v1::Tenant taken;
  REQUIRE(f.write(&Registry::update_tenant, update, &taken).ok());
  CHECK(taken.meta().source().kind() == v1::Source::KIND_API);
  update.set_take_ownership(false);
  CHECK(f.write(&Registry::update_tenant, update).ok());  // API-owned now
}

}  // namespace
}  // namespace tg::control
