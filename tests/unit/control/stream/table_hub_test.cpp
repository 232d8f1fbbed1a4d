// TableHub: versions, debounce, config vs health updates, ACK gating, NACKs,
// hellos and proxy records, over a real Registry with a fake clock, a timer
// fired by hand and fake subscribers (no gRPC, no threads).
#include "table_hub_fixture.hpp"

#include <google/protobuf/util/message_differencer.h>

namespace tg::control {
namespace {

using namespace hub_test;
using Response = v1::StreamTableResponse;
using namespace std::chrono_literals;

// The registry as a Table: objects without meta and heartbeat fields.
v1::Table expected_table(const Registry& registry) {
  v1::Table table;
  for (const auto& [id, t] : registry.tenants()) table.add_tenants()->CopyFrom(t);
  for (const auto& [id, s] : registry.services()) table.add_services()->CopyFrom(s);
  for (const auto& [id, i] : registry.instances()) table.add_instances()->CopyFrom(i);
  for (const auto& [id, r] : registry.routes()) table.add_routes()->CopyFrom(r);
  for (auto& t : *table.mutable_tenants()) t.clear_meta();
  for (auto& s : *table.mutable_services()) s.clear_meta();
  for (auto& r : *table.mutable_routes()) r.clear_meta();
  for (auto& i : *table.mutable_instances()) {
    i.clear_meta();
    i.clear_heartbeat_ttl_ms();
    i.clear_last_heartbeat_unix_ms();
    i.clear_health_changed_unix_ms();
  }
  return table;
}

v1::Table parse_table(const std::string& bytes) {
  v1::Table table;
  REQUIRE(table.ParseFromString(bytes));
  return table;
}

bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::vector<std::string> health_ids(const Response& r) {
  REQUIRE(r.has_health());
  std::vector<std::string> ids;
  for (const auto& s : r.health().instances()) ids.push_back(s.id());
  return ids;
}

TEST_CASE("table hub: version (generation, 1) at start, payload = registry minus meta", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  CHECK(f.hub->newest() == TableVersion{7, 1});
  CHECK(f.hub->last_config() == TableVersion{7, 1});
  const v1::Table table = parse_table(f.hub->payload());
  CHECK(table.tenants_size() == 2);
  CHECK(table.instances_size() == 4);
  CHECK(table.instances(0).health() == v1::HEALTH_HEALTHY);
  CHECK_FALSE(table.instances(0).has_meta());
  CHECK(table.instances(0).heartbeat_ttl_ms() == 0);
  CHECK(same(table, expected_table(f.registry)));
  CHECK(f.metrics.generation == 7);
  CHECK(f.metrics.counter == 1);
  CHECK(f.metrics.payload_bytes == f.hub->payload().size());
}

TEST_CASE("table hub: debounce gathers many changes into one version", "[table_hub]") {
  HubFixture f;
  f.options.debounce = 5ms;
  f.populate();
  f.start();
  CHECK_FALSE(f.timer.armed());
  for (int i = 0; i < 50; ++i) f.route("r" + std::to_string(i), "web");
  CHECK(f.timer.arms() == 1);
  CHECK(f.timer.after() == 5ms);
  CHECK(f.hub->newest() == TableVersion{7, 1});  // nothing before the debounce
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 2});
  CHECK(f.hub->last_config() == TableVersion{7, 2});
  CHECK(same(parse_table(f.hub->payload()), expected_table(f.registry)));
  f.route("late", "api");
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 3});
  CHECK(f.metrics.config_versions == 3);
  // Deletes count too.
  v1::DeleteRouteRequest del;
  del.set_name("late");
  f.write(&Registry::delete_route, del);
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 4});
  CHECK(parse_table(f.hub->payload()).routes_size() == 52);
}

TEST_CASE("table hub: changes the proxies cannot see publish nothing", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  // Only meta and heartbeat fields differ.
  v1::Tenant tenant = f.registry.tenants().at("acme");
  tenant.mutable_meta()->set_revision(999);
  v1::Instance instance = f.registry.instances().at("i0");
  instance.set_last_heartbeat_unix_ms(instance.last_heartbeat_unix_ms() + 5000);
  instance.set_heartbeat_ttl_ms(20000);
  instance.set_health_changed_unix_ms(123);
  CommitBatch batch;
  batch.mutations.push_back({ObjectKind::tenant, "acme", "", tenant.SerializeAsString()});
  batch.mutations.push_back({ObjectKind::instance, "i0", "web", instance.SerializeAsString()});
  batch.mutations.push_back({ObjectKind::route, "absent", "web", std::nullopt});  // delete of nothing
  f.hub->on_commit(batch);
  CHECK_FALSE(f.timer.armed());
  CHECK(f.hub->newest() == TableVersion{7, 1});
}

