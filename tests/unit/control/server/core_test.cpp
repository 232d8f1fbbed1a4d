// The owner loop: completions after commit, observers in revision order,
// TTL sweeps, and a failed commit that fails only its call.
#include "on_owner.hpp"
#include "server/core.hpp"

#include "fake_clock.hpp"
#include "store/memory_store.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using namespace std::chrono_literals;

using test::on_owner;

// Submits a CreateTenant on the owner loop; the future resolves when answered.
std::future<Status> create_tenant(Core& core, const std::string& id) {
  auto done = std::make_shared<std::promise<Status>>();
  auto future = done->get_future();
  boost::asio::post(core.io(), [&core, id, done] {
    v1::CreateTenantRequest request;
    request.mutable_tenant()->set_id(id);
    v1::Tenant out;
    CommitBatch batch;
    Status status = core.registry().create_tenant(request, WriteContext{"t", "CreateTenant"}, &out, &batch);
    if (!status.ok()) {
      done->set_value(status);
      return;
    }
    core.commit(std::move(batch), [done](const Status& committed) { done->set_value(committed); });
  });
  return future;
}

TEST_CASE("core: observers see each committed change in order, after the commit", "[core]") {
  MemoryStore store;
  test::FakeClock clock;
  Registry registry(clock);
  Core core(store, registry);
  std::vector<std::uint64_t> seen;  // owner thread only
  std::vector<bool> stored_when_seen;
  core.add_observer([&](const CommitBatch& batch) {
    seen.push_back(batch.revision);
    stored_when_seen.push_back(store.load().revision >= batch.revision);
  });
  core.start();
  store.hold_commits(true);
  std::vector<std::future<Status>> answers;
  for (int i = 0; i < 20; ++i) answers.push_back(create_tenant(core, "t" + std::to_string(i)));
  answers.push_back(create_tenant(core, "t3"));  // ALREADY_EXISTS answers at once, without a commit
  REQUIRE(answers.back().wait_for(10s) == std::future_status::ready);
  CHECK(answers.back().get().code == Code::already_exists);
  store.hold_commits(false);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(answers[i].wait_for(10s) == std::future_status::ready);
    CHECK(answers[i].get().ok());
  }
  const auto observed = on_owner(core, [&] { return std::make_pair(seen, stored_when_seen); });
  std::vector<std::uint64_t> expected(20);
  for (int i = 0; i < 20; ++i) expected[i] = i + 1;
  CHECK(observed.first == expected);
  CHECK(std::all_of(observed.second.begin(), observed.second.end(), [](bool b) { return b; }));
  CHECK(on_owner(core, [&] { return core.committed_revision(); }) == 20);
  CHECK(store.commit_count() < 20);
  core.stop();
}

TEST_CASE("core: the heartbeat sweep marks expired instances unhealthy", "[core][ttl]") {
  MemoryStore store;
  test::FakeClock clock;
  Registry registry(clock);
  Core core(store, registry, CoreOptions{5ms});
  core.start();
  const Status registered = on_owner(core, [&] {
    v1::CreateServiceRequest service;
    service.mutable_service()->set_name("api");
    v1::Service s;
    CommitBatch b1;
    Status status = core.registry().create_service(service, WriteContext{"t", "x"}, &s, &b1);
    core.commit(std::move(b1), [](const Status&) {});
    v1::RegisterInstanceRequest request;
    request.mutable_instance()->set_service("api");
    request.mutable_instance()->set_address("10.0.0.1:80");
    request.set_heartbeat_ttl_ms(1000);
    v1::Instance out;
    CommitBatch b2;
    if (status.ok()) status = core.registry().register_instance(request, WriteContext{"t", "x"}, &out, &b2);
    core.commit(std::move(b2), [](const Status&) {});
    return status;
  });
  REQUIRE(registered.ok());
  on_owner(core, [&] {
    clock.advance(1500ms);  // the fake clock is read on the owner thread only
    return 0;
  });
  // Poll with a deadline: the sweep runs every 5 ms (real time).
  v1::Health health = v1::HEALTH_HEALTHY;
  for (int i = 0; i < 1000 && health != v1::HEALTH_UNHEALTHY; ++i) {
    health = on_owner(core, [&] { return core.registry().instances().at("api/10.0.0.1:80").health(); });
    if (health != v1::HEALTH_UNHEALTHY) std::this_thread::sleep_for(5ms);
  }
  CHECK(health == v1::HEALTH_UNHEALTHY);
  core.stop();
  const auto audit = store.list_audit({});
  REQUIRE_FALSE(audit.empty());
  CHECK(audit[0].record.method == "HeartbeatExpired");
  CHECK(audit[0].record.actor == "tg-control");
}

TEST_CASE("core: a failed commit fails its call, the registry is reloaded and tg-control keeps serving",
          "[core]") {
  MemoryStore store;
  test::FakeClock clock;
  Registry registry(clock);
  Core core(store, registry);
  std::atomic<bool> fatal{false};
  core.on_fatal([&](const std::string&) { fatal = true; });
  core.start();
  REQUIRE(create_tenant(core, "before").get().ok());
  store.fail_next_commit();
  auto answer = create_tenant(core, "acme");
  REQUIRE(answer.wait_for(10s) == std::future_status::ready);
  const Status failed = answer.get();
  CHECK(failed.code == Code::internal);
  CHECK(failed.message.find("injected commit failure") != std::string::npos);
  // Memory was ahead by the failed write; the reload puts it back to the database.
  bool reloaded = false;
  for (int i = 0; i < 2000 && !reloaded; ++i) {
    reloaded = on_owner(core, [&] { return core.write_refusal().ok() && !core.registry().tenants().contains("acme"); });
    if (!reloaded) std::this_thread::sleep_for(5ms);
  }
  CHECK(reloaded);
  CHECK(on_owner(core, [&] { return core.registry().tenants().size(); }) == 1);
  // And writes go on.
  auto again = create_tenant(core, "acme");
  REQUIRE(again.wait_for(10s) == std::future_status::ready);
  CHECK(again.get().ok());
  core.stop();
  CHECK_FALSE(fatal);
  CHECK(store.load().tenants.size() == 2);
}

}  // namespace
}  // namespace tg::control
