// The TableHub test fixture: a real Registry with a fake clock, a debounce
// timer fired by hand and fake subscribers (no gRPC, no threads). Shared by
// table_hub_test.cpp and table_hub_registry_test.cpp (tests/unit/control/stream/).
#pragma once

#include "fake_clock.hpp"
#include "registry/registry.hpp"
#include "stream/table_hub.hpp"
#include "stream/version_proto.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tg::control::hub_test {

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
// What it is sent is parsed from the update's bytes (what goes on the wire);
// `updates` keeps the shared updates themselves.
struct FakeSubscriber final : TableSubscriber {
  std::vector<std::shared_ptr<const Response>> sent;
  std::vector<std::shared_ptr<const TableUpdate>> updates;
  std::optional<v1::Welcome> welcome;
  bool welcome_in_flight = false;
  std::optional<Status> finished;
  bool cancelled = false;  // ended by cancel(): the write in flight dropped
  std::map<TableVersion, std::uint64_t>* digests = nullptr;
  void send(std::shared_ptr<const TableUpdate> update) override {
    auto response = std::make_shared<Response>();
    REQUIRE(response->ParseFromString(update->bytes()));
    if (response->has_welcome()) {
      welcome = response->welcome();
      welcome_in_flight = true;
      return;
    }
    if (digests) (*digests)[from_proto(response->version())] = response->digest();
    sent.push_back(std::move(response));
    updates.push_back(std::move(update));
  }
  void finish(const Status& status) override { finished = status; }
  void cancel(const Status& status) override {
    finished = status;
    cancelled = true;
  }
  const Response& last() const {
    REQUIRE(!sent.empty());
    return *sent.back();
  }
};

inline TableVersion version_of(const Response& r) { return from_proto(r.version()); }

struct HubFixture {
  test::FakeClock clock;
  Registry registry{clock};
  WriteContext context{"tester", "Test"};
  ManualTimer timer;
  TableMetrics metrics;
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
      to_proto(applied, r.mutable_hello()->mutable_applied());
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
    to_proto(version, r.mutable_ack()->mutable_version());
    hub->receive(id, r);
  }
  void nack(TableHub::SubscriberId id, const std::string& reason) {
    hub->write_done(id, true);
    v1::StreamTableRequest r;
    to_proto(version_of(sub(id).last()), r.mutable_nack()->mutable_version());
    r.mutable_nack()->set_reason(reason);
    hub->receive(id, r);
  }
  v1::ListProxiesResponse proxies() const {
    v1::ListProxiesResponse out;
    hub->list_proxies(&out);
    return out;
  }
};

}  // namespace tg::control::hub_test