TEST_CASE("table hub: health and admin state alone are health versions, the rest config", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  f.expire_all();  // 4 instances unhealthy
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 2});
  CHECK(f.hub->last_config() == TableVersion{7, 1});
  CHECK(f.hub->health_versions() == 1);
  f.set_state("i1", v1::ADMIN_STATE_DRAINING);
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 3});
  CHECK(f.hub->health_versions() == 2);
  CHECK(f.metrics.health_versions == 2);
  // The full payload follows the state too (for proxies that need it).
  f.instance("i2", "web", 10000, /*weight=*/5, /*replace=*/true);  // weight: config
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 4});
  CHECK(f.hub->last_config() == TableVersion{7, 4});
  CHECK(f.hub->health_versions() == 0);
  const v1::Table table = parse_table(f.hub->payload());
  CHECK(same(table, expected_table(f.registry)));
  CHECK(table.instances(1).admin_state() == v1::ADMIN_STATE_DRAINING);
  CHECK(table.instances(0).health() == v1::HEALTH_UNHEALTHY);
  // A health change and a config change in one window: one config version.
  f.heartbeat("i0");
  f.route("more", "web");
  f.timer.fire();
  CHECK(f.hub->newest() == TableVersion{7, 5});
  CHECK(f.hub->last_config() == TableVersion{7, 5});
}

TEST_CASE("table hub: health updates merge every change after the proxy's version", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  REQUIRE(f.sub(a).sent.size() == 1);
  CHECK(f.sub(a).last().has_config());
  f.ack(a);  // serves 7.1

  f.set_state("i0", v1::ADMIN_STATE_DRAINING);
  f.timer.fire();  // 7.2
  REQUIRE(f.sub(a).sent.size() == 2);
  CHECK(version_of(f.sub(a).last()) == TableVersion{7, 2});
  CHECK(health_ids(f.sub(a).last()) == std::vector<std::string>{"i0"});
  // Proxy a is slow: 7.3 and 7.4 are published meanwhile.
  f.set_state("i1", v1::ADMIN_STATE_DISABLED);
  f.timer.fire();  // 7.3
  f.set_state("i0", v1::ADMIN_STATE_ACTIVE);
  f.timer.fire();  // 7.4
  CHECK(f.sub(a).sent.size() == 2);
  f.ack(a);  // 7.2 applied → one update: i0 and i1 as of 7.4
  REQUIRE(f.sub(a).sent.size() == 3);
  const Response& merged = f.sub(a).last();
  CHECK(version_of(merged) == TableVersion{7, 4});
  CHECK(health_ids(merged) == std::vector<std::string>{"i0", "i1"});
  CHECK(merged.health().instances(0).admin_state() == v1::ADMIN_STATE_ACTIVE);
  CHECK(merged.health().instances(1).admin_state() == v1::ADMIN_STATE_DISABLED);
  CHECK(merged.health().instances(0).health() == v1::HEALTH_HEALTHY);

  // A proxy that serves 7.1 (the last config) gets the merge of 7.2..7.4.
  const auto b = f.connect();
  f.hello(b, "proxy-b", "boot-b", {7, 1});
  REQUIRE(f.sub(b).sent.size() == 1);
  CHECK(health_ids(f.sub(b).last()) == std::vector<std::string>{"i0", "i1"});
  // Another generation, or no version: the full table.
  const auto c = f.connect();
  f.hello(c, "proxy-c", "boot-c", {6, 40});
  REQUIRE(f.sub(c).sent.size() == 1);
  CHECK(f.sub(c).last().has_config());
  CHECK(version_of(f.sub(c).last()) == TableVersion{7, 4});
  CHECK(same(parse_table(f.sub(c).last().config()), expected_table(f.registry)));
  CHECK(f.metrics.health_sent == 3);
}

