// Discovery.StreamTable end to end in one process: a real gRPC server on port
// 0 (Admin + Discovery) over the owner loop, the TableHub and a MemoryStore,
// driven through the generated stubs.
#include "fake_clock.hpp"
#include "server/admin_service.hpp"
#include "server/discovery_service.hpp"
#include "store/memory_store.hpp"
#include "table/table_entries.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <future>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using namespace std::chrono_literals;

struct Harness {
  explicit Harness(std::string token_text = {}) {
    if (!token_text.empty()) tokens = TokenSet::parse(token_text, "tokens");
    registry.load(store.load());
    registry.set_generation(store.begin_generation());
    core = std::make_unique<Core>(store, registry);
    timer = std::make_unique<AsioDebounceTimer>(core->io());
    TableHubOptions options;
    options.debounce = 1ms;
    options.registry_id = store.load().registry_id;
    hub = std::make_unique<TableHub>(registry, clock, *timer, options, &core->metrics().table());
    core->add_observer([this](const CommitBatch& batch) { hub->on_commit(batch); });
    discovery = std::make_unique<DiscoveryService>(*core, *hub, tokens);
    admin = std::make_unique<AdminService>(*core, tokens, hub.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(admin.get());
    builder.RegisterService(discovery.get());
    core->start();
    server = builder.BuildAndStart();
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    admin_stub = v1::Admin::NewStub(channel);
    discovery_stub = v1::Discovery::NewStub(channel);
  }
  ~Harness() {
    std::promise<void> finished;
    boost::asio::post(core->io(), [&] {
      hub->shutdown();
      finished.set_value();
    });
    finished.get_future().wait_for(10s);
    server->Shutdown(std::chrono::system_clock::now() + 5s);
    core->stop();
  }
  std::unique_ptr<grpc::ClientContext> context(const std::string& token = {}) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 20s);
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    return c;
  }

  MemoryStore store;
  test::FakeClock clock;
  Registry registry{clock};
  TokenSet tokens;
  std::unique_ptr<Core> core;
  std::unique_ptr<AsioDebounceTimer> timer;
  std::unique_ptr<TableHub> hub;
  std::unique_ptr<DiscoveryService> discovery;
  std::unique_ptr<AdminService> admin;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::Admin::Stub> admin_stub;
  std::unique_ptr<v1::Discovery::Stub> discovery_stub;
};

v1::StreamTableRequest hello(const std::string& node) {
  v1::StreamTableRequest r;
  r.mutable_hello()->set_node_id(node);
  r.mutable_hello()->set_boot_id("boot-1");
  return r;
}

v1::StreamTableRequest ack(const v1::TableVersion& version) {
  v1::StreamTableRequest r;
  *r.mutable_ack()->mutable_version() = version;
  return r;
}

