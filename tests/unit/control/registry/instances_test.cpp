// Instances: registration, heartbeats and TTL expiry on a fake clock.
#include "registry_fixture.hpp"

namespace tg::control {
namespace {

using test::RegistryFixture;
using namespace std::chrono_literals;

TEST_CASE("instances: register, replace, discover, deregister", "[instances]") {
  RegistryFixture f;
  REQUIRE(f.service("api").ok());
  v1::Instance out;
  REQUIRE(f.instance("api", "10.0.0.2:80", 0, &out).ok());
  CHECK(out.id() == "api/10.0.0.2:80");
  CHECK(out.health() == v1::HEALTH_HEALTHY);  // no TTL, no checker yet
  CHECK(out.admin_state() == v1::ADMIN_STATE_ACTIVE);
  CHECK(f.instance("api", "10.0.0.2:80").code == Code::already_exists);
  REQUIRE(f.instance("api", "10.0.0.1:80").ok());

  v1::RegisterInstanceRequest replace;
  replace.mutable_instance()->set_service("api");
  replace.mutable_instance()->set_address("10.0.0.2:80");
  replace.mutable_instance()->set_weight(7);
  replace.mutable_instance()->set_health(v1::HEALTH_UNHEALTHY);  // output only: ignored
  replace.set_replace(true);
  REQUIRE(f.write(&Registry::register_instance, replace, &out).ok());
  CHECK(out.weight() == 7);
  CHECK(out.health() == v1::HEALTH_HEALTHY);

  v1::DiscoverInstancesRequest discover;
  discover.set_service("api");
  v1::DiscoverInstancesResponse found;
  REQUIRE(f.registry.discover_instances(discover, &found).ok());
  REQUIRE(found.instances_size() == 2);
  CHECK(found.instances(0).id() == "api/10.0.0.1:80");  // ordered by id
  discover.set_service("nope");
  CHECK(f.registry.discover_instances(discover, &found).code == Code::not_found);

  v1::SetInstanceStateRequest state;
  state.set_id("api/10.0.0.1:80");
  CHECK(f.write(&Registry::set_instance_state, state).code == Code::invalid_argument);
  state.set_admin_state(v1::ADMIN_STATE_DRAINING);
  REQUIRE(f.write(&Registry::set_instance_state, state, &out).ok());
  CHECK(out.admin_state() == v1::ADMIN_STATE_DRAINING);

  v1::DeregisterInstanceRequest deregister;
  deregister.set_id("api/10.0.0.1:80");
  REQUIRE(f.write(&Registry::deregister_instance, deregister).ok());
  CHECK(f.write(&Registry::deregister_instance, deregister).code == Code::not_found);
  CHECK(f.store.load().instances.size() == 1);
}

TEST_CASE("instances: heartbeat TTL expiry and recovery", "[instances][ttl]") {
  RegistryFixture f;
  REQUIRE(f.service("api").ok());
  REQUIRE(f.instance("api", "10.0.0.1:80", 1000).ok());
  const std::string id = "api/10.0.0.1:80";
  CHECK(f.registry.instances().at(id).health() == v1::HEALTH_HEALTHY);

  f.clock.advance(900ms);
  CHECK(f.registry.expire_heartbeats().empty());
  v1::HeartbeatRequest beat;
  beat.set_id(id);
  v1::HeartbeatResponse answer;
  const auto revision = f.registry.revision();
  REQUIRE(f.write(&Registry::heartbeat, beat, &answer).ok());
  CHECK(answer.heartbeat_ttl_ms() == 1000);
  CHECK(answer.health() == v1::HEALTH_HEALTHY);
  CHECK(f.registry.revision() == revision);  // a plain heartbeat commits nothing
  CHECK(f.registry.instances().at(id).last_heartbeat_unix_ms() == f.clock.unix_ms());

  f.clock.advance(900ms);  // 1.8 s after registering, 0.9 s after the heartbeat
  CHECK(f.registry.expire_heartbeats().empty());
  f.clock.advance(101ms);
  CommitBatch expired = f.registry.expire_heartbeats();
  REQUIRE(expired.mutations.size() == 1);
  f.store.commit({expired});
  const v1::Instance& instance = f.registry.instances().at(id);
  CHECK(instance.health() == v1::HEALTH_UNHEALTHY);
  CHECK(instance.health_reason() == "heartbeat expired");
  CHECK(instance.health_changed_unix_ms() == f.clock.unix_ms());
  const auto audit = f.store.list_audit({});
  CHECK(audit.at(0).record.actor == "tg-control");
  CHECK(audit.at(0).record.method == "HeartbeatExpired");
  // Persisted: a reload sees it unhealthy.
  v1::Instance stored;
  REQUIRE(stored.ParseFromString(f.store.load().instances.at(0)));
  CHECK(stored.health() == v1::HEALTH_UNHEALTHY);
  // Expires once, not at every sweep.
  f.clock.advance(5s);
  CHECK(f.registry.expire_heartbeats().empty());

  REQUIRE(f.write(&Registry::heartbeat, beat, &answer).ok());
  CHECK(answer.health() == v1::HEALTH_HEALTHY);
  CHECK(f.registry.instances().at(id).health_reason() == "heartbeat received");
  CHECK(f.store.list_audit({}).at(0).record.method == "Test");
  f.clock.advance(1001ms);
  CHECK(f.registry.expire_heartbeats().mutations.size() == 1);
}

TEST_CASE("instances: a reload gives TTL instances a full TTL", "[instances][ttl]") {
  RegistryFixture f;
  REQUIRE(f.service("api").ok());
  REQUIRE(f.instance("api", "10.0.0.1:80", 1000).ok());
  REQUIRE(f.instance("api", "10.0.0.2:80").ok());
  f.clock.advance(5s);  // "down" for longer than the TTL
  Registry reloaded(f.clock);
  reloaded.load(f.store.load());
  CHECK(reloaded.heartbeat_deadlines() == 1);
  CHECK(reloaded.expire_heartbeats().empty());
  f.clock.advance(1001ms);
  CHECK(reloaded.expire_heartbeats().mutations.size() == 1);
}

TEST_CASE("registry: an unreadable stored object stops the load", "[registry]") {
  test::FakeClock clock;
  Registry registry(clock);
  LoadedState state;
  state.instances.push_back("\xff\xff\xff not a protobuf");
  state.instance_keys.push_back(StoredKey{"i", "svc"});
  CHECK_THROWS_WITH(registry.load(state), Catch::Contains("instance \"i\": its body is unreadable"));
}

}  // namespace
}  // namespace tg::control
