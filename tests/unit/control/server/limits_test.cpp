// tg-control's limits in one process: calls waiting on a blocked owner loop
// are bounded (RESOURCE_EXHAUSTED beyond --max-pending-calls), a large Apply
// is parsed and diffed off the owner loop, an oversized Apply is refused
// before it is queued, and a failed commit does not stop the process.
#include "fake_clock.hpp"
#include "on_owner.hpp"
#include "server/admin_service.hpp"
#include "store/memory_store.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using namespace std::chrono_literals;
using test::on_owner;

struct Harness {
  explicit Harness(CoreOptions options = {}) {
    registry.load(store.load());
    core = std::make_unique<Core>(store, registry, options);
    admin = std::make_unique<AdminService>(*core, tokens);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(admin.get());
    builder.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    core->start();
    server = builder.BuildAndStart();
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    stub = v1::Admin::NewStub(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                        grpc::InsecureChannelCredentials(), args));
  }
  ~Harness() {
    server->Shutdown(std::chrono::system_clock::now() + 5s);
    core->stop();
  }
  static std::unique_ptr<grpc::ClientContext> context(std::chrono::seconds deadline = 30s) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + deadline);
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

// Blocks the owner loop until release() (bounded: 30 s).
struct OwnerBlock {
  explicit OwnerBlock(Core& core) {
    boost::asio::post(core.io(), [this] {
      entered.set_value();
      released.get_future().wait_for(30s);
    });
    REQUIRE(entered.get_future().wait_for(10s) == std::future_status::ready);
  }
  ~OwnerBlock() { release(); }
  void release() {
    if (!done) released.set_value();
    done = true;
  }
  std::promise<void> entered, released;
  bool done = false;
};

// Outcomes of async calls, gathered from gRPC threads; asserted on the test thread.
struct Outcomes {
  std::mutex mutex;
  std::vector<grpc::StatusCode> codes;
  std::size_t count(grpc::StatusCode code) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count(codes.begin(), codes.end(), code));
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return codes.size();
  }
  void add(grpc::StatusCode code) {
    std::lock_guard lock(mutex);
    codes.push_back(code);
  }
};

template <class Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

TEST_CASE("limits: calls beyond --max-pending-calls are refused at once while the owner loop is blocked",
          "[limits]") {
  CoreOptions options;
  options.max_pending_calls = 4;
  Harness h(options);
  OwnerBlock block(*h.core);
  constexpr int calls = 10;
  Outcomes outcomes;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::ListTenantsRequest> requests(calls);
  std::vector<v1::ListTenantsResponse> responses(calls);
  for (int i = 0; i < calls; ++i) {
    contexts.push_back(Harness::context());
    h.stub->async()->ListTenants(contexts.back().get(), &requests[i], &responses[i],
                                 [&outcomes](grpc::Status status) { outcomes.add(status.error_code()); });
  }
  // The owner loop runs nothing: only refusals can be answered.
  REQUIRE(wait_until([&] { return outcomes.size() == calls - 4; }));
  CHECK(outcomes.count(grpc::StatusCode::RESOURCE_EXHAUSTED) == calls - 4);
  CHECK(h.core->pending_calls() == 4);
  CHECK(h.core->limits().pending_refused == calls - 4);
  block.release();
  REQUIRE(wait_until([&] { return outcomes.size() == calls; }));
  CHECK(outcomes.count(grpc::StatusCode::OK) == 4);
  CHECK(wait_until([&] { return h.core->pending_calls() == 0; }));
  // Counted by method and code like every call.
  CHECK(on_owner(*h.core, [&] { return h.core->metrics().calls("ListTenants", Code::resource_exhausted); }) ==
        calls - 4);
}

std::string many_tenants_yaml(std::size_t bytes) {
  std::string yaml = "tenants:\n";
  for (std::size_t i = 0; yaml.size() < bytes; ++i)
    yaml += "  - id: tenant-" + std::to_string(i) + "\n    labels: { team: team-" + std::to_string(i % 97) + " }\n";
  return yaml;
}