TEST_CASE("table hub: the health log is compacted into a config version", "[table_hub]") {
  SECTION("past max_health_versions") {
    HubFixture f;
    f.options.max_health_versions = 3;
    f.populate();
    f.start();
    for (int i = 0; i < 3; ++i) {
      f.set_state("i0", i % 2 ? v1::ADMIN_STATE_ACTIVE : v1::ADMIN_STATE_DRAINING);
      f.timer.fire();
    }
    CHECK(f.hub->health_versions() == 3);
    CHECK(f.hub->last_config() == TableVersion{7, 1});
    f.set_state("i0", v1::ADMIN_STATE_DISABLED);
    f.timer.fire();
    CHECK(f.hub->newest() == TableVersion{7, 5});
    CHECK(f.hub->last_config() == TableVersion{7, 5});
    CHECK(f.hub->health_versions() == 0);
    CHECK(same(parse_table(f.hub->payload()), expected_table(f.registry)));
  }
  SECTION("more than a quarter of the instances changed") {
    HubFixture f;
    f.options.min_compact_instances = 0;
    f.populate();
    for (int i = 4; i < 8; ++i) f.instance("i" + std::to_string(i), "web");
    f.start();  // 8 instances: a quarter is 2
    f.set_state("i0", v1::ADMIN_STATE_DRAINING);
    f.set_state("i1", v1::ADMIN_STATE_DRAINING);
    f.timer.fire();
    CHECK(f.hub->health_versions() == 1);
    f.set_state("i2", v1::ADMIN_STATE_DRAINING);  // 3 changed since the config
    f.timer.fire();
    CHECK(f.hub->health_versions() == 0);
    CHECK(f.hub->last_config() == TableVersion{7, 3});
  }
}

TEST_CASE("table hub: one update outstanding, and then the newest", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  CHECK(f.sub(a).sent.empty());  // nothing before the hello
  f.hello(a, "proxy-a");
  REQUIRE(f.sub(a).sent.size() == 1);
  CHECK(version_of(f.sub(a).last()) == TableVersion{7, 1});
  for (int i = 0; i < 3; ++i) {
    f.route("r" + std::to_string(i), "web");
    f.timer.fire();  // 7.2, 7.3, 7.4
  }
  CHECK(f.sub(a).sent.size() == 1);
  f.hub->write_done(a, true);
  CHECK(f.sub(a).sent.size() == 1);  // written, not answered
  f.ack_only(a, {7, 1});
  REQUIRE(f.sub(a).sent.size() == 2);
  CHECK(version_of(f.sub(a).last()) == TableVersion{7, 4});  // 7.2 and 7.3 skipped
  CHECK(f.sub(a).last().has_delta());                        // one delta 7.1 -> 7.4
  // The ACK may overtake the write completion: still one at a time.
  f.route("r9", "web");
  f.ack_only(a, {7, 4});
  f.timer.fire();  // 7.5
  CHECK(f.sub(a).sent.size() == 2);
  f.hub->write_done(a, true);
  REQUIRE(f.sub(a).sent.size() == 3);
  CHECK(version_of(f.sub(a).last()) == TableVersion{7, 5});
  f.ack(a);
  CHECK(f.sub(a).sent.size() == 3);  // up to date
  CHECK(f.proxies().proxies(0).lag() == 0);
  CHECK(f.metrics.acks == 3);
}

TEST_CASE("table hub: a NACKed version is never sent again to that node", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  f.nack(a, "service web: bad policy");
  CHECK(f.sub(a).sent.size() == 1);
  auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).nacks() == 1);
  CHECK(listed.proxies(0).last_nack().reason() == "service web: bad policy");
  CHECK(from_proto(listed.proxies(0).last_nack().version()) == TableVersion{7, 1});
  CHECK(listed.proxies(0).last_nack().time_unix_ms() == f.clock.unix_ms());
  CHECK_FALSE(listed.proxies(0).has_applied());
  CHECK(f.metrics.nacks == 1);

  // Reconnecting (even as a new process) does not bring 7.1 back.
  f.hub->disconnect(a, Status{});
  CHECK(f.sub(a).finished.has_value());
  const auto b = f.connect();
  f.hello(b, "proxy-a", "boot-2");
  CHECK(f.sub(b).sent.empty());
  // Another node gets it.
  const auto c = f.connect();
  f.hello(c, "proxy-c");
  CHECK(f.sub(c).sent.size() == 1);
  // The next version goes out.
  f.route("fixed", "web");
  f.timer.fire();
  REQUIRE(f.sub(b).sent.size() == 1);
  CHECK(version_of(f.sub(b).last()) == TableVersion{7, 2});
}

TEST_CASE("table hub: a hello naming the newest version gets nothing", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a", "boot-1", {7, 1});
  CHECK(f.sub(a).sent.empty());
  auto listed = f.proxies();
  CHECK(from_proto(listed.proxies(0).applied()) == TableVersion{7, 1});
  CHECK(listed.proxies(0).lag() == 0);
  f.route("x", "web");
  f.timer.fire();
  CHECK(f.sub(a).sent.size() == 1);
  // A version of another registry with the same label is a full table.
  const auto b = f.connect();
  f.hello(b, "proxy-b", "boot-1", {7, 2}, "another-registry", 5);
  REQUIRE(f.sub(b).sent.size() == 1);
  CHECK(f.sub(b).last().has_config());
}

