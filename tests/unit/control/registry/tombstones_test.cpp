// Tombstones: a file-owned object deleted through the API stays deleted
// across startups until its file drops it or it is created again.
#include "registry_fixture.hpp"

#include "config/loader.hpp"

namespace tg::control {
namespace {

using test::RegistryFixture;

const char* acme_yaml = R"(tenants:
  - id: acme
services:
  - name: acme-web
    tenant: acme
    instances:
      - { id: web-1, address: 127.0.0.1:9001 }
routes:
  - name: acme-host
    match: { host: acme.example.com }
    service: acme-web
  - name: acme-api
    service: acme-web
)";

// Applies `yaml` as the startup file "acme.yaml" and commits the batch.
Status start(RegistryFixture& f, const std::string& yaml, std::vector<std::string>* warnings = nullptr,
             CommitBatch* out = nullptr) {
  auto loaded = config::load_string(yaml, "acme.yaml", config::Reader::control);
  REQUIRE(loaded.ok());
  ApplyOptions options;
  options.kind = v1::Source::KIND_CONFIG_FILE;
  options.prune = true;
  CommitBatch batch;
  Status status = f.registry.apply_documents({Document{&*loaded.config, "acme.yaml"}}, options,
                                             WriteContext{"tg-control", "startup"}, nullptr, &batch, warnings);
  if (status.ok() && !batch.empty()) f.store.commit({batch});
  if (out) *out = batch;
  return status;
}

Status delete_route(RegistryFixture& f, const std::string& name, bool take_ownership) {
  v1::DeleteRouteRequest request;
  request.set_name(name);
  request.set_take_ownership(take_ownership);
  return f.write(&Registry::delete_route, request);
}

// A registry reloaded from the store, as after a restart.
void restart(RegistryFixture& f) { f.registry.load(f.store.load()); }

TEST_CASE("tombstones: deleting a file-owned route with take_ownership records one in the same batch",
          "[tombstones]") {
  RegistryFixture f;
  REQUIRE(start(f, acme_yaml).ok());
  v1::DeleteRouteRequest request;
  request.set_name("acme-host");
  request.set_take_ownership(true);
  v1::DeleteResponse response;
  CommitBatch batch;
  REQUIRE(f.registry.delete_route(request, f.context, &response, &batch).ok());
  REQUIRE(batch.tombstones.size() == 1);
  CHECK(batch.mutations.size() == 1);  // the delete and its tombstone commit together
  const Tombstone& t = batch.tombstones[0];
  CHECK(t.kind == ObjectKind::route);
  CHECK(t.name == "acme-host");
  CHECK(t.file == "acme.yaml");
  CHECK(t.line == 9);
  CHECK(t.deleted_unix_ms == f.clock.unix_ms());
  CHECK(t.actor == "tester");
  f.store.commit({batch});
  CHECK(f.store.load().tombstones.size() == 1);

  // An API-owned object leaves none.
  REQUIRE(f.route("mine", "acme-web").ok());
  CommitBatch api_batch;
  request.set_name("mine");
  REQUIRE(f.registry.delete_route(request, f.context, &response, &api_batch).ok());
  CHECK(api_batch.tombstones.empty());
}

TEST_CASE("tombstones: startup skips the deleted route and logs why", "[tombstones]") {
  RegistryFixture f;
  REQUIRE(start(f, acme_yaml).ok());
  REQUIRE(delete_route(f, "acme-host", true).ok());
  restart(f);
  std::vector<std::string> warnings;
  CommitBatch batch;
  REQUIRE(start(f, acme_yaml, &warnings, &batch).ok());
  CHECK_FALSE(f.registry.routes().contains("acme-host"));
  CHECK(f.registry.routes().contains("acme-api"));
  CHECK(batch.mutations.empty());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] ==
        "route acme-host: deleted through the API at 2023-11-14T22:13:20Z by tester (tombstone); not recreated "
        "from acme.yaml:9:5 - remove it from the file, or create it again through the API or tgctl apply to take "
        "it back");
  CHECK(f.registry.tombstone(ObjectKind::route, "acme-host") != nullptr);
}

