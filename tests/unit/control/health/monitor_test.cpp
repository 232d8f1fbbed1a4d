// The health checker's schedule and thresholds against a fake clock, with no
// sockets: probes are taken from the Monitor and their results written by hand.
#include "health/monitor.hpp"
#include "registry_fixture.hpp"

#include <algorithm>

namespace tg::control::health {
namespace {

using namespace std::chrono_literals;
using test::RegistryFixture;

struct Fixture : RegistryFixture {
  Monitor monitor{42};

  Fixture() {
    REQUIRE(service("web").ok());
    v1::PatchServiceRequest patch;
    patch.mutable_service()->set_name("web");
    auto* check = patch.mutable_service()->mutable_health_check();
    check->set_type(v1::HealthCheck::TYPE_HTTP);
    check->set_path("/ready");
    check->set_interval_ms(1000);
    check->set_timeout_ms(200);
    check->set_healthy_threshold(2);
    check->set_unhealthy_threshold(3);
    patch.mutable_update_mask()->add_paths("health_check");
    REQUIRE(write(&Registry::patch_service, patch).ok());
  }

  Monitor::Time now() const { return clock.steady(); }

  v1::Instance add(const std::string& address) {
    v1::Instance out;
    REQUIRE(instance("web", address, 0, &out).ok());
    CHECK(monitor.sync_instance(registry, out.id(), now()).empty());
    return out;
  }

  // Probes due now, by instance id.
  std::vector<ProbeSpec> due() { return monitor.take_due(now()); }

  // Answers `probe` and applies (and commits) the flips, as HealthChecker does.
  std::vector<HealthFlip> answer(const ProbeSpec& probe, bool passed, const std::string& reason) {
    std::vector<HealthFlip> flips = monitor.on_results(registry, {ProbeResult{probe.instance, probe.epoch, passed, reason, 1ms}});
    CommitBatch batch = registry.apply_health_flips(flips, "HealthCheck", "health-check");
    if (!batch.empty()) store.commit({batch});
    return flips;
  }

  // One probe cycle of the only target: advance to its due time, take it, answer it.
  std::vector<HealthFlip> cycle(bool passed, const std::string& reason) {
    const auto next = monitor.next_due();
    REQUIRE(next);
    if (*next > now()) clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(*next - now()));
    const auto probes = due();
    REQUIRE(probes.size() == 1);
    return answer(probes[0], passed, reason);
  }

  const v1::Instance& current(const std::string& id) const { return registry.instances().at(id); }
};

TEST_CASE("health monitor: a new instance is probed at once and waits for its first pass", "[health][monitor]") {
  Fixture f;
  const v1::Instance web = f.add("127.0.0.1:9001");
  CHECK(web.health() == v1::HEALTH_UNHEALTHY);
  CHECK(web.health_reason() == awaiting_check_reason);
  const auto probes = f.due();
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].instance == web.id());
  CHECK(probes[0].path == "/ready");
  CHECK(probes[0].host_header == "127.0.0.1:9001");  // the instance's address when the check names no host
  CHECK(probes[0].timeout == 200ms);
  CHECK(f.monitor.in_flight() == 1);
  CHECK(f.due().empty());  // in flight: not sent again
  const auto flips = f.answer(probes[0], true, "http 200");
  REQUIRE(flips.size() == 1);  // one pass is enough for a new instance
  CHECK(flips[0].health == v1::HEALTH_HEALTHY);
  CHECK(f.current(web.id()).health() == v1::HEALTH_HEALTHY);
  CHECK(f.current(web.id()).health_reason() == "http 200");
}

TEST_CASE("health monitor: unhealthy after unhealthy_threshold failures, healthy after healthy_threshold passes",
          "[health][monitor]") {
  Fixture f;
  const std::string id = f.add("127.0.0.1:9001").id();
  REQUIRE(f.cycle(true, "http 200").size() == 1);
  CHECK(f.cycle(false, "http 503").empty());
  CHECK(f.cycle(false, "http 503").empty());
  const auto down = f.cycle(false, "connect refused");  // the third in a row
  REQUIRE(down.size() == 1);
  CHECK(down[0].health == v1::HEALTH_UNHEALTHY);
  CHECK(f.current(id).health_reason() == "connect refused");
  CHECK(f.cycle(false, "timeout").empty());  // already unhealthy
  CHECK(f.cycle(true, "http 200").empty());  // one pass of two
  CHECK(f.cycle(false, "timeout").empty());  // the run of passes is broken
  CHECK(f.cycle(true, "http 200").empty());
  const auto up = f.cycle(true, "http 204");
  REQUIRE(up.size() == 1);
  CHECK(up[0].health == v1::HEALTH_HEALTHY);
  CHECK(f.current(id).health_reason() == "http 204");
}

