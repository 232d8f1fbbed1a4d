// Delta updates on the table stream: what a proxy behind by config versions
// gets, and that applying it gives the table the control plane would send in
// full (tests/unit/control/stream/table_hub_fixture.hpp).
#include "table_hub_fixture.hpp"

#include "table/table_digest.hpp"
#include "table/table_entries.hpp"

#include <random>

namespace tg::control::hub_test {
namespace {

// A proxy's side of the stream, as far as its table goes: the entries of the
// version it serves, kept by what it was sent (table::TableEntries, as tg-proxy).
struct ProxyTable {
  table::TableEntries entries;
  TableVersion version;

  // Applies an update as tg-proxy does; false when the proxy would NACK it.
  bool apply(const Response& update) {
    std::string error;
    if (update.has_config()) {
      REQUIRE(entries.load(update.config(), error));
    } else if (update.has_delta()) {
      if (from_proto(update.base_version()) != version) return false;
      table::EntryUndo undo;
      REQUIRE(entries.apply(update.delta(), undo, error));
      if (entries.digest() != update.digest()) {
        entries.undo(undo);
        return false;
      }
    } else if (update.has_health()) {
      if (from_proto(update.base_version()) != version) return false;
      entries.apply(update.health());
    } else {
      return false;
    }
    CHECK(entries.digest() == update.digest());
    version = version_of(update);
    return true;
  }
};

// The table a new proxy gets now: the reference a delta must reproduce.
std::string full_table_now(HubFixture& f) {
  const auto id = f.connect();
  f.hello(id, "reference-" + std::to_string(id));
  const Response& full = f.sub(id).last();
  REQUIRE(full.has_config());
  std::string bytes = full.config();
  f.hub->disconnect(id, Status{});
  return bytes;
}

}  // namespace

TEST_CASE("table hub: a proxy behind by config versions gets a delta of the changed entries", "[table_hub][delta]") {
  HubFixture f;
  f.populate();
  for (int i = 0; i < 20; ++i) f.route("bulk-" + std::to_string(i), "web");
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  ProxyTable proxy;
  REQUIRE(proxy.apply(f.sub(a).last()));
  f.ack(a);

  f.route("r-new", "web");
  f.write(&Registry::delete_route, [] {
    v1::DeleteRouteRequest r;
    r.set_name("bulk-3");
    return r;
  }());
  f.timer.fire();  // 7.2
  REQUIRE(f.sub(a).sent.size() == 2);
  const Response& update = f.sub(a).last();
  REQUIRE(update.has_delta());
  CHECK(update.kind() == v1::UPDATE_KIND_DELTA);
  CHECK(from_proto(update.base_version()) == TableVersion{7, 1});
  CHECK(update.delta().removed_routes_size() == 1);
  CHECK(update.delta().removed_routes(0) == "bulk-3");
  v1::Table upserts;
  REQUIRE(upserts.ParseFromString(update.delta().upserts()));
  CHECK(upserts.routes_size() == 1);
  CHECK(upserts.routes(0).name() == "r-new");
  CHECK(upserts.tenants_size() + upserts.services_size() + upserts.instances_size() == 0);
  REQUIRE(proxy.apply(update));
  CHECK(proxy.entries.serialize() == full_table_now(f));
  f.ack(a);
  CHECK(f.metrics.delta_sent == 1);
  CHECK(f.metrics.delta_bytes_sent == f.sub(a).updates.back()->bytes().size());
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).last_update_kind() == v1::UPDATE_KIND_DELTA);
  CHECK(listed.proxies(0).last_update_bytes() == f.sub(a).updates.back()->bytes().size());
}

TEST_CASE("table hub: a proxy reconnecting with an older version gets one delta, not the backlog",
          "[table_hub][delta]") {
  HubFixture f;
  f.populate();
  for (int i = 0; i < 20; ++i) f.route("bulk-" + std::to_string(i), "web");
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  ProxyTable proxy;
  REQUIRE(proxy.apply(f.sub(a).last()));
  f.ack(a);
  f.hub->disconnect(a, Status{});
  for (int i = 0; i < 5; ++i) {
    f.route("late-" + std::to_string(i), "api");
    f.timer.fire();  // 7.2 .. 7.6
  }
  const auto b = f.connect();
  f.hello(b, "proxy-a", "boot-2", {7, 1});
  REQUIRE(f.sub(b).sent.size() == 1);
  const Response& update = f.sub(b).last();
  REQUIRE(update.has_delta());
  CHECK(version_of(update) == TableVersion{7, 6});
  REQUIRE(proxy.apply(update));
  CHECK(proxy.entries.serialize() == full_table_now(f));
}