TEST_CASE("tombstones: a file that no longer declares the object drops its tombstone", "[tombstones]") {
  RegistryFixture f;
  REQUIRE(start(f, acme_yaml).ok());
  REQUIRE(delete_route(f, "acme-api", true).ok());
  restart(f);
  std::string without_api = acme_yaml;
  without_api.erase(without_api.find("  - name: acme-api"));
  CommitBatch batch;
  REQUIRE(start(f, without_api, nullptr, &batch).ok());
  REQUIRE(batch.cleared_tombstones.size() == 1);
  CHECK(batch.cleared_tombstones[0].name == "acme-api");
  CHECK(f.registry.tombstones().empty());
  CHECK(f.store.load().tombstones.empty());
  // Declared again later: created again.
  restart(f);
  REQUIRE(start(f, acme_yaml).ok());
  CHECK(f.registry.routes().contains("acme-api"));
}

TEST_CASE("tombstones: creating the object again through the API clears it", "[tombstones]") {
  RegistryFixture f;
  REQUIRE(start(f, acme_yaml).ok());
  REQUIRE(delete_route(f, "acme-host", true).ok());
  REQUIRE(f.route("acme-host", "acme-web", "new.example.com").ok());
  CHECK(f.registry.tombstones().empty());
  CHECK(f.store.load().tombstones.empty());
  restart(f);
  std::vector<std::string> warnings;
  REQUIRE(start(f, acme_yaml, &warnings).ok());
  // API-owned now: the file's declaration is skipped as a taken-over object.
  CHECK(f.registry.routes().at("acme-host").match().host() == "new.example.com");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("is managed by the Admin API") != std::string::npos);
}

TEST_CASE("tombstones: a deleted service keeps its file instances from coming back", "[tombstones]") {
  RegistryFixture f;
  REQUIRE(start(f, acme_yaml).ok());
  REQUIRE(delete_route(f, "acme-host", true).ok());
  REQUIRE(delete_route(f, "acme-api", true).ok());
  v1::DeregisterInstanceRequest instance;
  instance.set_id("web-1");
  instance.set_take_ownership(true);
  REQUIRE(f.write(&Registry::deregister_instance, instance).ok());
  v1::DeleteServiceRequest service;
  service.set_name("acme-web");
  service.set_take_ownership(true);
  REQUIRE(f.write(&Registry::delete_service, service).ok());
  CHECK(f.store.load().tombstones.size() == 4);
  restart(f);
  std::vector<std::string> warnings;
  REQUIRE(start(f, acme_yaml, &warnings).ok());
  CHECK(f.registry.services().empty());
  CHECK(f.registry.instances().empty());
  CHECK(f.registry.routes().empty());
  CHECK(f.registry.tenants().contains("acme"));
  CHECK(warnings.size() == 4);
}

TEST_CASE("tombstones: a route of the file naming a deleted service is refused at its service key",
          "[tombstones]") {
  RegistryFixture f;
  REQUIRE(start(f, "services:\n  - name: acme-web\n").ok());
  v1::DeleteServiceRequest service;
  service.set_name("acme-web");
  service.set_take_ownership(true);
  REQUIRE(f.write(&Registry::delete_service, service).ok());
  restart(f);
  const Status status = start(f, "services:\n  - name: acme-web\nroutes:\n  - name: r\n    service: acme-web\n");
  CHECK(status.code == Code::not_found);
  CHECK(status.message ==
        "acme.yaml:5:14: routes[0].service: unknown service \"acme-web\"; no services are declared (it was deleted "
        "through the API at 2023-11-14T22:13:20Z)");
}

}  // namespace
}  // namespace tg::control