TEST_CASE("table hub: hello first, valid node ids, answers to the outstanding version only", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  auto expect_invalid = [&](TableHub::SubscriberId id, const std::string& part) {
    REQUIRE(f.sub(id).finished.has_value());
    CHECK(f.sub(id).finished->code == Code::invalid_argument);
    CHECK_THAT(f.sub(id).finished->message, Catch::Contains(part));
  };
  auto a = f.connect();
  f.ack_only(a, {7, 1});
  expect_invalid(a, "the first message must be a hello");
  for (const std::string& bad : {std::string(), std::string("has space"), std::string("é"), std::string(129, 'x')}) {
    a = f.connect();
    f.hello(a, bad);
    expect_invalid(a, "hello.node_id");
  }
  a = f.connect();
  f.hello(a, std::string(128, 'x'));
  CHECK_FALSE(f.sub(a).finished.has_value());
  a = f.connect();
  f.hello(a, "Node_1.a:b-c");
  CHECK_FALSE(f.sub(a).finished.has_value());
  f.hello(a, "Node_1.a:b-c");
  expect_invalid(a, "sent twice");
  a = f.connect();
  f.hello(a, "p2");
  f.hub->write_done(a, true);
  f.ack_only(a, {7, 2});
  expect_invalid(a, "7.2 is not the version awaiting an answer (7.1)");
  a = f.connect();
  f.hello(a, "p3");
  f.ack(a);
  f.ack_only(a, {7, 1});  // nothing outstanding
  expect_invalid(a, "(none)");
  a = f.connect();
  f.hello(a, "p4");
  f.hub->receive(a, v1::StreamTableRequest{});
  expect_invalid(a, "empty");
  // Messages after the end are ignored.
  f.hub->receive(a, v1::StreamTableRequest{});
  f.hub->write_done(a, true);
}

TEST_CASE("table hub: one stream per node id, the newer connection replaces the older", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "edge-1", "boot-1");
  const auto b = f.connect();
  f.hello(b, "edge-1", "boot-2");  // a restarted proxy, or another process under the same name
  REQUIRE(f.sub(a).finished.has_value());
  CHECK(f.sub(a).finished->code == Code::aborted);
  CHECK(f.sub(a).finished->message ==
        "replaced by a newer connection of node edge-1 from ipv4:127.0.0.1:" + std::to_string(40000 + b));
  CHECK_FALSE(f.sub(b).finished.has_value());
  CHECK(f.sub(b).sent.size() == 1);  // the newer one gets the table
  CHECK(f.metrics.node_replacements == 1);
  const auto c = f.connect();
  f.hello(c, "edge-1", "boot-2");  // the same process again: the new stream wins, not counted
  REQUIRE(f.sub(b).finished.has_value());
  CHECK(f.sub(b).finished->code == Code::aborted);
  CHECK_FALSE(f.sub(c).finished.has_value());
  CHECK(f.sub(c).sent.size() == 1);
  CHECK(f.metrics.node_replacements == 1);
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).connected());
  CHECK(listed.proxies(0).address() == "ipv4:127.0.0.1:" + std::to_string(40000 + c));
  CHECK(f.metrics.subscribers == 1);
  CHECK(f.hub->connected() == 1);
}

TEST_CASE("table hub: a node id flapping between two live proxies refuses the newest", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  // Two live proxies share "edge-1": each reconnect replaces the other.
  std::vector<TableHub::SubscriberId> streams;
  for (int i = 0; i < 4; ++i) {
    const auto id = f.connect();
    f.hello(id, "edge-1", i % 2 ? "boot-bbbbbbbbbbbb" : "boot-aaaaaaaaaaaa");
    streams.push_back(id);
    f.clock.advance(1s);
  }
  CHECK(f.metrics.node_replacements == 3);
  const auto refused = f.connect();
  f.hello(refused, "edge-1", "boot-aaaaaaaaaaaa");  // the 4th change of hands within 10 s
  REQUIRE(f.sub(refused).finished.has_value());
  CHECK(f.sub(refused).finished->code == Code::already_exists);
  CHECK_THAT(f.sub(refused).finished->message,
             Catch::Contains("node id \"edge-1\" changed hands 3 times within 10000 ms") &&
                 Catch::Contains("boot boot-bbb from ipv4:127.0.0.1:" + std::to_string(40000 + streams.back()) +
                                 " (connected)") &&
                 Catch::Contains("boot boot-aaa from ipv4:127.0.0.1:" + std::to_string(40000 + refused) +
                                 " (this stream)") &&
                 Catch::Contains("give each proxy its own node id") && !Catch::Contains("aaaaaaaa"));
  CHECK_FALSE(f.sub(streams.back()).finished.has_value());  // the connected one keeps its table
  CHECK(f.metrics.refused_node_clash == 1);
  CHECK(f.metrics.node_replacements == 3);
  // Once the window has passed, the newer connection replaces again: neither
  // proxy is left without a table for good.
  f.clock.advance(10s);
  const auto later = f.connect();
  f.hello(later, "edge-1", "boot-aaaaaaaaaaaa");
  CHECK_FALSE(f.sub(later).finished.has_value());
  CHECK(f.sub(later).sent.size() == 1);
  REQUIRE(f.sub(streams.back()).finished.has_value());
  CHECK(f.sub(streams.back()).finished->code == Code::aborted);
  CHECK(f.metrics.node_replacements == 4);
}