TEST_CASE("table hub: a delta larger than half the table is sent as the full table", "[table_hub][delta]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  f.ack(a);
  for (int i = 0; i < 20; ++i) f.route("more-" + std::to_string(i), "web");
  f.timer.fire();
  REQUIRE(f.sub(a).sent.size() == 2);
  CHECK(f.sub(a).last().has_config());
  CHECK(f.metrics.delta_sent == 0);
}

TEST_CASE("table hub: a refused delta is followed by the full table of the same version", "[table_hub][delta]") {
  HubFixture f;
  f.populate();
  for (int i = 0; i < 20; ++i) f.route("bulk-" + std::to_string(i), "web");
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  f.ack(a);
  f.route("r-new", "web");
  f.timer.fire();
  REQUIRE(f.sub(a).last().has_delta());
  f.hub->write_done(a, true);
  v1::StreamTableRequest refusal;
  to_proto(TableVersion{7, 2}, refusal.mutable_nack()->mutable_version());
  refusal.mutable_nack()->set_reason("delta update 7.2: the table it gives has digest 1, not 2");
  refusal.mutable_nack()->set_delta_unusable(true);
  f.hub->receive(a, refusal);
  REQUIRE(f.sub(a).sent.size() == 3);
  CHECK(f.sub(a).last().has_config());
  CHECK(version_of(f.sub(a).last()) == TableVersion{7, 2});
  CHECK(f.metrics.delta_refused == 1);
  CHECK(f.proxies().proxies(0).nacks() == 0);  // not a refusal of the version
  f.ack(a);
  CHECK(f.proxies().proxies(0).lag() == 0);
  // Having ACKed a full table, the proxy gets deltas again.
  f.route("r-next", "web");
  f.timer.fire();
  CHECK(f.sub(a).last().has_delta());
  // A delta whose table the proxy refuses (not the delta itself) is an
  // ordinary NACK: recorded, and that version is not sent again.
  f.nack(a, "service web: bad policy");
  CHECK(f.sub(a).sent.size() == 4);
  CHECK(f.proxies().proxies(0).nacks() == 1);
  CHECK(f.metrics.delta_refused == 1);
}

TEST_CASE("table hub: a proxy older than the change log gets the full table", "[table_hub][delta]") {
  HubFixture f;
  f.options.max_delta_versions = 2;
  f.populate();
  for (int i = 0; i < 20; ++i) f.route("bulk-" + std::to_string(i), "web");
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  f.ack(a);
  f.hub->disconnect(a, Status{});
  const auto follower = f.connect();  // sees every version (and so records its digest)
  f.hello(follower, "follower");
  f.ack(follower);
  for (int i = 0; i < 3; ++i) {
    f.route("late-" + std::to_string(i), "api");
    f.timer.fire();  // 7.2 .. 7.4: the log keeps 7.3 and 7.4
    f.ack(follower);
  }
  const auto b = f.connect();
  f.hello(b, "proxy-a", "boot-2", {7, 1});
  CHECK(f.sub(b).last().has_config());
  const auto c = f.connect();
  f.hello(c, "proxy-c", "boot-3", {7, 2});
  CHECK(f.sub(c).last().has_delta());
}