TEST_CASE("Discovery over gRPC: hello, config, ack, a route created, the next version", "[discovery]") {
  Harness h("proxy s3cret\n");
  const std::uint64_t generation = h.registry.generation();
  REQUIRE(generation > 0);
  auto context = h.context("s3cret");
  auto stream = h.discovery_stub->StreamTable(context.get());
  REQUIRE(stream->Write(hello("edge-1")));
  v1::StreamTableResponse response;
  REQUIRE(stream->Read(&response));  // the hello is accepted: a welcome first
  REQUIRE(response.has_welcome());
  CHECK(response.welcome().registry_id() == h.hub->registry_id());
  CHECK(response.welcome().newest().counter() == 1);
  REQUIRE(stream->Read(&response));
  CHECK(response.version().generation() == generation);
  CHECK(response.version().counter() == 1);
  REQUIRE(response.has_config());
  CHECK(response.kind() == v1::UPDATE_KIND_FULL);
  CHECK(response.registry_id() == h.hub->registry_id());
  v1::Table table;
  REQUIRE(table.ParseFromString(response.config()));
  CHECK(table.routes_size() == 0);
  REQUIRE(stream->Write(ack(response.version())));

  v1::CreateTenantRequest tenant;
  tenant.mutable_tenant()->set_id("acme");
  v1::Tenant tenant_out;
  REQUIRE(h.admin_stub->CreateTenant(h.context("s3cret").get(), tenant, &tenant_out).ok());
  REQUIRE(stream->Read(&response));  // the tenant alone is a version already
  CHECK(response.version().counter() >= 2);
  REQUIRE(stream->Write(ack(response.version())));
  v1::CreateServiceRequest service;
  service.mutable_service()->set_name("web");
  service.mutable_service()->set_tenant("acme");
  v1::Service service_out;
  REQUIRE(h.admin_stub->CreateService(h.context("s3cret").get(), service, &service_out).ok());
  v1::CreateRouteRequest route;
  route.mutable_route()->set_name("r1");
  route.mutable_route()->set_service("web");
  v1::Route route_out;
  REQUIRE(h.admin_stub->CreateRoute(h.context("s3cret").get(), route, &route_out).ok());
  // Read until the route is in (the service may have come as its own
  // version). After the first table, changes come as deltas: applied to the
  // table's entries as a proxy does.
  tg::table::TableEntries entries;
  std::string error;
  REQUIRE(entries.load(table.SerializeAsString(), error));
  for (;;) {
    REQUIRE(stream->Read(&response));
    if (response.has_delta()) {
      tg::table::EntryUndo undo;
      REQUIRE(entries.apply(response.delta(), undo, error));
    } else {
      REQUIRE(response.has_config());
      REQUIRE(entries.load(response.config(), error));
    }
    CHECK(entries.digest() == response.digest());
    REQUIRE(table.ParseFromString(entries.serialize()));
    REQUIRE(stream->Write(ack(response.version())));
    if (table.routes_size() == 1) break;
  }
  CHECK(table.routes(0).name() == "r1");
  CHECK_FALSE(table.routes(0).has_meta());

  // ListProxies sees it, up to date once the ACK arrived (poll with a deadline).
  v1::ListProxiesResponse proxies;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    proxies.Clear();
    REQUIRE(h.admin_stub->ListProxies(h.context("s3cret").get(), {}, &proxies).ok());
  } while (!(proxies.proxies_size() == 1 && proxies.proxies(0).lag() == 0) &&
           std::chrono::steady_clock::now() < deadline);
  REQUIRE(proxies.proxies_size() == 1);
  CHECK(proxies.proxies(0).node_id() == "edge-1");
  CHECK(proxies.proxies(0).connected());
  CHECK(proxies.proxies(0).address().find("127.0.0.1") != std::string::npos);
  CHECK(proxies.proxies(0).applied().counter() == response.version().counter());
  CHECK(proxies.proxies(0).lag() == 0);

  REQUIRE(stream->WritesDone());
  CHECK_FALSE(stream->Read(&response));
  CHECK(stream->Finish().ok());
}

TEST_CASE("Discovery over gRPC: refused without a token, errors end the stream", "[discovery][auth]") {
  Harness h("proxy s3cret\n");
  {
    auto context = h.context();
    auto stream = h.discovery_stub->StreamTable(context.get());
    stream->Write(hello("edge-1"));
    v1::StreamTableResponse response;
    CHECK_FALSE(stream->Read(&response));
    CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto context = h.context("wrong");
    auto stream = h.discovery_stub->StreamTable(context.get());
    v1::StreamTableResponse response;
    CHECK_FALSE(stream->Read(&response));
    CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto context = h.context("s3cret");
    auto stream = h.discovery_stub->StreamTable(context.get());
    REQUIRE(stream->Write(ack(v1::TableVersion{})));
    v1::StreamTableResponse response;
    CHECK_FALSE(stream->Read(&response));
    const grpc::Status status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find("hello") != std::string::npos);
  }
}

TEST_CASE("Discovery over gRPC: proxy and admin tokens may stream, a viewer token may not", "[discovery][auth]") {
  Harness h("edge tok-edge proxy\nops tok-ops\nro tok-ro viewer\n");
  {
    auto context = h.context("tok-ro");
    auto stream = h.discovery_stub->StreamTable(context.get());
    v1::StreamTableResponse response;
    CHECK_FALSE(stream->Read(&response));
    const grpc::Status status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(status.error_message() == "token 'ro' has role viewer: Discovery.StreamTable needs role proxy or admin");
  }
  for (const std::string token : {"tok-edge", "tok-ops"}) {
    INFO(token);
    auto context = h.context(token);
    auto stream = h.discovery_stub->StreamTable(context.get());
    REQUIRE(stream->Write(hello("edge-" + token)));
    v1::StreamTableResponse response;
    REQUIRE(stream->Read(&response));
    CHECK(response.has_welcome());
    REQUIRE(stream->WritesDone());
    while (stream->Read(&response)) {
    }
    CHECK(stream->Finish().ok());
  }
}

TEST_CASE("Discovery over gRPC: shutdown finishes open streams", "[discovery]") {
  auto h = std::make_unique<Harness>();
  auto context = h->context();
  auto stream = h->discovery_stub->StreamTable(context.get());
  REQUIRE(stream->Write(hello("edge-1")));
  v1::StreamTableResponse response;
  REQUIRE(stream->Read(&response));  // the welcome
  REQUIRE(stream->Read(&response));  // the table, not answered
  REQUIRE(response.has_config());
  const auto start = std::chrono::steady_clock::now();
  h.reset();  // hub shutdown, then server Shutdown: must not wait for the stream
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK_FALSE(stream->Read(&response));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace tg::control
