// Heartbeat TTL (RegisterInstanceRequest.heartbeat_ttl_ms): no heartbeat for
// the TTL → unhealthy ("heartbeat expired") in discover and in the audit log;
// a heartbeat → healthy again.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/poll.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

v1::Instance discover_one(const ControlProcess& control, const std::string& service) {
  const auto found = json_as<v1::DiscoverInstancesResponse>(
      tgctl(control, {"instances", "discover", service, "-o", "json"}));
  if (found.instances_size() != 1) throw std::runtime_error("expected one instance of " + service);
  return found.instances(0);
}

}  // namespace

TEST_CASE("heartbeat TTL: expiry makes an instance unhealthy, a heartbeat makes it healthy",
          "[control][heartbeat]") {
  ControlProcess control;
  REQUIRE(tgctl(control, {"services", "create", "web"}).exit_code == 0);
  const auto registered = json_as<v1::Instance>(tgctl(
      control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "w1", "--ttl", "600ms", "-o", "json"}));
  CHECK(registered.heartbeat_ttl_ms() == 600);
  CHECK(registered.health() != v1::HEALTH_UNHEALTHY);
  const auto start = Clock::now();

  // no heartbeat: unhealthy after the TTL, not long after it
  v1::Instance expired;
  const bool became_unhealthy = poll_for(std::chrono::seconds(10), [&] {
    expired = discover_one(control, "web");
    return expired.health() == v1::HEALTH_UNHEALTHY;
  }, std::chrono::milliseconds(50));
  REQUIRE(became_unhealthy);
  // Not before the TTL: `start` is taken after the register call returned,
  // so allow for that call's own time.
  CHECK(elapsed_ms(start) >= 300);
  CHECK(expired.health_reason().find("heartbeat") != std::string::npos);
  CHECK(expired.health_changed_unix_ms() > 0);

  // the audit log records the expiry
  const auto audit = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--kind", "instance", "--name", "w1", "-o", "json"}));
  bool expiry_recorded = false;
  for (const v1::AuditEntry& entry : audit.entries()) {
    if (entry.method() == "HeartbeatExpired" && entry.actor() == "tg-control" &&
        entry.after_json().find("HEALTH_UNHEALTHY") != std::string::npos &&
        entry.after_json().find("heartbeat expired") != std::string::npos) {
      expiry_recorded = true;
    }
  }
  INFO(tgctl(control, {"audit", "list", "--name", "w1", "-o", "json"}).out);
  CHECK(expiry_recorded);

  // a heartbeat: healthy at once
  const TgctlResult beat = tgctl(control, {"instances", "heartbeat", "w1", "-o", "json"});
  const auto answer = json_as<v1::HeartbeatResponse>(beat);
  CHECK(answer.health() == v1::HEALTH_HEALTHY);
  CHECK(answer.heartbeat_ttl_ms() == 600);
  const v1::Instance healthy = discover_one(control, "web");
  CHECK(healthy.health() == v1::HEALTH_HEALTHY);
  CHECK(healthy.last_heartbeat_unix_ms() > 0);

  // heartbeats more often than the TTL keep it healthy (through 3 TTLs); the
  // gRPC client directly, so that a slow process spawn cannot miss a beat
  const auto stub = control.stub();
  int beats = 0, unhealthy_seen = 0;
  const auto keep_until = Clock::now() + std::chrono::milliseconds(1800);
  while (Clock::now() < keep_until) {
    v1::HeartbeatRequest request;
    request.set_id("w1");
    v1::HeartbeatResponse response;
    REQUIRE(stub->Heartbeat(admin_context().get(), request, &response).ok());
    ++beats;
    v1::DiscoverInstancesRequest discover;
    discover.set_service("web");
    v1::DiscoverInstancesResponse found;
    REQUIRE(stub->DiscoverInstances(admin_context().get(), discover, &found).ok());
    REQUIRE(found.instances_size() == 1);
    if (found.instances(0).health() != v1::HEALTH_HEALTHY) ++unhealthy_seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the heartbeat period under test
  }
  CHECK(beats >= 5);
  CHECK(unhealthy_seen == 0);
}

TEST_CASE("heartbeat of an instance without a TTL answers TTL 0", "[control][heartbeat]") {
  ControlProcess control;
  REQUIRE(tgctl(control, {"services", "create", "web"}).exit_code == 0);
  REQUIRE(tgctl(control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "w1"}).exit_code == 0);
  const auto answer = json_as<v1::HeartbeatResponse>(tgctl(control, {"instances", "heartbeat", "w1", "-o", "json"}));
  CHECK(answer.heartbeat_ttl_ms() == 0);
}
