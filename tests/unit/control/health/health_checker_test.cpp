// HealthChecker wired to a Core over a MemoryStore (as control_server does):
// after a failed commit the registry is reloaded from the store, and the
// probe set follows the reloaded registry at once instead of at the next
// change.
#include "health/health_checker.hpp"
#include "server/core.hpp"

#include "registry_fixture.hpp"
#include "server/on_owner.hpp"

#include <atomic>
#include <thread>

namespace tg::control::health {
namespace {

using namespace std::chrono_literals;

v1::PatchServiceRequest check_every(std::uint32_t interval_ms) {
  v1::PatchServiceRequest patch;
  patch.mutable_service()->set_name("web");
  auto* check = patch.mutable_service()->mutable_health_check();
  check->set_type(v1::HealthCheck::TYPE_TCP);
  check->set_interval_ms(interval_ms);
  check->set_timeout_ms(100);
  patch.mutable_update_mask()->add_paths("health_check");
  return patch;
}

TEST_CASE("health checker: a registry reload after a failed commit drops the targets only memory had",
          "[health][checker]") {
  test::RegistryFixture fixture;
  REQUIRE(fixture.service("web").ok());
  REQUIRE(fixture.write(&Registry::patch_service, check_every(60'000)).ok());
  REQUIRE(fixture.instance("web", "127.0.0.1:1").ok());  // nothing listens: probes fail, harmlessly

  Core core(fixture.store, fixture.registry);
  std::atomic<std::size_t> targets{0}, most_targets{0};
  HealthCheckerHooks hooks;
  hooks.writable = [&core] { return core.write_refusal().ok(); };
  hooks.commit = [&core](CommitBatch batch) { core.commit(std::move(batch), [](const Status&) {}); };
  hooks.probed = [](const ProbeResult&) {};
  hooks.targets = [&](std::size_t n) {
    targets = n;
    most_targets = std::max(most_targets.load(), n);
  };
  HealthChecker checker(core.io(), fixture.registry, std::move(hooks), HealthCheckerOptions{{}, 7});
  core.add_observer([&checker](const CommitBatch& batch) { checker.on_commit(batch); });
  core.add_reload_observer([&checker] { checker.on_reload(); });
  core.start();
  checker.start();
  REQUIRE(test::on_owner(core, [&] { return targets.load(); }) == 1);

  // A committed change of the service while an instance registered after it
  // is still only in memory: the service's observer makes that instance a
  // target. Then the instance's own commit fails.
  std::atomic<bool> failed{false};
  test::on_owner(core, [&] {
    const WriteContext context{"tester", "Test"};
    v1::Service service;
    CommitBatch change;
    REQUIRE(fixture.registry.patch_service(check_every(30'000), context, &service, &change).ok());
    v1::RegisterInstanceRequest request;
    request.mutable_instance()->set_service("web");
    request.mutable_instance()->set_address("127.0.0.1:2");
    v1::Instance instance;
    auto registered = std::make_shared<CommitBatch>();
    REQUIRE(fixture.registry.register_instance(request, context, &instance, registered.get()).ok());
    core.commit(std::move(change), [&, registered](const Status& status) {
      fixture.store.fail_next_commit();
      const bool first_ok = status.ok();
      core.commit(std::move(*registered), [&failed, first_ok](const Status& second) {
        failed = first_ok && !second.ok();
      });
    });
    return true;
  });
  // The reload puts memory back to one instance; the probe set follows it.
  bool reloaded = false;
  for (int i = 0; i < 2000 && !reloaded; ++i) {
    reloaded = test::on_owner(
        core, [&] { return failed && core.write_refusal().ok() && fixture.registry.instances().size() == 1; });
    if (!reloaded) std::this_thread::sleep_for(5ms);
  }
  REQUIRE(reloaded);
  CHECK(most_targets == 2);  // the instance only memory had was a target
  CHECK(test::on_owner(core, [&] { return targets.load(); }) == 1);
  checker.stop();
  core.stop();
}

}  // namespace
}  // namespace tg::control::health
