// Building the immutable Snapshot from a config (proxy/table/snapshot.cpp):
// what is refused, instance order, weights, indices and the admin JSON.
#include "table/snapshot.hpp"
#include "table/worker_table.hpp"

#include "config_builders.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

using tg::config::LbPolicy;
using tg::proxy::Snapshot;
using tg::proxy::test::InstanceSpec;
using tg::proxy::test::make_route;
using tg::proxy::test::make_service;

TEST_CASE("sticky_link is refused by name, with the reason", "[proxy][runtime][snapshot]") {
  tg::config::Config config;
  config.services.push_back(make_service("ok", LbPolicy::round_robin, {{"a"}}));
  config.services.push_back(make_service("linked", LbPolicy::sticky_link, {{"b"}}));
  std::string error;
  CHECK(Snapshot::build(config, 1, "", error) == nullptr);
  CHECK(error.starts_with("service linked: lb policy 'sticky_link' is not supported by tg-proxy: it needs the "
                          "control plane's link assignment (Discovery.AssignLink)"));
}

TEST_CASE("every policy but sticky_link builds", "[proxy][runtime][snapshot]") {
  for (LbPolicy policy : tg::config::all_lb_policies) {
    const std::string name(tg::config::to_string(policy));
    INFO(name);
    tg::config::Config config;
    config.services.push_back(make_service("s", policy, {{"a"}, {"b", 2}}));
    std::string error;
    auto snapshot = Snapshot::build(config, 1, "", error);
    if (policy != LbPolicy::sticky_link) {
      REQUIRE(snapshot != nullptr);
      CHECK(error.empty());
      const tg::proxy::ServiceDef& svc = snapshot->services[0];
      CHECK_FALSE(svc.equal_weights);
      // The structure the policy reads is built here, off the workers; the
      // others stay empty.
      CHECK(svc.ring.empty() == (policy != LbPolicy::ring_hash && policy != LbPolicy::ip_hash));
      CHECK(svc.maglev.empty() == (policy != LbPolicy::maglev));
    } else {
      CHECK(snapshot == nullptr);
      CHECK(error.find("'" + name + "'") != std::string::npos);
    }
  }
}