TEST_CASE("health monitor: every flip is committed with its event", "[health][monitor]") {
  Fixture f;
  const std::string id = f.add("127.0.0.1:9001").id();
  f.cycle(true, "http 200");
  for (int i = 0; i < 3; ++i) f.cycle(false, "http 503");
  const auto events = f.store.list_events(EventQuery{});
  REQUIRE(events.size() == 2);
  CHECK(events[0].record.message == "healthy -> unhealthy (http 503)");
  CHECK(events[0].record.kind == "health");
  CHECK(events[0].record.level == "warning");
  CHECK(events[0].record.source == "health-check");
  CHECK(events[0].record.service == "web");
  CHECK(events[0].record.instance == id);
  CHECK(events[0].record.detail_json.find("\"reason\":\"http 503\"") != std::string::npos);
  CHECK(events[1].record.message == "unhealthy -> healthy (http 200)");
  CHECK(events[1].record.level == "info");
  const auto audit = f.store.list_audit(AuditQuery{});
  REQUIRE_FALSE(audit.empty());
  CHECK(audit[0].record.method == "HealthCheck");
  CHECK(audit[0].record.actor == "tg-control");
}

TEST_CASE("health monitor: a fixed cadence per target, no drift, missed probes skipped", "[health][monitor]") {
  Fixture f;
  f.add("127.0.0.1:9001");
  const auto start = f.now();
  auto probes = f.due();
  REQUIRE(probes.size() == 1);
  CHECK_FALSE(f.monitor.next_due());  // in flight: not due again until its result came
  f.clock.advance(300ms);  // the result comes late: the cadence does not move
  f.answer(probes[0], true, "http 200");
  CHECK(*f.monitor.next_due() == start + 1000ms);
  f.clock.advance(3500ms);  // three and a half intervals with nothing taken
  probes = f.due();
  REQUIRE(probes.size() == 1);  // one probe, not the three missed
  f.answer(probes[0], true, "http 200");
  CHECK(*f.monitor.next_due() == start + 4000ms);
}

TEST_CASE("health monitor: targets found at startup start at random offsets within the interval",
          "[health][monitor]") {
  RegistryFixture r;
  REQUIRE(r.apply("services:\n  - name: web\n    health_check: { interval: 1s }\n    instances:\n" +
                      [] {
                        std::string list;
                        for (int i = 0; i < 100; ++i) list += "      - { address: 127.0.0.1:" + std::to_string(9000 + i) + " }\n";
                        return list;
                      }(),
                  "web.yaml")
              .ok());
  Monitor monitor(7);
  const auto start = r.clock.steady();
  CHECK(monitor.sync_all(r.registry, start).empty());
  CHECK(monitor.targets() == 100);
  CHECK(monitor.take_due(start).size() <= 2);  // not all at once
  std::size_t taken = 0;
  for (int step = 1; step <= 10; ++step) {
    const std::size_t now = monitor.take_due(start + std::chrono::milliseconds(step * 100)).size();
    CHECK(now > 0);   // spread over the interval (100 offsets in 10 slices)
    CHECK(now < 40);
    taken += now;
  }
  CHECK(monitor.in_flight() == 100);
  CHECK(taken <= 100);
}

TEST_CASE("health monitor: a restart resumes from the stored health without flipping", "[health][monitor]") {
  Fixture f;
  const std::string id = f.add("127.0.0.1:9001").id();
  f.cycle(true, "http 200");
  // A new monitor (tg-control restarted) over the same registry.
  Monitor restarted(3);
  CHECK(restarted.sync_all(f.registry, f.now()).empty());
  f.clock.advance(1000ms);
  auto probes = restarted.take_due(f.now());
  REQUIRE(probes.size() == 1);
  // One failure of a healthy instance flips nothing: the thresholds count from here.
  CHECK(restarted.on_results(f.registry, {ProbeResult{id, probes[0].epoch, false, "timeout", 1ms}}).empty());
  CHECK(f.current(id).health() == v1::HEALTH_HEALTHY);
}

