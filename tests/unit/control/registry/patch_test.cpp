// PatchService, PatchTenant, PatchInstance field masks, and ListInstances.
#include "registry_fixture.hpp"

#include "config/loader.hpp"

namespace tg::control {
namespace {

using test::RegistryFixture;

template <class Request>
Request masked(const std::vector<std::string>& paths) {
  Request request;
  for (const auto& path : paths) request.mutable_update_mask()->add_paths(path);
  return request;
}

// acme-web of tenant acme with a health check, two labels on acme and one
// instance.
void seed(RegistryFixture& f) {
  REQUIRE(f.tenant("acme").ok());
  v1::CreateServiceRequest create;
  v1::Service& service = *create.mutable_service();
  service.set_name("acme-web");
  service.set_tenant("acme");
  service.mutable_health_check()->set_path("/ready");
  service.mutable_timeouts()->set_connect_ms(2000);
  REQUIRE(f.write(&Registry::create_service, create).ok());
  REQUIRE(f.instance("acme-web", "127.0.0.1:9001").ok());
}

TEST_CASE("services: patching lb keeps the tenant and everything else", "[services][patch]") {
  RegistryFixture f;
  seed(f);
  const v1::Service before = f.registry.services().at("acme-web");
  auto request = masked<v1::PatchServiceRequest>({"lb_policy"});
  request.mutable_service()->set_name("acme-web");
  request.mutable_service()->set_lb_policy(v1::LB_POLICY_LEAST_REQUEST);
  request.mutable_service()->mutable_timeouts()->set_connect_ms(1);  // not masked: ignored
  v1::Service out;
  REQUIRE(f.write(&Registry::patch_service, request, &out).ok());
  CHECK(out.lb_policy() == v1::LB_POLICY_LEAST_REQUEST);
  CHECK(out.tenant() == "acme");
  CHECK(out.health_check().path() == "/ready");
  CHECK(out.timeouts().connect_ms() == 2000);
  CHECK(f.registry.instances().contains("acme-web/127.0.0.1:9001"));
  v1::Service expected = before;
  expected.set_lb_policy(v1::LB_POLICY_LEAST_REQUEST);
  expected.clear_meta();
  out.clear_meta();
  CHECK(out.DebugString() == expected.DebugString());  // nothing else moved

  const auto audit = f.store.list_audit({});
  REQUIRE(!audit.empty());
  CHECK(audit.at(0).record.method == "Test");
  CHECK(audit.at(0).record.before_json.find("\"tenant\":\"acme\"") != std::string::npos);
  CHECK(audit.at(0).record.after_json.find("\"tenant\":\"acme\"") != std::string::npos);
  CHECK(audit.at(0).record.after_json.find("LB_POLICY_LEAST_REQUEST") != std::string::npos);
}

TEST_CASE("services: a masked sub-field changes alone, a masked absent field clears", "[services][patch]") {
  RegistryFixture f;
  seed(f);
  auto request = masked<v1::PatchServiceRequest>({"timeouts.idle_ms", "retry.on"});
  request.mutable_service()->set_name("acme-web");
  request.mutable_service()->mutable_timeouts()->set_idle_ms(5000);
  request.mutable_service()->mutable_retry()->add_on(v1::RETRY_ON_503);
  v1::Service out;
  REQUIRE(f.write(&Registry::patch_service, request, &out).ok());
  CHECK(out.timeouts().idle_ms() == 5000);
  CHECK(out.timeouts().connect_ms() == 2000);
  REQUIRE(out.retry().on_size() == 1);
  CHECK(out.retry().on(0) == v1::RETRY_ON_503);

  request = masked<v1::PatchServiceRequest>({"tenant", "health_check"});  // both absent in the request
  request.mutable_service()->set_name("acme-web");
  REQUIRE(f.write(&Registry::patch_service, request, &out).ok());
  CHECK(out.tenant().empty());
  CHECK_FALSE(out.has_health_check());
  CHECK(out.timeouts().idle_ms() == 5000);
}

TEST_CASE("services: patch errors name the path and change nothing", "[services][patch]") {
  RegistryFixture f;
  seed(f);
  auto request = masked<v1::PatchServiceRequest>({});
  request.mutable_service()->set_name("acme-web");
  CHECK(f.write(&Registry::patch_service, request).code == Code::invalid_argument);
  for (const std::string path : {"lb", "name", "meta", "timeouts.conect_ms", "tenant.id"}) {
    request = masked<v1::PatchServiceRequest>({"lb_policy", path});
    request.mutable_service()->set_name("acme-web");
    const Status status = f.write(&Registry::patch_service, request);
    CHECK(status.code == Code::invalid_argument);
    CHECK(status.message.find("update_mask: ") == 0);
    CHECK(status.message.find('"' + path + '"') != std::string::npos);
  }
  request = masked<v1::PatchServiceRequest>({"helth_check"});
  request.mutable_service()->set_name("acme-web");
  CHECK(f.write(&Registry::patch_service, request).message ==
        "update_mask: unknown path \"helth_check\" (did you mean \"health_check\"?); known: tenant, lb_policy, "
        "hash_key, health_check, outlier, retry, timeouts, limits (and fields inside the message ones)");
  request = masked<v1::PatchServiceRequest>({"tenant"});
  request.mutable_service()->set_name("acme-web");
  request.mutable_service()->set_tenant("nobody");
  CHECK(f.write(&Registry::patch_service, request).code == Code::not_found);
  request.mutable_service()->set_name("other");
  CHECK(f.write(&Registry::patch_service, request).code == Code::not_found);
  CHECK(f.registry.services().at("acme-web").tenant() == "acme");
}

TEST_CASE("tenants: patch sets and removes single labels, or replaces them all", "[tenants][patch]") {
  RegistryFixture f;
  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("acme");
  (*create.mutable_tenant()->mutable_labels())["team"] = "blue";
  (*create.mutable_tenant()->mutable_labels())["tier"] = "gold";
  REQUIRE(f.write(&Registry::create_tenant, create).ok());

  auto request = masked<v1::PatchTenantRequest>({"labels.tier", "labels.app.kubernetes.io/name", "labels.team"});
  request.mutable_tenant()->set_id("acme");
  (*request.mutable_tenant()->mutable_labels())["tier"] = "silver";
  (*request.mutable_tenant()->mutable_labels())["app.kubernetes.io/name"] = "web";
  v1::Tenant out;
  REQUIRE(f.write(&Registry::patch_tenant, request, &out).ok());
  CHECK(out.labels().size() == 2);
  CHECK(out.labels().at("tier") == "silver");
  CHECK(out.labels().at("app.kubernetes.io/name") == "web");
  CHECK_FALSE(out.labels().contains("team"));  // masked, absent: removed

  request = masked<v1::PatchTenantRequest>({"labels"});
  request.mutable_tenant()->set_id("acme");
  (*request.mutable_tenant()->mutable_labels())["only"] = "this";
  REQUIRE(f.write(&Registry::patch_tenant, request, &out).ok());
  CHECK(out.labels().size() == 1);
  CHECK(out.labels().at("only") == "this");

  request = masked<v1::PatchTenantRequest>({"id"});
  request.mutable_tenant()->set_id("acme");
  CHECK(f.write(&Registry::patch_tenant, request).code == Code::invalid_argument);
}

TEST_CASE("instances: patch keeps health, TTL, service and the labels not named", "[instances][patch]") {
  RegistryFixture f;
  seed(f);
  v1::RegisterInstanceRequest reg;
  reg.mutable_instance()->set_service("acme-web");
  reg.mutable_instance()->set_address("127.0.0.1:9002");
  reg.mutable_instance()->set_id("b");
  reg.mutable_instance()->set_weight(3);
  (*reg.mutable_instance()->mutable_labels())["zone"] = "a";
  reg.set_heartbeat_ttl_ms(10'000);
  v1::Instance registered;
  REQUIRE(f.write(&Registry::register_instance, reg, &registered).ok());

  auto request = masked<v1::PatchInstanceRequest>({"weight", "labels.rack"});
  request.mutable_instance()->set_id("b");
  request.mutable_instance()->set_weight(7);
  request.mutable_instance()->set_address("127.0.0.1:1");  // not masked
  (*request.mutable_instance()->mutable_labels())["rack"] = "r1";
  v1::Instance out;
  REQUIRE(f.write(&Registry::patch_instance, request, &out).ok());
  CHECK(out.weight() == 7);
  CHECK(out.address() == "127.0.0.1:9002");
  CHECK(out.labels().at("zone") == "a");
  CHECK(out.labels().at("rack") == "r1");
  CHECK(out.heartbeat_ttl_ms() == 10'000);
  CHECK(out.health() == registered.health());  // acme-web has a health check: awaiting its first
  CHECK(out.health_reason() == registered.health_reason());
  CHECK(out.service() == "acme-web");
  CHECK(out.admin_state() == v1::ADMIN_STATE_ACTIVE);

  request = masked<v1::PatchInstanceRequest>({"weight"});
  request.mutable_instance()->set_id("b");
  request.mutable_instance()->set_weight(20'000);
  CHECK(f.write(&Registry::patch_instance, request).message.find("instance.weight") != std::string::npos);
  request = masked<v1::PatchInstanceRequest>({"service"});
  request.mutable_instance()->set_id("b");
  CHECK(f.write(&Registry::patch_instance, request).code == Code::invalid_argument);
  CHECK(f.registry.instances().at("b").weight() == 7);
}

TEST_CASE("patch of a file-owned object needs take_ownership", "[patch][ownership]") {
  RegistryFixture f;
  // As tg-control --config acme.yaml loads it at startup.
  auto loaded = config::load_string("tenants: [{ id: acme }]\nservices:\n  - { name: acme-web, tenant: acme, "
                                    "instances: [{ id: i1, address: \"127.0.0.1:9001\" }] }\n",
                                    "acme.yaml", config::Reader::control);
  REQUIRE(loaded.ok());
  ApplyOptions options;
  options.kind = v1::Source::KIND_CONFIG_FILE;
  CommitBatch batch;
  REQUIRE(f.registry
              .apply_documents({Document{&*loaded.config, "acme.yaml"}}, options, WriteContext{"tg-control", "startup"},
                               nullptr, &batch, nullptr)
              .ok());
  f.store.commit({batch});
  auto service = masked<v1::PatchServiceRequest>({"lb_policy"});
  service.mutable_service()->set_name("acme-web");
  service.mutable_service()->set_lb_policy(v1::LB_POLICY_LEAST_REQUEST);
  auto instance = masked<v1::PatchInstanceRequest>({"weight"});
  instance.mutable_instance()->set_id("i1");
  instance.mutable_instance()->set_weight(2);
  auto tenant = masked<v1::PatchTenantRequest>({"labels.x"});
  tenant.mutable_tenant()->set_id("acme");
  const Status refused = f.write(&Registry::patch_service, service);
  CHECK(refused.code == Code::failed_precondition);
  CHECK(refused.message.find("acme.yaml") != std::string::npos);
  CHECK(f.write(&Registry::patch_instance, instance).code == Code::failed_precondition);
  CHECK(f.write(&Registry::patch_tenant, tenant).code == Code::failed_precondition);
  service.set_take_ownership(true);
  instance.set_take_ownership(true);
  tenant.set_take_ownership(true);
  REQUIRE(f.write(&Registry::patch_service, service).ok());
  REQUIRE(f.write(&Registry::patch_instance, instance).ok());
  REQUIRE(f.write(&Registry::patch_tenant, tenant).ok());
  CHECK(f.registry.services().at("acme-web").tenant() == "acme");
  CHECK(f.registry.services().at("acme-web").meta().source().kind() == v1::Source::KIND_API);
}

TEST_CASE("instances: list across services, filtered", "[instances][list]") {
  RegistryFixture f;
  seed(f);
  REQUIRE(f.tenant("beta").ok());
  REQUIRE(f.service("beta-api", "beta").ok());
  REQUIRE(f.instance("beta-api", "127.0.0.1:9101").ok());
  REQUIRE(f.instance("beta-api", "127.0.0.1:9102").ok());
  for (const std::string id : {"acme-web/127.0.0.1:9001", "beta-api/127.0.0.1:9102"}) {
    v1::SetInstanceStateRequest disable;
    disable.set_id(id);
    disable.set_admin_state(v1::ADMIN_STATE_DISABLED);
    REQUIRE(f.write(&Registry::set_instance_state, disable).ok());
  }
  auto ids = [&](const v1::ListInstancesRequest& request) {
    v1::ListInstancesResponse out;
    REQUIRE(f.registry.list_instances(request, &out).ok());
    std::vector<std::string> result;
    for (const auto& instance : out.instances()) result.push_back(instance.id());
    return result;
  };
  using Ids = std::vector<std::string>;
  v1::ListInstancesRequest request;
  CHECK(ids(request).size() == 3);
  request.set_admin_state(v1::ADMIN_STATE_DISABLED);
  CHECK(ids(request) == Ids{"acme-web/127.0.0.1:9001", "beta-api/127.0.0.1:9102"});
  request.set_tenant("beta");
  CHECK(ids(request) == Ids{"beta-api/127.0.0.1:9102"});
  request = {};
  request.set_service("beta-api");
  request.set_health(v1::HEALTH_HEALTHY);
  CHECK(ids(request) == Ids{"beta-api/127.0.0.1:9101", "beta-api/127.0.0.1:9102"});
  request.set_health(v1::HEALTH_UNHEALTHY);
  CHECK(ids(request).empty());
  request.set_health(static_cast<v1::Health>(42));
  v1::ListInstancesResponse out;
  CHECK(f.registry.list_instances(request, &out).code == Code::invalid_argument);
}

}  // namespace
}  // namespace tg::control