TEST_CASE("instances are ordered by id with weights and prefix sums", "[proxy][runtime][snapshot]") {
  tg::config::Config config;
  config.services.push_back(make_service("web", LbPolicy::weighted,
                                         {{"c", 3, "10.0.0.3", 83}, {"a", 1, "10.0.0.1", 81}, {"b", 0, "::1", 82}}));
  config.services.push_back(make_service("api", LbPolicy::round_robin, {{"z", 7}, {"y", 2}}));
  std::string error;
  auto s = Snapshot::build(config, 42, "tables/main.yaml", error);
  REQUIRE(s != nullptr);
  CHECK(error.empty());
  CHECK(s->version == 42);
  CHECK(s->source == "tables/main.yaml");

  REQUIRE(s->services.size() == 2);
  REQUIRE(s->instances.size() == 5);
  const auto& web = s->services[0];
  CHECK(web.name == "web");
  CHECK(web.policy == LbPolicy::weighted);
  CHECK(web.instances == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(web.cumulative_weight == std::vector<std::uint64_t>{1, 2, 5});  // weight 0 counts as 1
  CHECK(s->instances[0].id == "a");
  CHECK(s->instances[1].id == "b");
  CHECK(s->instances[2].id == "c");
  CHECK(s->instances[0].weight == 1);
  CHECK(s->instances[1].weight == 1);
  CHECK(s->instances[2].weight == 3);
  CHECK(s->instances[0].endpoint.address().to_string() == "10.0.0.1");
  CHECK(s->instances[0].endpoint.port() == 81);
  CHECK(s->instances[1].endpoint.address().to_string() == "::1");
  CHECK(s->instances[1].endpoint.port() == 82);
  CHECK(s->instances[1].address == "[::1]:82");
  CHECK(s->instances[2].service == 0);

  const auto& api = s->services[1];
  CHECK(api.instances == std::vector<std::uint32_t>{3, 4});
  CHECK(api.cumulative_weight == std::vector<std::uint64_t>{2, 9});
  CHECK(s->instances[3].id == "y");
  CHECK(s->instances[4].id == "z");
  CHECK(s->instances[3].service == 1);
}

TEST_CASE("an unresolvable host gives an error naming the instance and host", "[proxy][runtime][snapshot]") {
  tg::config::Config config;
  config.services.push_back(make_service("s", LbPolicy::round_robin, {{"good"}, {"bad", 1, "nosuch.invalid", 80}}));
  std::string error;
  CHECK(Snapshot::build(config, 1, "", error) == nullptr);
  CHECK(error.starts_with("instance bad: cannot resolve 'nosuch.invalid': "));
}

TEST_CASE("routes refer to services by index, an unknown service is an error", "[proxy][runtime][snapshot]") {
  tg::config::Config config;
  config.services.push_back(make_service("one", LbPolicy::round_robin, {{"a"}}));
  config.services.push_back(make_service("two", LbPolicy::round_robin, {{"b"}}));
  config.routes.push_back(make_route("r-two", "two", "/two", "/two"));
  config.routes.push_back(make_route("r-one", "one"));
  std::string error;
  auto s = Snapshot::build(config, 1, "", error);
  REQUIRE(s != nullptr);
  REQUIRE(s->routes.size() == 2);
  CHECK(s->routes[0].name == "r-two");
  CHECK(s->routes[0].service == 1);
  CHECK(s->routes[0].strip_prefix == "/two");
  CHECK(s->routes[1].service == 0);

  tg::proxy::routing::RouteQuery q;
  q.host = "h";
  q.path = "/two/x";
  q.method = "GET";
  CHECK(s->table->match(q) == 0);
  q.path = "/x";
  CHECK(s->table->match(q) == 1);

  config.routes.push_back(make_route("r-bad", "three"));
  CHECK(Snapshot::build(config, 2, "", error) == nullptr);
  CHECK(error == "route r-bad: unknown service three");
}

TEST_CASE("the admin JSON describes the table", "[proxy][runtime][snapshot]") {
  tg::config::Config config;
  config.services.push_back(make_service("web", LbPolicy::weighted, {{"b", 2}, {"a", 1}}));
  config.routes.push_back(make_route("all", "web", "/", "/strip"));
  std::string error;
  auto s = Snapshot::build(config, 3, "f.yaml", error);
  REQUIRE(s != nullptr);
  const boost::json::value doc = boost::json::parse(s->to_json());
  CHECK(doc.at("version").to_number<std::uint64_t>() == 3);
  CHECK(doc.at("source").as_string() == "f.yaml");
  const auto& service = doc.at("services").at(0);
  CHECK(service.at("name").as_string() == "web");
  CHECK(service.at("lb").as_string() == "weighted");
  CHECK(service.at("instances").as_array().size() == 2);
  CHECK(service.at("instances").at(0).at("id").as_string() == "a");  // in id order, the order policies use
  CHECK(service.at("instances").at(0).at("pickable").as_bool());
  const auto& route = doc.at("routes").at(0);
  CHECK(route.at("service").as_string() == "web");
  CHECK(route.at("match").at("path_prefix").as_string() == "/");
  CHECK(route.at("rewrite").at("strip_prefix").as_string() == "/strip");
}

TEST_CASE("/config shows the hash key of the services that read it", "[proxy][runtime][snapshot]") {
  tg::config::Config config;
  config.services.push_back(make_service("ring", LbPolicy::ring_hash, {{"a"}}));
  config.services.back().hash_key = {tg::config::HashKey::Kind::header, "x-user-id"};
  config.services.push_back(make_service("mag", LbPolicy::maglev, {{"b"}}));
  config.services.push_back(make_service("rr", LbPolicy::round_robin, {{"c"}}));
  config.services.back().hash_key = {tg::config::HashKey::Kind::cookie, "sid"};
  std::string error;
  auto s = Snapshot::build(config, 1, "", error);
  REQUIRE(s != nullptr);
  const auto services = boost::json::parse(s->to_json()).at("services").as_array();
  CHECK(boost::json::serialize(services.at(0).at("hash_key")) == R"({"header":"x-user-id"})");
  CHECK(boost::json::serialize(services.at(1).at("hash_key")) == R"({"client_ip":true})");
  CHECK_FALSE(services.at(2).as_object().contains("hash_key"));  // round_robin does not read it
}

namespace {

using tg::config::AdminState;
using tg::config::Health;

std::vector<std::string> pick_ids(const Snapshot& s, std::size_t service) {
  std::vector<std::string> ids;
  for (std::uint32_t index : s.services[service].instances) ids.push_back(s.instances[index].id);
  return ids;
}

tg::config::Config four_instances(LbPolicy policy = LbPolicy::round_robin) {
  tg::config::Config config;
  config.services.push_back(make_service("web", policy, {{"a"}, {"b", 2}, {"c"}, {"d"}}));
  config.routes.push_back(make_route("all", "web"));
  return config;
}

}  // namespace

TEST_CASE("draining, disabled and unhealthy instances are not picked", "[proxy][runtime][snapshot]") {
  auto config = four_instances();
  auto& list = config.services[0].instances;  // as given: a b c d
  list[0].admin_state = AdminState::draining;
  list[1].health = Health::unhealthy;
  list[2].admin_state = AdminState::disabled;
  std::string error;
  auto s = Snapshot::build(config, 1, "", error);
  REQUIRE(s != nullptr);
  CHECK(pick_ids(*s, 0) == std::vector<std::string>{"d"});
  CHECK(s->services[0].members.size() == 4);  // still in the table: per-instance state is kept
  CHECK(s->services[0].cumulative_weight == std::vector<std::uint64_t>{1});
  CHECK_FALSE(s->services[0].panic);
  const auto doc = boost::json::parse(s->to_json());
  const auto& instances = doc.at("services").at(0).at("instances").as_array();
  CHECK(instances.at(0).at("admin_state").as_string() == "draining");
  CHECK(instances.at(1).at("health").as_string() == "unhealthy");
  CHECK_FALSE(instances.at(1).at("pickable").as_bool());
  CHECK(instances.at(3).at("pickable").as_bool());
}

TEST_CASE("fewer than half of the active instances healthy: panic, every active one is picked",
          "[proxy][runtime][snapshot]") {
  auto config = four_instances();
  auto& list = config.services[0].instances;
  list[0].health = Health::unhealthy;
  list[1].health = Health::unhealthy;
  std::string error;
  auto half = Snapshot::build(config, 1, "", error);  // 2 of 4 healthy: not panic
  REQUIRE(half != nullptr);
  CHECK(pick_ids(*half, 0) == std::vector<std::string>{"c", "d"});
  CHECK_FALSE(half->services[0].panic);

  list[2].health = Health::unhealthy;
  list[3].admin_state = AdminState::disabled;  // never picked, panic or not
  auto panic = Snapshot::build(config, 2, "", error);
  REQUIRE(panic != nullptr);
  CHECK(panic->services[0].panic);
  CHECK(pick_ids(*panic, 0) == std::vector<std::string>{"a", "b", "c"});
  CHECK(boost::json::parse(panic->to_json()).at("services").at(0).at("panic").as_bool());
}

TEST_CASE("with_states changes only the services of the changed instances", "[proxy][runtime][snapshot]") {
  auto config = four_instances(LbPolicy::maglev);
  config.services.push_back(make_service("api", LbPolicy::ring_hash, {{"x"}, {"y"}}));
  std::string error;
  auto base = Snapshot::build(config, 1, "", error, {7, 3});
  REQUIRE(base != nullptr);
  CHECK(base->control == tg::TableVersion{7, 3});

  std::vector<tg::proxy::InstanceStateChange> changes{
      {"b", AdminState::active, Health::unhealthy, "HTTP 500"},
      {"not-here", AdminState::disabled, Health::unhealthy, ""},  // unknown ids are ignored
  };
  auto next = Snapshot::with_states(*base, changes, 2, {7, 4});
  CHECK(next->version == 2);
  CHECK(next->control == tg::TableVersion{7, 4});
  CHECK(pick_ids(*next, 0) == std::vector<std::string>{"a", "c", "d"});
  CHECK(next->instances[next->services[0].members[1]].health_reason == "HTTP 500");
  // The Maglev table was rebuilt over the new pick set; the other service is untouched.
  CHECK(next->services[0].maglev.find(12345) < 3);
  CHECK(pick_ids(*next, 1) == pick_ids(*base, 1));
  CHECK(pick_ids(*base, 0).size() == 4);  // the base snapshot is unchanged

  auto back = Snapshot::with_states(*next, {{"b", AdminState::active, Health::healthy, ""}}, 3, {7, 5});
  CHECK(pick_ids(*back, 0) == pick_ids(*base, 0));
  // Same pick set, same Maglev table as a fresh build: every proxy agrees.
  for (std::uint64_t key = 0; key < 1000; ++key)
    CHECK(back->services[0].maglev.find(key * 7919) == base->services[0].maglev.find(key * 7919));
}

TEST_CASE("a health change keeps each worker's per-instance state, without remapping by id",
          "[proxy][runtime][snapshot]") {
  auto config = four_instances();
  std::string error;
  auto base = Snapshot::build(config, 1, "", error);
  REQUIRE(base != nullptr);
  auto first = tg::proxy::WorkerTable::build(base, nullptr);
  first->instances[1]->in_flight = 3;

  auto next = Snapshot::with_states(*base, {{"b", AdminState::active, Health::unhealthy, ""}}, 2, {});
  CHECK(next->layout == base->layout);
  CHECK(next->table == base->table);  // the route index is shared, not copied
  auto second = tg::proxy::WorkerTable::build(next, first.get());
  REQUIRE(second->instances.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(second->instances[i].get() == first->instances[i].get());
  CHECK(second->instances[1]->in_flight == 3);

  // A new build is a new layout: state is carried over by id.
  auto rebuilt = Snapshot::build(config, 3, "", error);
  CHECK(rebuilt->layout != base->layout);
  auto third = tg::proxy::WorkerTable::build(rebuilt, second.get());
  CHECK(third->instances[1]->in_flight == 3);
}
