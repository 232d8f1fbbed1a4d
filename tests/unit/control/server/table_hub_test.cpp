// TableHub: versions, debounce, config vs health updates, ACK gating, NACKs,
// hellos and proxy records, over a real Registry with a fake clock, a timer
// fired by hand and fake subscribers (no gRPC, no threads).
#include "fake_clock.hpp"
#include "registry/registry.hpp"
#include "server/metrics.hpp"
#include "server/table_hub.hpp"
#include "table/table_digest.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/util/message_differencer.h>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using Response = v1::StreamTableResponse;
using namespace std::chrono_literals;

class ManualTimer final : public DebounceTimer {
 public:
  void arm(std::chrono::microseconds after, std::function<void()> fire) override {
    armed_ = std::move(fire);
    after_ = after;
    ++arms_;
  }
  void cancel() override { armed_ = nullptr; }
  bool armed() const { return static_cast<bool>(armed_); }
  int arms() const { return arms_; }
  std::chrono::microseconds after() const { return after_; }
  void fire() {
    REQUIRE(armed_);
    auto f = std::move(armed_);
    armed_ = nullptr;
    f();
  }

 private:
  std::function<void()> armed_;
  std::chrono::microseconds after_{};
  int arms_ = 0;
};

// Keeps the welcome apart from the updates (`sent`), and every version's
// digest it saw in `digests` (shared by the fixture's subscribers).
struct FakeSubscriber final : TableSubscriber {
  std::vector<std::shared_ptr<const Response>> sent;
  std::optional<v1::Welcome> welcome;
  bool welcome_in_flight = false;
  std::optional<Status> finished;
  std::map<TableVersion, std::uint64_t>* digests = nullptr;
  void send(std::shared_ptr<const Response> response) override {
    if (response->has_welcome()) {
      welcome = response->welcome();
      welcome_in_flight = true;
      return;
    }
    if (digests) (*digests)[TableVersion::from(response->version())] = response->digest();
    sent.push_back(std::move(response));
  }
  void finish(const Status& status) override { finished = status; }
  const Response& last() const {
    REQUIRE(!sent.empty());
    return *sent.back();
  }
};

TableVersion version_of(const Response& r) { return TableVersion::from(r.version()); }

struct HubFixture {
  test::FakeClock clock;
  Registry registry{clock};
  WriteContext context{"tester", "Test"};
  ManualTimer timer;
  Metrics metrics;
  TableHubOptions options;
  std::unique_ptr<TableHub> hub;
  std::map<TableHub::SubscriberId, std::unique_ptr<FakeSubscriber>> subscribers;
  TableHub::SubscriberId next_id = 1;
  int next_port = 9000;
  std::map<TableVersion, std::uint64_t> digests;  // of every version sent
  std::vector<std::pair<IdentityChange, AuditRecord>> identity_commits;

  static constexpr const char* registry_id = "0123456789abcdef0123456789abcdef";

  HubFixture() {
    registry.set_generation(7);
    options.registry_id = registry_id;
  }

  void start() { hub = std::make_unique<TableHub>(registry, clock, timer, options, &metrics); }