TEST_CASE("table hub: ListProxies shows only the first 8 characters of a boot id", "[table_hub]") {
  HubFixture f;
  f.start();
  const auto a = f.connect();
  f.hello(a, "edge-1", "0123456789abcdef0123456789abcdef");
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).boot_id() == "01234567");
  CHECK(short_boot_id("abc") == "abc");
}

TEST_CASE("table hub: proxy records, lag, disconnect and shutdown", "[table_hub]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "b-proxy", "boot-b");
  f.ack(a);  // 7.1
  const auto b = f.connect();
  f.hello(b, "a-proxy", "boot-a", {3, 8});  // another generation; gets 7.1, does not answer
  const std::int64_t connected_at = f.clock.unix_ms();
  for (int i = 0; i < 3; ++i) {
    f.route("r" + std::to_string(i), "web");
    f.timer.fire();
  }
  f.clock.advance(2s);
  auto listed = f.proxies();
  CHECK(from_proto(listed.newest()) == TableVersion{7, 4});
  REQUIRE(listed.proxies_size() == 2);
  const v1::ProxyStatus& pa = listed.proxies(0);  // ordered by node id
  CHECK(pa.node_id() == "a-proxy");
  CHECK(pa.boot_id() == "boot-a");
  CHECK(pa.listen() == "0.0.0.0:8080");
  CHECK(pa.proxy_version() == "0.1.0");
  CHECK(pa.connected());
  CHECK(pa.connected_since_unix_ms() == connected_at);
  CHECK(from_proto(pa.applied()) == TableVersion{3, 8});
  CHECK(from_proto(pa.sent()) == TableVersion{7, 1});
  CHECK(pa.lag() == 4);  // another generation: every version of this one
  const v1::ProxyStatus& pb = listed.proxies(1);
  CHECK(from_proto(pb.applied()) == TableVersion{7, 1});
  CHECK(from_proto(pb.sent()) == TableVersion{7, 2});  // 7.3 and 7.4 wait for its answer
  CHECK(pb.lag() == 3);
  CHECK(f.sub(a).sent.size() == 2);
  f.ack(a);  // 7.2 applied, 7.4 sent
  listed = f.proxies();
  CHECK(listed.proxies(1).lag() == 2);  // 7.2 of 7.4
  CHECK(from_proto(listed.proxies(1).sent()) == TableVersion{7, 4});

  f.hub->disconnect(a, Status{Code::cancelled, "gone"});
  CHECK(f.sub(a).finished->code == Code::cancelled);
  listed = f.proxies();  // the connected ones
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).node_id() == "a-proxy");
  CHECK(listed.disconnected_not_listed() == 1);
  v1::ListProxiesResponse all;
  f.hub->list_proxies(&all, true);
  REQUIRE(all.proxies_size() == 2);
  CHECK_FALSE(all.proxies(1).connected());
  CHECK(all.proxies(1).connected_since_unix_ms() == 0);
  CHECK(all.proxies(1).last_seen_unix_ms() == f.clock.unix_ms());
  CHECK(f.metrics.subscribers == 1);

  f.route("pending", "web");
  CHECK(f.timer.armed());
  f.hub->shutdown();
  CHECK_FALSE(f.timer.armed());
  CHECK(f.sub(b).finished->code == Code::unavailable);
  CHECK(f.hub->connected() == 0);
  const auto late = f.connect();
  CHECK(f.sub(late).finished->code == Code::unavailable);
  CHECK(f.metrics.subscribers == 0);
}

}  // namespace
}  // namespace tg::control