TEST_CASE("health monitor: a changed check re-probes at once, stale results are dropped, removing the check heals",
          "[health][monitor]") {
  Fixture f;
  const std::string id = f.add("127.0.0.1:9001").id();
  auto old_probes = f.due();
  REQUIRE(old_probes.size() == 1);
  v1::PatchServiceRequest patch;
  patch.mutable_service()->set_name("web");
  patch.mutable_service()->mutable_health_check()->set_path("/live");
  patch.mutable_update_mask()->add_paths("health_check.path");
  REQUIRE(f.write(&Registry::patch_service, patch).ok());
  CHECK(f.monitor.sync_service(f.registry, "web", f.now()).empty());
  CHECK(f.monitor.on_results(f.registry, {ProbeResult{id, old_probes[0].epoch, true, "http 200", 1ms}}).empty());
  auto probes = f.due();
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].path == "/live");
  CHECK(probes[0].epoch != old_probes[0].epoch);
  // The check goes away: the instance, held out by it, becomes healthy.
  v1::PatchServiceRequest remove;
  remove.mutable_service()->set_name("web");
  remove.mutable_update_mask()->add_paths("health_check");
  REQUIRE(f.write(&Registry::patch_service, remove).ok());
  const auto flips = f.monitor.sync_service(f.registry, "web", f.now());
  REQUIRE(flips.size() == 1);
  CHECK(flips[0].health == v1::HEALTH_HEALTHY);
  CHECK(flips[0].reason == "no health check");
  CHECK(f.monitor.targets() == 0);
  CHECK(f.monitor.in_flight() == 0);
}

TEST_CASE("health monitor: a deregistered instance stops being probed", "[health][monitor]") {
  Fixture f;
  const std::string id = f.add("127.0.0.1:9001").id();
  v1::DeregisterInstanceRequest request;
  request.set_id(id);
  REQUIRE(f.write(&Registry::deregister_instance, request).ok());
  CHECK(f.monitor.sync_instance(f.registry, id, f.now()).empty());
  CHECK(f.monitor.targets() == 0);
  CHECK(f.due().empty());
  CHECK_FALSE(f.monitor.next_due());
}

TEST_CASE("health monitor: a passing probe does not override an expired heartbeat", "[health][monitor]") {
  Fixture f;
  v1::Instance web;
  REQUIRE(f.instance("web", "127.0.0.1:9001", 500, &web).ok());
  f.monitor.sync_instance(f.registry, web.id(), f.now());
  f.cycle(true, "http 200");
  CHECK(f.current(web.id()).health() == v1::HEALTH_HEALTHY);
  f.clock.advance(600ms);
  CommitBatch expired = f.registry.expire_heartbeats();
  REQUIRE_FALSE(expired.empty());
  REQUIRE(expired.events.size() == 1);
  CHECK(expired.events[0].source == "heartbeat");
  CHECK(expired.events[0].message == "healthy -> unhealthy (heartbeat expired)");
  f.store.commit({expired});
  CHECK(f.cycle(true, "http 200").empty());
  CHECK(f.cycle(true, "http 200").empty());
  CHECK(f.current(web.id()).health_reason() == "heartbeat expired");
}

TEST_CASE("health monitor: probe_spec takes expect ranges, a named host and tcp", "[health][monitor]") {
  v1::HealthCheck check;
  check.set_type(v1::HealthCheck::TYPE_HTTP);
  auto* range = check.add_expect();
  range->set_min(200);
  range = check.add_expect();
  range->set_min(500);
  range->set_max(503);
  check.set_host("acme.internal");
  v1::Instance instance;
  instance.set_id("a");
  instance.set_address("10.0.0.1:80");
  ProbeSpec spec = probe_spec(check, instance);
  CHECK(spec.host_header == "acme.internal");
  CHECK(spec.expect == std::vector<std::pair<unsigned, unsigned>>{{200, 200}, {500, 503}});
  CHECK(status_expected(502, spec.expect));
  CHECK_FALSE(status_expected(204, spec.expect));
  check.set_type(v1::HealthCheck::TYPE_TCP);
  CHECK(probe_spec(check, instance).type == ProbeSpec::Type::tcp);
}

}  // namespace
}  // namespace tg::control::health
