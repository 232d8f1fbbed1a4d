// TableHub and registry identity: the update envelope and its digest, a
// proxy fenced when it serves a version this database never had, the
// accept_restore lift, adoption of another registry.
#include "table_hub_fixture.hpp"

#include "table/table_digest.hpp"

namespace tg::control {
namespace {

using namespace hub_test;
namespace v1 = ::tenantgate::v1;
using Response = v1::StreamTableResponse;

TEST_CASE("table hub: every update carries registry, kind, base and the digest of the table at its version",
          "[table_hub][registry]") {
  HubFixture f;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  REQUIRE(f.sub(a).welcome);
  CHECK(f.sub(a).welcome->registry_id() == HubFixture::registry_id);
  CHECK(from_proto(f.sub(a).welcome->newest()) == TableVersion{7, 1});
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
  CHECK(from_proto(health.base_version()) == TableVersion{7, 1});
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
  CHECK(f.metrics.older_than_fleet);
  CHECK(f.metrics.fenced_proxies == 1);
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
  CHECK(f.metrics.generation_lifts == 1);
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