TEST_CASE("limits: a large dry-run Apply leaves the owner loop free, a ListTenants completes first", "[limits]") {
  Harness h;
  v1::ApplyRequest apply;
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan parsing and diffing run several times slower: a quarter of
  // the largest apply still takes far longer than a ListTenants.
  constexpr std::size_t yaml_bytes = Registry::max_apply_bytes / 4;
  constexpr std::size_t min_changes = 7'000;
#else
  constexpr std::size_t yaml_bytes = Registry::max_apply_bytes - 64 * 1024;
  constexpr std::size_t min_changes = 30'000;
#endif
  apply.set_yaml(many_tenants_yaml(yaml_bytes));
  apply.set_dry_run(true);
  v1::ApplyResponse applied;
  std::atomic<bool> apply_done{false};
  grpc::Status apply_status;
  auto apply_context = Harness::context(120s);
  h.stub->async()->Apply(apply_context.get(), &apply, &applied, [&](grpc::Status status) {
    apply_status = std::move(status);
    apply_done = true;
  });
  // The Apply reached the server (its handler ran) ...
  REQUIRE(wait_until([&] { return h.admin->applies_in_progress() == 1 || apply_done; }));
  // ... and while it is parsed and diffed, a read goes through the owner loop.
  v1::ListTenantsResponse listed;
  REQUIRE(h.stub->ListTenants(Harness::context().get(), {}, &listed).ok());
  const bool apply_done_after_list = apply_done;
  CHECK_FALSE(apply_done_after_list);
  REQUIRE(wait_until([&] { return apply_done.load(); }, 150s));
  INFO(apply_status.error_message().substr(0, 500));
  REQUIRE(apply_status.ok());
  CHECK(static_cast<std::size_t>(applied.changes_size()) > min_changes);
  CHECK_FALSE(applied.committed());
  CHECK(h.admin->applies_in_progress() == 0);
}

TEST_CASE("limits: an Apply commits through the owner loop and is computed again when the registry changed",
          "[limits]") {
  Harness h;
  // Committed apply: the live registry holds it afterwards.
  v1::ApplyRequest apply;
  apply.set_yaml("tenants:\n  - id: acme\n  - id: beta\n");
  v1::ApplyResponse applied;
  REQUIRE(h.stub->Apply(Harness::context().get(), apply, &applied).ok());
  CHECK(applied.committed());
  CHECK(applied.revision() == 1);
  CHECK(on_owner(*h.core, [&] { return h.core->registry().tenants().size(); }) == 2);
  CHECK(h.store.load().tenants.size() == 2);

  // The registry changes between the copy an apply was computed on and its
  // commit: the owner loop is blocked while the apply is staged, and a write
  // queued ahead of the apply's commit changes the registry.
  OwnerBlock block(*h.core);
  v1::ApplyRequest second;
  second.set_yaml("tenants:\n  - id: acme\n  - id: beta\n  - id: gamma\n");
  v1::ApplyResponse second_out;
  std::atomic<bool> second_done{false};
  grpc::Status second_status;
  auto second_context = Harness::context();
  h.stub->async()->Apply(second_context.get(), &second, &second_out, [&](grpc::Status status) {
    second_status = std::move(status);
    second_done = true;
  });
  REQUIRE(wait_until([&] { return h.core->pending_calls() == 1; }));  // waiting for its copy
  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("delta");
  v1::Tenant created;
  std::atomic<bool> create_done{false};
  auto create_context = Harness::context();
  h.stub->async()->CreateTenant(create_context.get(), &create, &created,
                                [&](grpc::Status) { create_done = true; });
  REQUIRE(wait_until([&] { return h.core->pending_calls() == 2; }));
  block.release();
  REQUIRE(wait_until([&] { return second_done.load() && create_done.load(); }));
  REQUIRE(second_status.ok());
  CHECK(second_out.committed());
  CHECK(second_out.revision() == 3);  // after the create (2): computed again on a copy that held it
  const auto tenants = on_owner(*h.core, [&] { return h.core->registry().tenants().size(); });
  CHECK(tenants == 4);  // acme, beta, gamma, delta: nothing of the create was lost
  CHECK(h.store.load().tenants.size() == 4);
}

TEST_CASE("limits: an Apply over the size cap is refused on the gRPC thread, naming the field", "[limits]") {
  Harness h;
  OwnerBlock block(*h.core);  // nothing may need the owner loop
  v1::ApplyRequest apply;
  apply.set_yaml(std::string(Registry::max_apply_bytes + 1, '#'));
  v1::ApplyResponse out;
  const grpc::Status status = h.stub->Apply(Harness::context().get(), apply, &out);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().rfind("yaml: ", 0) == 0);
  CHECK(h.core->limits().apply_too_large == 1);
  CHECK(h.core->pending_calls() == 0);
}

}  // namespace
}  // namespace tg::control