  template <class Request, class Response>
  void write(Status (Registry::*op)(const Request&, const WriteContext&, Response*, CommitBatch*),
             const Request& request) {
    Response out;
    CommitBatch batch;
    const Status status = (registry.*op)(request, context, &out, &batch);
    REQUIRE(status.message == "");
    if (hub) hub->on_commit(batch);
  }
  void tenant(const std::string& id) {
    v1::CreateTenantRequest r;
    r.mutable_tenant()->set_id(id);
    (*r.mutable_tenant()->mutable_labels())["team"] = "a";
    write(&Registry::create_tenant, r);
  }
  void service(const std::string& name, const std::string& tenant = {}) {
    v1::CreateServiceRequest r;
    r.mutable_service()->set_name(name);
    r.mutable_service()->set_tenant(tenant);
    write(&Registry::create_service, r);
  }
  void route(const std::string& name, const std::string& service) {
    v1::CreateRouteRequest r;
    r.mutable_route()->set_name(name);
    r.mutable_route()->set_service(service);
    r.mutable_route()->mutable_match()->set_host(name + ".test");
    write(&Registry::create_route, r);
  }
  void instance(const std::string& id, const std::string& service, std::uint64_t ttl_ms = 0,
                std::uint32_t weight = 1, bool replace = false) {
    v1::RegisterInstanceRequest r;
    r.mutable_instance()->set_id(id);
    r.mutable_instance()->set_service(service);
    r.mutable_instance()->set_address("127.0.0.1:" + std::to_string(next_port++));
    r.mutable_instance()->set_weight(weight);
    r.set_heartbeat_ttl_ms(ttl_ms);
    r.set_replace(replace);
    write(&Registry::register_instance, r);
  }
  void set_state(const std::string& id, v1::AdminState state) {
    v1::SetInstanceStateRequest r;
    r.set_id(id);
    r.set_admin_state(state);
    write(&Registry::set_instance_state, r);
  }
  void heartbeat(const std::string& id) {
    v1::HeartbeatRequest r;
    r.set_id(id);
    write(&Registry::heartbeat, r);
  }
  // Every instance with a TTL becomes unhealthy.
  void expire_all() {
    clock.advance(1h);
    hub->on_commit(registry.expire_heartbeats());
  }
  // A small world: 2 tenants, 2 services, 4 instances (TTL 10 s), 2 routes.
  void populate() {
    tenant("acme");
    tenant("globex");
    service("web", "acme");
    service("api", "globex");
    for (int i = 0; i < 4; ++i) instance("i" + std::to_string(i), i % 2 ? "api" : "web", 10000);
    route("r-web", "web");
    route("r-api", "api");
  }