// Property: whatever the sequence of registry changes, a proxy that applies
// what it is sent (full, delta or health, at any lag) holds at every version
// exactly the table a new proxy would get in full.
TEST_CASE("table hub: deltas applied at any lag give the full table, over random changes", "[table_hub][delta]") {
  const auto seed = GENERATE(1u, 2u, 3u, 4u);
  std::mt19937 random(seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  HubFixture f;
  f.options.min_compact_instances = 4;
  f.populate();
  for (int i = 0; i < 30; ++i) f.route("base-" + std::to_string(i), i % 2 ? "web" : "api");
  for (int i = 0; i < 12; ++i) f.instance("base-" + std::to_string(i), i % 2 ? "web" : "api");
  f.start();
  std::vector<std::string> routes, instances;
  for (int i = 0; i < 30; ++i) routes.push_back("base-" + std::to_string(i));
  for (int i = 0; i < 12; ++i) instances.push_back("base-" + std::to_string(i));

  struct Follower {
    TableHub::SubscriberId id;
    ProxyTable table;
    int every;  // answers one update in `every` rounds
  };
  std::vector<Follower> followers;
  for (int every : {1, 2, 5}) {
    Follower follower{f.connect(), {}, every};
    f.hello(follower.id, "proxy-" + std::to_string(every));
    followers.push_back(std::move(follower));
  }
  int next = 0;
  for (int round = 1; round <= 120; ++round) {
    const int changes = 1 + pick(3);
    for (int c = 0; c < changes; ++c) {
      switch (pick(6)) {
        case 0:
          routes.push_back("r" + std::to_string(next++));
          f.route(routes.back(), pick(2) ? "web" : "api");
          break;
        case 1:
          if (!routes.empty()) {
            const int at = pick(static_cast<int>(routes.size()));
            v1::DeleteRouteRequest r;
            r.set_name(routes[at]);
            f.write(&Registry::delete_route, r);
            routes.erase(routes.begin() + at);
          }
          break;
        case 2:
          instances.push_back("x" + std::to_string(next++));
          f.instance(instances.back(), pick(2) ? "web" : "api");
          break;
        case 3:
          if (!instances.empty()) {
            const int at = pick(static_cast<int>(instances.size()));
            v1::DeregisterInstanceRequest r;
            r.set_id(instances[at]);
            f.write(&Registry::deregister_instance, r);
            instances.erase(instances.begin() + at);
          }
          break;
        default:
          if (!instances.empty())
            f.set_state(instances[pick(static_cast<int>(instances.size()))],
                        pick(2) ? v1::ADMIN_STATE_DRAINING : v1::ADMIN_STATE_ACTIVE);
          break;
      }
    }
    if (f.timer.armed()) f.timer.fire();  // nothing to publish when the changes cancelled out
    const std::string reference = full_table_now(f);
    for (Follower& follower : followers) {
      if (round % follower.every != 0) continue;
      FakeSubscriber& s = f.sub(follower.id);
      // Answers what it was sent last (at most one update is outstanding).
      while (!s.sent.empty() && version_of(s.last()) != follower.table.version) {
        REQUIRE(follower.table.apply(s.last()));
        f.ack(follower.id);
      }
      if (follower.table.version == f.hub->newest()) CHECK(follower.table.entries.serialize() == reference);
    }
  }
  CHECK(f.metrics.delta_sent > 0);
  CHECK(f.metrics.health_sent > 0);
  CHECK(f.metrics.delta_refused == 0);
}

}  // namespace tg::control::hub_test

namespace tg::control::hub_test {

TEST_CASE("table hub: after a restart, a proxy serving the same table is relabelled, not sent it again",
          "[table_hub][delta]") {
  std::uint64_t digest = 0;
  {
    HubFixture before;
    before.populate();
    before.start();
    const auto a = before.connect();
    before.hello(a, "proxy-a");
    before.ack(a);
    digest = before.sub(a).last().digest();
  }
  HubFixture f;  // the same database one start later: generation 8
  f.registry.set_generation(8);
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a", "boot-1", {7, 1}, {}, digest);
  REQUIRE(f.sub(a).sent.size() == 1);
  const Response& update = f.sub(a).last();
  REQUIRE(update.has_delta());
  CHECK(version_of(update) == TableVersion{8, 1});
  CHECK(from_proto(update.base_version()) == TableVersion{7, 1});
  CHECK(update.delta().upserts().empty());
  CHECK(update.delta().removed_routes_size() + update.delta().removed_instances_size() == 0);
  CHECK(update.digest() == digest);
  CHECK(f.sub(a).updates.back()->bytes().size() < 200);

  // A proxy whose table differs gets the full table.
  const auto b = f.connect();
  f.hello(b, "proxy-b", "boot-2", {7, 1}, {}, digest + 1);
  REQUIRE(f.sub(b).sent.size() == 1);
  CHECK(f.sub(b).last().has_config());
}

}  // namespace tg::control::hub_test
