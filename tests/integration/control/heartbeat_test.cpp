// Heartbeat TTL (RegisterInstanceRequest.heartbeat_ttl_ms): no heartbeat for
// the TTL → unhealthy ("heartbeat expired") in discover and in the audit log;
// a heartbeat → healthy again.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/poll.hpp"

#include <catch2/catch.hpp>


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
  // Times are compared as tg-control recorded them (last_heartbeat_unix_ms,
  // health_changed_unix_ms), never with the test's own clock: the deadline is
  // a TTL after the last sign of life, however late the test observes it.
  // The same rules against a fake clock: tests/unit/control/registry/instances_test.cpp.
  constexpr std::int64_t ttl_ms = 600;
  ControlProcess control;
  REQUIRE(tgctl(control, {"services", "create", "web"}).exit_code == 0);
  const auto registered = json_as<v1::Instance>(tgctl(
      control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "w1", "--ttl", "600ms", "-o", "json"}));
  CHECK(registered.heartbeat_ttl_ms() == ttl_ms);
  CHECK(registered.health() == v1::HEALTH_HEALTHY);
  REQUIRE(registered.last_heartbeat_unix_ms() > 0);  // registering is a sign of life

  // no heartbeat: unhealthy, not before a TTL after the registration
  const auto wait_unhealthy = [&](v1::Instance& out) {
    return poll_for(std::chrono::seconds(10), [&] {
      out = discover_one(control, "web");
      return out.health() == v1::HEALTH_UNHEALTHY;
    }, std::chrono::milliseconds(50));
  };
  v1::Instance expired;
  REQUIRE(wait_unhealthy(expired));
  CHECK(expired.health_reason() == "heartbeat expired");
  CHECK(expired.health_changed_unix_ms() - registered.last_heartbeat_unix_ms() >= ttl_ms);

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
  CHECK(answer.heartbeat_ttl_ms() == ttl_ms);
  const v1::Instance revived = discover_one(control, "web");
  CHECK(revived.health_reason() == "heartbeat received");
  const std::int64_t revived_at = revived.last_heartbeat_unix_ms();
  CHECK(revived_at >= expired.health_changed_unix_ms());

  // heartbeats of a healthy instance push its deadline on: beat until
  // tg-control has recorded one well past the revival (more than the time
  // left on the revival's TTL would allow), then stop. The expiry that
  // follows comes a whole TTL after the last recorded heartbeat, not after
  // the revival. The gRPC client directly, so a process spawn is not a beat.
  const auto stub = control.stub();
  v1::Instance last_beat;
  const bool beat_past_revival = poll_for(std::chrono::seconds(10), [&] {
    v1::HeartbeatRequest request;
    request.set_id("w1");
    v1::HeartbeatResponse response;
    if (!stub->Heartbeat(admin_context().get(), request, &response).ok()) return false;
    last_beat = discover_one(control, "web");
    return last_beat.last_heartbeat_unix_ms() - revived_at >= ttl_ms / 2 + 100;
  }, std::chrono::milliseconds(100));
  REQUIRE(beat_past_revival);
  v1::Instance expired_again;
  REQUIRE(wait_unhealthy(expired_again));
  CHECK(expired_again.last_heartbeat_unix_ms() == last_beat.last_heartbeat_unix_ms());
  CHECK(expired_again.health_changed_unix_ms() - last_beat.last_heartbeat_unix_ms() >= ttl_ms);
}

TEST_CASE("heartbeat of an instance without a TTL answers TTL 0", "[control][heartbeat]") {
  ControlProcess control;
  REQUIRE(tgctl(control, {"services", "create", "web"}).exit_code == 0);
  REQUIRE(tgctl(control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "w1"}).exit_code == 0);
  const auto answer = json_as<v1::HeartbeatResponse>(tgctl(control, {"instances", "heartbeat", "w1", "-o", "json"}));
  CHECK(answer.heartbeat_ttl_ms() == 0);
}
