// Declarative apply and the startup ownership rule.
#include "registry_fixture.hpp"

#include "config/loader.hpp"

namespace tg::control {
namespace {

using test::RegistryFixture;

const char* doc_v1 = R"(tenants:
  - id: acme
services:
  - name: acme-sim
    tenant: acme
    instances:
      - { address: 127.0.0.1:9001 }
routes:
  - name: acme-host
    match: { host: acme.example.com }
    service: acme-sim
)";

std::vector<std::pair<v1::Change::Action, std::string>> actions(const v1::ApplyResponse& response) {
  std::vector<std::pair<v1::Change::Action, std::string>> out;
  for (const auto& c : response.changes()) out.emplace_back(c.action(), c.kind() + ":" + c.name());
  return out;
}

TEST_CASE("apply: creates in dependency order, then reports unchanged", "[apply]") {
  RegistryFixture f;
  v1::ApplyResponse response;
  REQUIRE(f.apply(doc_v1, "a.yaml", &response).ok());
  using A = v1::Change;
  CHECK(actions(response) == decltype(actions(response)){{A::ACTION_CREATE, "tenant:acme"},
                                                         {A::ACTION_CREATE, "service:acme-sim"},
                                                         {A::ACTION_CREATE, "instance:acme-sim/127.0.0.1:9001"},
                                                         {A::ACTION_CREATE, "route:acme-host"}});
  CHECK(response.committed());
  CHECK(response.revision() == 1);  // one transaction
  CHECK(response.changes(0).before_json().empty());
  CHECK(response.changes(3).after_json().find("\"host\":\"acme.example.com\"") != std::string::npos);
  const auto& source = f.registry.routes().at("acme-host").meta().source();
  CHECK(source.kind() == v1::Source::KIND_APPLY);
  CHECK(source.file() == "a.yaml");
  CHECK(source.line() == 9);
  CHECK(f.store.load().routes.size() == 1);

  response.Clear();
  REQUIRE(f.apply(doc_v1, "a.yaml", &response).ok());
  CHECK(actions(response) == decltype(actions(response)){{A::ACTION_UNCHANGED, "tenant:acme"},
                                                         {A::ACTION_UNCHANGED, "service:acme-sim"},
                                                         {A::ACTION_UNCHANGED, "instance:acme-sim/127.0.0.1:9001"},
                                                         {A::ACTION_UNCHANGED, "route:acme-host"}});
  CHECK(f.registry.revision() == 1);
}

TEST_CASE("apply: dry run commits nothing, prune deletes what the file dropped", "[apply]") {
  RegistryFixture f;
  REQUIRE(f.apply(doc_v1, "a.yaml").ok());
  const std::string doc_v2 = R"(tenants:
  - id: acme
services:
  - name: acme-sim
    tenant: acme
    lb: { policy: least_request }
)";
  v1::ApplyResponse dry;
  REQUIRE(f.apply(doc_v2, "a.yaml", &dry, /*prune=*/true, /*dry_run=*/true).ok());
  using A = v1::Change;
  CHECK(actions(dry) == decltype(actions(dry)){{A::ACTION_UNCHANGED, "tenant:acme"},
                                               {A::ACTION_UPDATE, "service:acme-sim"},
                                               {A::ACTION_DELETE, "route:acme-host"},
                                               {A::ACTION_DELETE, "instance:acme-sim/127.0.0.1:9001"}});
  CHECK_FALSE(dry.committed());
  CHECK(dry.changes(1).before_json().find("LB_POLICY_ROUND_ROBIN") != std::string::npos);
  CHECK(dry.changes(1).after_json().find("LB_POLICY_LEAST_REQUEST") != std::string::npos);
  CHECK(f.registry.revision() == 1);
  CHECK(f.registry.routes().size() == 1);

  v1::ApplyResponse no_prune;
  REQUIRE(f.apply(doc_v2, "a.yaml", &no_prune).ok());
  CHECK(f.registry.routes().size() == 1);  // without prune, kept
  REQUIRE(f.apply(doc_v2, "a.yaml", nullptr, true).ok());
  CHECK(f.registry.routes().empty());
  CHECK(f.registry.instances().empty());
  CHECK(f.store.load().routes.empty());
}

TEST_CASE("apply: errors are located and commit nothing", "[apply]") {
  RegistryFixture f;
  Status status = f.apply("routes:\n  - name: r\n    service: nowhere\n", "r.yaml");
  CHECK(status.code == Code::not_found);
  // Worded and placed as tg-proxy --check words it (config/references.hpp).
  CHECK(status.message == "r.yaml:3:14: routes[0].service: unknown service \"nowhere\"; no services are declared");
  status = f.apply("tenants:\n  - id: acme\n    bogus: 1\n", "t.yaml");
  CHECK(status.code == Code::invalid_argument);
  CHECK(status.message.rfind("t.yaml:3:5: ", 0) == 0);
  status = f.apply("tenants:\n  - id: Acme\n", "t.yaml");
  CHECK(status.code == Code::invalid_argument);
  CHECK(status.message.rfind("t.yaml:2:5: tenant.id: ", 0) == 0);
  // retention: is read from the --config files at start, never applied.
  status = f.apply("tenants:\n  - id: acme\nretention: { events: 1d }\n", "r.yaml");
  CHECK(status.code == Code::invalid_argument);
  CHECK(status.message.rfind("r.yaml:3:12: retention is a tg-control setting read from its --config files", 0) == 0);
  status = f.apply(std::string(Registry::max_apply_bytes + 1, '#'), "huge.yaml");
  CHECK(status.code == Code::invalid_argument);
  CHECK(status.message.rfind("yaml: ", 0) == 0);
  CHECK(f.registry.revision() == 0);
  CHECK(f.store.commit_count() == 0);
}

