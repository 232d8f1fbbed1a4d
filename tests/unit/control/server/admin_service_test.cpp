// The Admin service end to end in one process: a real gRPC server on port 0
// over the owner loop and a MemoryStore, called through the generated stub.
#include "fake_clock.hpp"
#include "server/admin_service.hpp"
#include "store/memory_store.hpp"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;

struct Harness {
  explicit Harness(std::string token_text = {}) {
    if (!token_text.empty()) tokens = TokenSet::parse(token_text, "tokens");
    registry.load(store.load());
    core = std::make_unique<Core>(store, registry);
    admin = std::make_unique<AdminService>(*core, tokens);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(admin.get());
    core->start();
    server = builder.BuildAndStart();
    stub = v1::Admin::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~Harness() {
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    core->stop();
  }
  std::unique_ptr<grpc::ClientContext> context(const std::string& token = {}) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    return c;
  }

  MemoryStore store;
  test::FakeClock clock;
  Registry registry{clock};
  TokenSet tokens;
  std::unique_ptr<Core> core;
  std::unique_ptr<AdminService> admin;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::Admin::Stub> stub;
};

TEST_CASE("Admin over gRPC: tenant CRUD commits before answering", "[admin]") {
  Harness h;
  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("acme");
  v1::Tenant created;
  auto status = h.stub->CreateTenant(h.context().get(), create, &created);
  REQUIRE(status.ok());
  CHECK(created.id() == "acme");
  CHECK(created.meta().source().kind() == v1::Source::KIND_API);
  CHECK(created.meta().revision() == 1);
  // Acknowledged means committed.
  CHECK(h.store.load().tenants.size() == 1);
  CHECK(h.store.list_audit({}).at(0).record.actor == "anonymous");

  v1::Tenant again;
  status = h.stub->CreateTenant(h.context().get(), create, &again);
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);

  v1::ListTenantsResponse listed;
  REQUIRE(h.stub->ListTenants(h.context().get(), {}, &listed).ok());
  CHECK(listed.tenants_size() == 1);

  v1::CreateTenantRequest bad;
  bad.mutable_tenant()->set_id("Not Valid");
  status = h.stub->CreateTenant(h.context().get(), bad, &again);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().rfind("tenant.id: ", 0) == 0);

  v1::DeleteTenantRequest del;
  del.set_id("acme");
  v1::DeleteResponse deleted;
  REQUIRE(h.stub->DeleteTenant(h.context().get(), del, &deleted).ok());
  CHECK(deleted.revision() == 2);
  CHECK(h.store.load().tenants.empty());
}

TEST_CASE("Admin over gRPC: bearer tokens and actors", "[admin][auth]") {
  Harness h("alice s3cret-alice\nlonetoken\n");
  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("acme");
  v1::Tenant out;
  CHECK(h.stub->CreateTenant(h.context().get(), create, &out).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(h.stub->CreateTenant(h.context("wrong").get(), create, &out).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  REQUIRE(h.stub->CreateTenant(h.context("s3cret-alice").get(), create, &out).ok());
  create.mutable_tenant()->set_id("beta");
  REQUIRE(h.stub->CreateTenant(h.context("lonetoken").get(), create, &out).ok());

  v1::ListAuditRequest query;
  v1::ListAuditResponse audit;
  REQUIRE(h.stub->ListAudit(h.context("lonetoken").get(), query, &audit).ok());
  REQUIRE(audit.entries_size() == 2);
  CHECK(audit.entries(0).actor() == "admin/admin");  // newest first; NAME/ROLE
  CHECK(audit.entries(0).method() == "CreateTenant");
  CHECK(audit.entries(1).actor() == "alice/admin");
  query.set_actor("alice/admin");
  audit.Clear();
  REQUIRE(h.stub->ListAudit(h.context("lonetoken").get(), query, &audit).ok());
  CHECK(audit.entries_size() == 1);
}

TEST_CASE("Admin over gRPC: viewers read, proxies may not call Admin, admins write", "[admin][auth]") {
  Harness h("ops tok-ops\nro tok-ro viewer\nedge tok-edge proxy\n");
  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("acme");
  v1::Tenant out;
  const grpc::Status by_viewer = h.stub->CreateTenant(h.context("tok-ro").get(), create, &out);
  CHECK(by_viewer.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(by_viewer.error_message() ==
        "token 'ro' has role viewer: CreateTenant may change the registry and needs role admin");
  const grpc::Status by_proxy = h.stub->CreateTenant(h.context("tok-edge").get(), create, &out);
  CHECK(by_proxy.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  REQUIRE(h.stub->CreateTenant(h.context("tok-ops").get(), create, &out).ok());

  v1::ListTenantsRequest list;
  v1::ListTenantsResponse tenants;
  REQUIRE(h.stub->ListTenants(h.context("tok-ro").get(), list, &tenants).ok());
  CHECK(tenants.tenants_size() == 1);
  const grpc::Status proxy_list = h.stub->ListTenants(h.context("tok-edge").get(), list, &tenants);
  CHECK(proxy_list.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(proxy_list.error_message().find("token 'edge' has role proxy: Admin calls need admin (writes) or viewer "
                                        "(reads)") == 0);
  v1::ListAuditRequest audit_query;
  v1::ListAuditResponse audit;
  REQUIRE(h.stub->ListAudit(h.context("tok-ro").get(), audit_query, &audit).ok());
  REQUIRE(audit.entries_size() == 1);
  CHECK(audit.entries(0).actor() == "ops/admin");
  CHECK(h.stub->ListAudit(h.context("tok-edge").get(), audit_query, &audit).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  // Apply: a dry run is a read, a real apply a write
  v1::ApplyRequest apply;
  apply.set_yaml("tenants:\n  - id: globex\n");
  apply.set_file_name("globex.yaml");
  apply.set_dry_run(true);
  v1::ApplyResponse applied;
  REQUIRE(h.stub->Apply(h.context("tok-ro").get(), apply, &applied).ok());
  CHECK_FALSE(applied.committed());
  apply.set_dry_run(false);
  CHECK(h.stub->Apply(h.context("tok-ro").get(), apply, &applied).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  REQUIRE(h.stub->ListTenants(h.context("tok-ops").get(), list, &tenants).ok());
  CHECK(tenants.tenants_size() == 1);  // nothing of the refused calls was done
}

}  // namespace
}  // namespace tg::control