  // ---- streams
  TableHub::SubscriberId connect() {
    const auto id = next_id++;
    auto& s = subscribers[id] = std::make_unique<FakeSubscriber>();
    s->digests = &digests;
    hub->connect(id, *s, "ipv4:127.0.0.1:" + std::to_string(40000 + id));
    return id;
  }
  FakeSubscriber& sub(TableHub::SubscriberId id) { return *subscribers.at(id); }
  // A hello naming `applied` names this registry and the digest the proxy
  // was sent for it, unless given. An accepted hello's welcome is written.
  void hello(TableHub::SubscriberId id, const std::string& node, const std::string& boot = "boot-1",
             TableVersion applied = {}, std::optional<std::string> registry = {},
             std::optional<std::uint64_t> digest = {}) {
    v1::StreamTableRequest r;
    r.mutable_hello()->set_node_id(node);
    r.mutable_hello()->set_boot_id(boot);
    r.mutable_hello()->set_listen("0.0.0.0:8080");
    r.mutable_hello()->set_proxy_version("0.1.0");
    if (!applied.empty()) {
      applied.to(r.mutable_hello()->mutable_applied());
      r.mutable_hello()->set_registry_id(registry.value_or(registry_id));
      auto known = digests.find(applied);
      const std::uint64_t sent_digest = known != digests.end()       ? known->second
                                        : applied == hub->newest() ? hub->digest()
                                                                   : 0;
      r.mutable_hello()->set_digest(digest.value_or(sent_digest));
    }
    hub->receive(id, r);
    FakeSubscriber& s = sub(id);
    if (s.welcome_in_flight) {
      s.welcome_in_flight = false;
      hub->write_done(id, true);
    }
  }
  // Identity changes are "committed" at once, and kept for checks.
  void record_identity_commits() {
    options.commit_identity = [this](IdentityChange change, AuditRecord audit, std::function<void(bool)> done) {
      identity_commits.emplace_back(std::move(change), std::move(audit));
      done(true);
    };
  }
  // Completes the write and answers the last update.
  void ack(TableHub::SubscriberId id) {
    hub->write_done(id, true);
    ack_only(id, version_of(sub(id).last()));
  }
  void ack_only(TableHub::SubscriberId id, TableVersion version) {
    v1::StreamTableRequest r;
    version.to(r.mutable_ack()->mutable_version());
    hub->receive(id, r);
  }
  void nack(TableHub::SubscriberId id, const std::string& reason) {
    hub->write_done(id, true);
    v1::StreamTableRequest r;
    version_of(sub(id).last()).to(r.mutable_nack()->mutable_version());
    r.mutable_nack()->set_reason(reason);
    hub->receive(id, r);
  }
  v1::ListProxiesResponse proxies() const {
    v1::ListProxiesResponse out;
    hub->list_proxies(&out);
    return out;
  }
};

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
  CHECK(f.metrics.table().generation == 7);
  CHECK(f.metrics.table().counter == 1);
  CHECK(f.metrics.table().payload_bytes == f.hub->payload().size());
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
  CHECK(f.metrics.table().config_versions == 3);
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
  CHECK(f.metrics.table().health_versions == 2);
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
  CHECK(f.metrics.table().health_sent == 3);
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
  CHECK(f.sub(a).last().has_config());
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
  CHECK(f.metrics.table().acks == 3);
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
  CHECK(TableVersion::from(listed.proxies(0).last_nack().version()) == TableVersion{7, 1});
  CHECK(listed.proxies(0).last_nack().time_unix_ms() == f.clock.unix_ms());
  CHECK_FALSE(listed.proxies(0).has_applied());
  CHECK(f.metrics.table().nacks == 1);

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
  CHECK(TableVersion::from(listed.proxies(0).applied()) == TableVersion{7, 1});
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
  CHECK(f.metrics.table().node_replacements == 1);
  const auto c = f.connect();
  f.hello(c, "edge-1", "boot-2");  // the same process again: the new stream wins, not counted
  REQUIRE(f.sub(b).finished.has_value());
  CHECK(f.sub(b).finished->code == Code::aborted);
  CHECK_FALSE(f.sub(c).finished.has_value());
  CHECK(f.sub(c).sent.size() == 1);
  CHECK(f.metrics.table().node_replacements == 1);
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).connected());
  CHECK(listed.proxies(0).address() == "ipv4:127.0.0.1:" + std::to_string(40000 + c));
  CHECK(f.metrics.table().subscribers == 1);
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
  CHECK(f.metrics.table().node_replacements == 3);
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
  CHECK(f.metrics.table().refused_node_clash == 1);
  CHECK(f.metrics.table().node_replacements == 3);
  // Once the window has passed, the newer connection replaces again: neither
  // proxy is left without a table for good.
  f.clock.advance(10s);
  const auto later = f.connect();
  f.hello(later, "edge-1", "boot-aaaaaaaaaaaa");
  CHECK_FALSE(f.sub(later).finished.has_value());
  CHECK(f.sub(later).sent.size() == 1);
  REQUIRE(f.sub(streams.back()).finished.has_value());
  CHECK(f.sub(streams.back()).finished->code == Code::aborted);
  CHECK(f.metrics.table().node_replacements == 4);
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
  CHECK(TableVersion::from(listed.newest()) == TableVersion{7, 4});
  REQUIRE(listed.proxies_size() == 2);
  const v1::ProxyStatus& pa = listed.proxies(0);  // ordered by node id
  CHECK(pa.node_id() == "a-proxy");
  CHECK(pa.boot_id() == "boot-a");
  CHECK(pa.listen() == "0.0.0.0:8080");
  CHECK(pa.proxy_version() == "0.1.0");
  CHECK(pa.connected());
  CHECK(pa.connected_since_unix_ms() == connected_at);
  CHECK(TableVersion::from(pa.applied()) == TableVersion{3, 8});
  CHECK(TableVersion::from(pa.sent()) == TableVersion{7, 1});
  CHECK(pa.lag() == 4);  // another generation: every version of this one
  const v1::ProxyStatus& pb = listed.proxies(1);
  CHECK(TableVersion::from(pb.applied()) == TableVersion{7, 1});
  CHECK(TableVersion::from(pb.sent()) == TableVersion{7, 2});  // 7.3 and 7.4 wait for its answer
  CHECK(pb.lag() == 3);
  CHECK(f.sub(a).sent.size() == 2);
  f.ack(a);  // 7.2 applied, 7.4 sent
  listed = f.proxies();
  CHECK(listed.proxies(1).lag() == 2);  // 7.2 of 7.4
  CHECK(TableVersion::from(listed.proxies(1).sent()) == TableVersion{7, 4});

  f.hub->disconnect(a, Status{Code::cancelled, "gone"});
  CHECK(f.sub(a).finished->code == Code::cancelled);
  listed = f.proxies();
  CHECK_FALSE(listed.proxies(1).connected());
  CHECK(listed.proxies(1).connected_since_unix_ms() == 0);
  CHECK(listed.proxies(1).last_seen_unix_ms() == f.clock.unix_ms());
  CHECK(f.metrics.table().subscribers == 1);

  f.route("pending", "web");
  CHECK(f.timer.armed());
  f.hub->shutdown();
  CHECK_FALSE(f.timer.armed());
  CHECK(f.sub(b).finished->code == Code::unavailable);
  CHECK(f.hub->connected() == 0);
  const auto late = f.connect();
  CHECK(f.sub(late).finished->code == Code::unavailable);
  CHECK(f.metrics.table().subscribers == 0);
}

