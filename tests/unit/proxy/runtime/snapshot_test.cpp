// Building the immutable Snapshot from a config (proxy/runtime/snapshot.cpp):
// what is refused, instance order, weights, indices and the admin JSON.
#include "runtime/snapshot.hpp"

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
  CHECK(s->table.match(q) == 0);
  q.path = "/x";
  CHECK(s->table.match(q) == 1);

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
  const boost::json::value doc = boost::json::parse(s->json);
  CHECK(doc.at("version").to_number<std::uint64_t>() == 3);
  CHECK(doc.at("source").as_string() == "f.yaml");
  const auto& service = doc.at("services").at(0);
  CHECK(service.at("name").as_string() == "web");
  CHECK(service.at("lb").as_string() == "weighted");
  CHECK(service.at("instances").as_array().size() == 2);
  CHECK(service.at("instances").at(0).at("id").as_string() == "b");  // as configured, not sorted
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
  const auto services = boost::json::parse(s->json).at("services").as_array();
  CHECK(boost::json::serialize(services.at(0).at("hash_key")) == R"({"header":"x-user-id"})");
  CHECK(boost::json::serialize(services.at(1).at("hash_key")) == R"({"client_ip":true})");
  CHECK_FALSE(services.at(2).as_object().contains("hash_key"));  // round_robin does not read it
}