TEST_CASE("apply: objects of another source need take_ownership", "[apply][ownership]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  Status status = f.apply("tenants:\n  - id: acme\n    labels: { a: b }\n", "t.yaml");
  CHECK(status.code == Code::failed_precondition);
  CHECK(status.message.find("owned by the Admin API") != std::string::npos);
  REQUIRE(f.apply("tenants:\n  - id: acme\n    labels: { a: b }\n", "t.yaml", nullptr, false, false, true).ok());
  CHECK(f.registry.tenants().at("acme").meta().source().kind() == v1::Source::KIND_APPLY);
  // References may point at objects the document does not declare.
  REQUIRE(f.service("api", "acme").ok());
  REQUIRE(f.apply("routes:\n  - name: r\n    service: api\n", "r.yaml").ok());
}

// Startup: several config files applied together under the ownership rule.
struct Files {
  std::vector<config::Config> configs;
  std::vector<std::string> names;
  void add(const std::string& name, const std::string& yaml) {
    auto loaded = config::load_string(yaml, name, config::Reader::control);
    REQUIRE(loaded.ok());
    configs.push_back(*loaded.config);
    names.push_back(name);
  }
  Status apply(RegistryFixture& f, std::vector<std::string>* warnings = nullptr) {
    std::vector<Document> docs;
    for (std::size_t i = 0; i < configs.size(); ++i) docs.push_back(Document{&configs[i], names[i]});
    ApplyOptions options;
    options.kind = v1::Source::KIND_CONFIG_FILE;
    options.prune = true;
    CommitBatch batch;
    Status status = f.registry.apply_documents(docs, options, WriteContext{"tg-control", "startup"}, nullptr, &batch,
                                               warnings);
    if (status.ok() && !batch.empty()) f.store.commit({batch});
    return status;
  }
};

TEST_CASE("startup files: create, update owned, skip taken over, delete dropped", "[apply][ownership]") {
  RegistryFixture f;
  Files first;
  first.add("base.yaml", "tenants:\n  - id: acme\n  - id: beta\n");
  first.add("acme.yaml", R"(services:
  - name: acme-sim
    tenant: acme
    instances:
      - { address: 127.0.0.1:9001 }
routes:
  - name: acme-host
    service: acme-sim
  - name: acme-b
    service: acme-sim
)");
  REQUIRE(first.apply(f).ok());
  CHECK(f.registry.routes().size() == 2);
  CHECK(f.registry.services().at("acme-sim").meta().source().file() == "acme.yaml");
  CHECK(f.store.list_audit({}).at(0).record.method == "startup");
  CHECK(f.store.list_audit({}).at(0).record.actor == "tg-control");

  // An admin takes route acme-b over and drains the instance.
  v1::PatchRouteRequest patch;
  patch.mutable_route()->set_name("acme-b");
  patch.mutable_route()->mutable_match()->set_host("b.example.com");
  patch.mutable_update_mask()->add_paths("match.host");
  CHECK(f.write(&Registry::patch_route, patch).code == Code::failed_precondition);
  patch.set_take_ownership(true);
  REQUIRE(f.write(&Registry::patch_route, patch).ok());
  v1::SetInstanceStateRequest drain;
  drain.set_id("acme-sim/127.0.0.1:9001");
  drain.set_admin_state(v1::ADMIN_STATE_DRAINING);
  REQUIRE(f.write(&Registry::set_instance_state, drain).ok());

  // Next start: acme.yaml changed acme-host, still declares acme-b, dropped nothing else;
  // base.yaml dropped beta.
  Files second;
  second.add("base.yaml", "tenants:\n  - id: acme\n");
  second.add("acme.yaml", R"(services:
  - name: acme-sim
    tenant: acme
    instances:
      - { address: 127.0.0.1:9001 }
routes:
  - name: acme-host
    match: { path_prefix: /v2/ }
    service: acme-sim
  - name: acme-b
    service: acme-sim
)");
  std::vector<std::string> warnings;
  REQUIRE(second.apply(f, &warnings).ok());
  CHECK_FALSE(f.registry.tenants().contains("beta"));
  CHECK(f.registry.routes().at("acme-host").match().path_prefix() == "/v2/");
  CHECK(f.registry.routes().at("acme-b").match().host() == "b.example.com");  // API-owned: skipped
  REQUIRE(warnings.size() == 1);
  INFO(warnings[0]);
  CHECK(warnings[0].rfind("acme.yaml:10:5: route \"acme-b\" is managed by the Admin API", 0) == 0);
  CHECK(f.registry.instances().at("acme-sim/127.0.0.1:9001").admin_state() == v1::ADMIN_STATE_DRAINING);

  // A file dropping a service that an API-owned route still uses: refused, located.
  Files third;
  third.add("base.yaml", "tenants:\n  - id: acme\n");
  third.add("acme.yaml", "tenants: []\n");
  const Status status = third.apply(f);
  CHECK(status.code == Code::failed_precondition);
  CHECK(status.message.find("service \"acme-sim\" is still used by route \"acme-b\"") != std::string::npos);
}

TEST_CASE("startup files: an object moves from one file to another", "[apply][ownership]") {
  RegistryFixture f;
  Files first;
  first.add("a.yaml", "tenants:\n  - id: acme\n");
  first.add("b.yaml", "tenants:\n  - id: beta\n");
  REQUIRE(first.apply(f).ok());
  Files second;
  second.add("a.yaml", "tenants: []\n");
  second.add("b.yaml", "tenants:\n  - id: beta\n  - id: acme\n");
  REQUIRE(second.apply(f).ok());
  CHECK(f.registry.tenants().at("acme").meta().source().file() == "b.yaml");
}

}  // namespace
}  // namespace tg::control