TEST_CASE("table hub: every update carries registry, kind, base and the digest of the table at its version",
          "[table_hub][registry]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  REQUIRE(f.sub(a).welcome);
  CHECK(f.sub(a).welcome->registry_id() == HubFixture::registry_id);
  CHECK(TableVersion::from(f.sub(a).welcome->newest()) == TableVersion{7, 1});
  const Response& full = f.sub(a).last();
  CHECK(full.registry_id() == HubFixture::registry_id);
  CHECK(full.kind() == v1::UPDATE_KIND_FULL);
  CHECK_FALSE(full.has_base_version());
  REQUIRE(table::table_digest(full.config()));
  CHECK(full.digest() == *table::table_digest(full.config()));
  CHECK(full.digest() == f.hub->digest());
  f.ack(a);

  // A health version: its digest is the one of the whole table at that version.
  f.set_state("i0", v1::ADMIN_STATE_DRAINING);
  f.timer.fire();
  const Response& health = f.sub(a).last();
  REQUIRE(health.has_health());
  CHECK(health.kind() == v1::UPDATE_KIND_HEALTH);
  CHECK(TableVersion::from(health.base_version()) == TableVersion{7, 1});
  const auto b = f.connect();
  f.hello(b, "proxy-b");  // gets the whole table at 7.2
  REQUIRE(f.sub(b).last().has_config());
  CHECK(version_of(f.sub(b).last()) == TableVersion{7, 2});
  CHECK(f.sub(b).last().digest() == *table::table_digest(f.sub(b).last().config()));
  CHECK(health.digest() == f.sub(b).last().digest());
  CHECK(health.digest() != full.digest());

  // Back to the state of 7.1: the digest is a function of the content.
  f.set_state("i0", v1::ADMIN_STATE_ACTIVE);
  f.timer.fire();
  CHECK(f.hub->digest() == full.digest());
}

TEST_CASE("table hub: a proxy serving a version this database never had is fenced until accept_restore",
          "[table_hub][registry]") {
  HubFixture f;
  f.record_identity_commits();
  f.populate();
  f.start();
  // Newer than the newest of this registry: a restored database.
  const auto a = f.connect();
  f.hello(a, "proxy-a", "boot-1", {7, 9});
  CHECK(f.sub(a).welcome);
  CHECK(f.sub(a).sent.empty());
  auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).fenced().find("database older than the fleet") != std::string::npos);
  CHECK(listed.proxies(0).registry_id() == HubFixture::registry_id);
  CHECK(f.metrics.table().older_than_fleet);
  CHECK(f.metrics.table().fenced_proxies == 1);
  // The mark is made durable (restarts keep it), with an audit row.
  REQUIRE(f.identity_commits.size() == 1);
  CHECK(f.identity_commits[0].first.fleet_ahead == std::optional<std::uint64_t>(7));
  CHECK(f.identity_commits[0].second.method == "DatabaseOlderThanFleet");
  // Changes are not pushed to it either.
  f.route("x", "web");
  f.timer.fire();
  CHECK(f.sub(a).sent.empty());

  // The same label with another digest: also never had by this database.
  const auto b = f.connect();
  f.hello(b, "proxy-b", "boot-1", {7, 1}, std::nullopt, 12345);
  CHECK(f.sub(b).sent.empty());
  CHECK_FALSE(f.proxies().proxies(1).fenced().empty());

  // Proxies of another registry, or with no table, are not affected.
  const auto c = f.connect();
  f.hello(c, "proxy-c");
  CHECK(f.sub(c).sent.size() == 1);

  // A registry marked at a previous start fences the proxies of this registry.
  HubFixture g;
  g.options.fleet_ahead = 9;
  g.populate();
  g.start();
  const auto d = g.connect();
  g.hello(d, "proxy-d", "boot-1", {3, 2});
  CHECK(g.sub(d).sent.empty());
  v1::RegistryInfo info;
  g.hub->registry_info(&info);
  CHECK(info.database_older_than_fleet().find("generation 9") != std::string::npos);
}

