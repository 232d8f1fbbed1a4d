#include "table/table_digest.hpp"
#include "table/table_entries.hpp"

#include <catch2/catch.hpp>

namespace tg::table {
namespace {

namespace v1 = ::tenantgate::v1;

std::string route_entry(const std::string& name, const std::string& service) {
  v1::Route route;
  route.set_name(name);
  route.set_service(service);
  return encode_entry(routes, route);
}

std::string instance_entry(const std::string& id, v1::Health health = v1::HEALTH_HEALTHY) {
  v1::Instance instance;
  instance.set_id(id);
  instance.set_service("web");
  instance.set_address("127.0.0.1:9000");
  instance.set_health(health);
  return encode_entry(instances, instance);
}

TableEntries sample() {
  TableEntries t;
  v1::Tenant tenant;
  tenant.set_id("acme");
  (*tenant.mutable_labels())["b"] = "2";
  (*tenant.mutable_labels())["a"] = "1";
  t.set(tenants, "acme", encode_entry(tenants, tenant));
  v1::Service service;
  service.set_name("web");
  t.set(services, "web", encode_entry(services, service));
  t.set(instances, "i1", instance_entry("i1"));
  t.set(instances, "i2", instance_entry("i2"));
  t.set(routes, "r1", route_entry("r1", "web"));
  return t;
}

}  // namespace

TEST_CASE("table entries: the digest is the serialized table's, kept current per entry", "[table][entries]") {
  TableEntries t = sample();
  CHECK(table_digest(t.serialize()) == t.digest());
  CHECK(t.bytes() == t.serialize().size());
  t.set(routes, "r1", route_entry("r1", "api"));
  CHECK(table_digest(t.serialize()) == t.digest());
  CHECK(t.erase(instances, "i2"));
  CHECK_FALSE(t.erase(instances, "i2"));
  CHECK(table_digest(t.serialize()) == t.digest());
  v1::Table parsed;
  REQUIRE(parsed.ParseFromString(t.serialize()));
  CHECK(parsed.tenants_size() == 1);
  CHECK(parsed.instances_size() == 1);
  CHECK(parsed.routes(0).service() == "api");
}

TEST_CASE("table entries: load splits a serialized table by kind and key", "[table][entries]") {
  const TableEntries t = sample();
  TableEntries loaded;
  std::string error;
  REQUIRE(loaded.load(t.serialize(), error));
  CHECK(loaded.digest() == t.digest());
  CHECK(loaded.size(instances) == 2);
  REQUIRE(loaded.find(routes, "r1"));
  CHECK(*loaded.find(routes, "r1") == *t.find(routes, "r1"));

  // Refused: damaged bytes, a field that is no entry, a key twice, no key.
  CHECK_FALSE(loaded.load(t.serialize().substr(0, 7), error));
  CHECK(loaded.size(instances) == 0);
  CHECK_FALSE(loaded.load(std::string("\x2a\x00", 2), error));  // field 5
  CHECK(error.find("field 5") != std::string::npos);
  CHECK_FALSE(loaded.load(route_entry("r1", "a") + route_entry("r1", "b"), error));
  CHECK(error.find("appears twice") != std::string::npos);
  v1::Route nameless;
  nameless.set_service("web");
  CHECK_FALSE(loaded.load(encode_entry(routes, nameless), error));
  CHECK(error.find("route without its name") != std::string::npos);
}

TEST_CASE("table entries: deterministic encoding, maps in key order", "[table][entries]") {
  v1::Tenant a, b;
  a.set_id("t");
  (*a.mutable_labels())["x"] = "1";
  (*a.mutable_labels())["y"] = "2";
  b.set_id("t");
  (*b.mutable_labels())["y"] = "2";
  (*b.mutable_labels())["x"] = "1";
  CHECK(encode_entry(tenants, a) == encode_entry(tenants, b));
  v1::Tenant back;
  const std::string entry = encode_entry(tenants, a);
  const std::string_view body = entry_body(entry);
  REQUIRE(back.ParseFromArray(body.data(), static_cast<int>(body.size())));
  CHECK(back.labels().at("y") == "2");
}

TEST_CASE("table entries: a delta removes, then sets, and undo puts everything back", "[table][entries]") {
  TableEntries t = sample();
  const std::string before = t.serialize();
  const std::uint64_t before_digest = t.digest();

  TableEntries target = sample();
  target.erase(instances, "i2");
  target.set(routes, "r1", route_entry("r1", "api"));
  target.set(routes, "r2", route_entry("r2", "web"));

  v1::TableDelta delta;
  delta.add_removed_instances("i2");
  delta.add_removed_routes("gone-already");  // added after the base and removed again: skipped
  delta.set_upserts(*target.find(routes, "r1") + *target.find(routes, "r2"));
  EntryUndo undo;
  std::string error;
  REQUIRE(t.apply(delta, undo, error));
  CHECK(t.digest() == target.digest());
  CHECK(t.serialize() == target.serialize());

  t.undo(undo);
  CHECK(t.serialize() == before);
  CHECK(t.digest() == before_digest);

  // Malformed upserts are refused; what was applied before them is undone by the caller.
  v1::TableDelta bad;
  bad.add_removed_routes("r1");
  bad.set_upserts("\xff");
  EntryUndo undo2;
  CHECK_FALSE(t.apply(bad, undo2, error));
  t.undo(undo2);
  CHECK(t.serialize() == before);
}

TEST_CASE("table entries: a health update re-encodes the instances it names", "[table][entries]") {
  TableEntries t = sample();
  v1::HealthUpdate health;
  auto* s = health.add_instances();
  s->set_id("i1");
  s->set_health(v1::HEALTH_UNHEALTHY);
  s->set_health_reason("http 503");
  health.add_instances()->set_id("unknown");
  t.apply(health);
  v1::Instance expected;
  expected.set_id("i1");
  expected.set_service("web");
  expected.set_address("127.0.0.1:9000");
  expected.set_health(v1::HEALTH_UNHEALTHY);
  expected.set_health_reason("http 503");
  CHECK(*t.find(instances, "i1") == encode_entry(instances, expected));
  CHECK(table_digest(t.serialize()) == t.digest());
  CHECK(t.size(instances) == 2);
}

}  // namespace tg::table