TEST_CASE("table hub: accept_restore lifts the generation above every reported version", "[table_hub][registry]") {
  HubFixture f;
  f.options.accept_restore = true;
  f.record_identity_commits();
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a", "boot-1", {9, 4});
  // Lifted to 10 (durable and audited), then the whole table as 10.1.
  REQUIRE(f.identity_commits.size() == 1);
  CHECK(f.identity_commits[0].first.generation == std::optional<std::uint64_t>(10));
  CHECK(f.identity_commits[0].first.fleet_ahead == std::optional<std::uint64_t>(0));
  CHECK(f.identity_commits[0].second.method == "AcceptRestore");
  CHECK(f.hub->newest() == TableVersion{10, 1});
  REQUIRE(f.sub(a).sent.size() == 1);
  CHECK(f.sub(a).last().has_config());
  CHECK(version_of(f.sub(a).last()) == TableVersion{10, 1});
  CHECK(f.proxies().proxies(0).fenced().empty());
  CHECK(f.metrics.table().generation_lifts == 1);
  f.ack(a);
  CHECK(f.proxies().proxies(0).lag() == 0);
}

TEST_CASE("table hub: adopting a registry lets its proxies take the table", "[table_hub][registry]") {
  HubFixture f;
  f.record_identity_commits();
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a", "boot-1", {2, 2}, "foreign0registry", 77);
  REQUIRE(f.sub(a).sent.size() == 1);
  CHECK(f.sub(a).last().adopted_registry_ids_size() == 0);
  f.nack(a, "table 7.1 is of registry ..., but this proxy serves registry foreign0registry");
  CHECK(f.proxies().proxies(0).registry_id() == "foreign0registry");

  std::optional<Status> outcome;
  f.hub->adopt(HubFixture::registry_id, "admin", [&](const Status& s) { outcome = s; });
  REQUIRE(outcome);
  CHECK(outcome->code == Code::invalid_argument);  // its own
  outcome.reset();
  f.hub->adopt("bad id!", "admin", [&](const Status& s) { outcome = s; });
  CHECK(outcome->code == Code::invalid_argument);
  outcome.reset();
  f.hub->adopt("foreign0registry", "admin", [&](const Status& s) { outcome = s; });
  REQUIRE(outcome);
  CHECK(outcome->ok());
  REQUIRE(f.identity_commits.size() == 1);
  CHECK(f.identity_commits[0].first.adopted == std::vector<std::string>{"foreign0registry"});
  CHECK(f.identity_commits[0].second.actor == "admin");
  CHECK(f.identity_commits[0].second.method == "AdoptRegistry");
  // A new version carries the adopted list; the proxy that refused gets it.
  f.timer.fire();
  REQUIRE(f.sub(a).sent.size() == 2);
  const Response& adopted = f.sub(a).last();
  REQUIRE(adopted.has_config());
  CHECK(version_of(adopted) == TableVersion{7, 2});
  REQUIRE(adopted.adopted_registry_ids_size() == 1);
  CHECK(adopted.adopted_registry_ids(0) == "foreign0registry");
  f.ack(a);
  CHECK(f.proxies().proxies(0).registry_id() == HubFixture::registry_id);
  v1::RegistryInfo info;
  f.hub->registry_info(&info);
  CHECK(info.adopted_registry_ids_size() == 1);
}

}  // namespace
}  // namespace tg::control
