// A table's limits (proxy/limits/table_limits.hpp): which routes have which,
// and the shared cells taken over by the next table while the limit is the
// same.
#include "limits/table_limits.hpp"

#include "../table/config_builders.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace tg::proxy::limits;
using tg::config::RouteRateLimit;
using tg::proxy::test::make_route;
using tg::proxy::test::make_service;

namespace {

tg::config::Rate per_second(std::uint64_t count) { return {count, std::chrono::seconds(1)}; }

// Tenants acme (rate 50/s, max_concurrent 4) and beta (no limits); services
// a (acme), b (beta), c (no tenant); routes plain -> b, acme -> a, limited -> c
// with a rate_limit.
tg::config::Config table() {
  tg::config::Config config;
  tg::config::Tenant acme;
  acme.id = "acme";
  acme.limits.rate = per_second(50);
  acme.limits.max_concurrent = 4;
  config.tenants.push_back(acme);
  tg::config::Tenant beta;
  beta.id = "beta";
  config.tenants.push_back(beta);
  for (const char* name : {"a", "b", "c"}) {
    auto service = make_service(name, tg::config::LbPolicy::round_robin, {{"i", 1, "127.0.0.1", 9}});
    service.instances[0].id = std::string(name) + "-i";
    config.services.push_back(std::move(service));
  }
  config.services[0].tenant = "acme";
  config.services[1].tenant = "beta";
  config.routes.push_back(make_route("plain", "b"));
  config.routes.push_back(make_route("acme", "a"));
  auto limited = make_route("limited", "c");
  limited.rate_limit = RouteRateLimit{per_second(100), 20, RouteRateLimit::By::route, "", false};
  config.routes.push_back(std::move(limited));
  return config;
}

}  // namespace

TEST_CASE("table limits: none without a rate_limit or a limited tenant", "[proxy][limits][table]") {
  tg::config::Config config = table();
  config.tenants[0].limits = {};
  config.routes[2].rate_limit.reset();
  CHECK(TableLimits::build(config, nullptr) == nullptr);
}

TEST_CASE("table limits: each route gets its tenant's limits and its own rate_limit", "[proxy][limits][table]") {
  const auto limits = TableLimits::build(table(), nullptr);
  REQUIRE(limits);
  CHECK(limits->slot(0) == TableLimits::kUnlimited);  // beta has no limits
  REQUIRE(limits->slot(1) != TableLimits::kUnlimited);
  const RouteLimitDef& acme = limits->limited()[static_cast<std::size_t>(limits->slot(1))];
  CHECK(acme.tenant == "acme");
  REQUIRE(acme.tenant_limits >= 0);
  const TenantLimitDef& tenant = limits->tenants()[static_cast<std::size_t>(acme.tenant_limits)];
  CHECK(tenant.max_concurrent == 4);
  REQUIRE(tenant.rate);
  CHECK(tenant.rate->policy.quota == 50);
  CHECK(tenant.in_flight);
  CHECK_FALSE(acme.fixed);
  const RouteLimitDef& limited = limits->limited()[static_cast<std::size_t>(limits->slot(2))];
  CHECK(limited.tenant_limits == -1);
  REQUIRE(limited.fixed);
  CHECK(limited.fixed->shape.interval_ns == 10'000'000);
  CHECK(limited.fixed->policy.quota == 100);
  CHECK(limited.fixed->policy.window_s == 1);
  CHECK(limits->slot(7) == TableLimits::kUnlimited);  // out of range
}

TEST_CASE("table limits: by tenant on a service without tenant is one bucket for the route",
          "[proxy][limits][table]") {
  tg::config::Config config = table();
  config.routes[2].rate_limit->by = RouteRateLimit::By::tenant;
  const auto limits = TableLimits::build(config, nullptr);
  const RouteLimitDef& limited = limits->limited()[static_cast<std::size_t>(limits->slot(2))];
  REQUIRE(limited.fixed);
  CHECK(limited.tenant.empty());
}

TEST_CASE("table limits: keyed limits get a seed of their own", "[proxy][limits][table]") {
  tg::config::Config config = table();
  config.routes[2].rate_limit->by = RouteRateLimit::By::header;
  config.routes[2].rate_limit->header = "x-user";
  auto second = make_route("second", "c", "/second");
  second.rate_limit = RouteRateLimit{per_second(100), 20, RouteRateLimit::By::client_ip, "", false};
  config.routes.push_back(second);
  const auto limits = TableLimits::build(config, nullptr);
  CHECK(limits->has_keyed());
  const RouteLimitDef& by_header = limits->limited()[static_cast<std::size_t>(limits->slot(2))];
  const RouteLimitDef& by_ip = limits->limited()[static_cast<std::size_t>(limits->slot(3))];
  REQUIRE(by_header.keyed);
  REQUIRE(by_ip.keyed);
  CHECK(by_header.keyed->header == "x-user");
  CHECK(by_header.keyed->seed != by_ip.keyed->seed);
  // The same limit in the next table keeps its seed (its keys' buckets).
  const auto next = TableLimits::build(config, limits.get());
  CHECK(next->limited()[static_cast<std::size_t>(next->slot(2))].keyed->seed == by_header.keyed->seed);
}

TEST_CASE("table limits: the next table takes over unchanged buckets and every tenant's in-flight count",
          "[proxy][limits][table]") {
  tg::config::Config config = table();
  const auto first = TableLimits::build(config, nullptr);
  const auto bucket_of = [](const TableLimits& limits, std::int32_t route) {
    return limits.limited()[static_cast<std::size_t>(limits.slot(route))].fixed->bucket;
  };
  const auto tenant_of = [](const TableLimits& limits, std::int32_t route) -> const TenantLimitDef& {
    const RouteLimitDef& def = limits.limited()[static_cast<std::size_t>(limits.slot(route))];
    return limits.tenants()[static_cast<std::size_t>(def.tenant_limits)];
  };

  SECTION("same limits: same cells") {
    // A route added in front moves the others' positions: cells follow names.
    config.routes.insert(config.routes.begin(), make_route("new", "b", "/new"));
    const auto second = TableLimits::build(config, first.get());
    CHECK(bucket_of(*second, 3) == bucket_of(*first, 2));
    CHECK(tenant_of(*second, 2).rate->bucket == tenant_of(*first, 1).rate->bucket);
    CHECK(tenant_of(*second, 2).in_flight == tenant_of(*first, 1).in_flight);
  }
  SECTION("a changed rate or burst: a new bucket; a changed max_concurrent: the same count") {
    config.routes[2].rate_limit->burst = 30;
    config.tenants[0].limits.rate = per_second(60);
    config.tenants[0].limits.max_concurrent = 8;
    const auto second = TableLimits::build(config, first.get());
    CHECK(bucket_of(*second, 2) != bucket_of(*first, 2));
    CHECK(tenant_of(*second, 1).rate->bucket != tenant_of(*first, 1).rate->bucket);
    CHECK(tenant_of(*second, 1).in_flight == tenant_of(*first, 1).in_flight);
    CHECK(tenant_of(*second, 1).max_concurrent == 8);
  }
  SECTION("shadow on or off keeps the bucket") {
    config.routes[2].rate_limit->shadow = true;
    const auto second = TableLimits::build(config, first.get());
    CHECK(bucket_of(*second, 2) == bucket_of(*first, 2));
    CHECK(second->limited()[static_cast<std::size_t>(second->slot(2))].fixed->shadow);
  }
  SECTION("a renamed route starts afresh") {
    config.routes[2].name = "renamed";
    const auto second = TableLimits::build(config, first.get());
    CHECK(bucket_of(*second, 2) != bucket_of(*first, 2));
  }
}

TEST_CASE("table limits: two tables in a row without the previous start afresh", "[proxy][limits][table]") {
  const auto first = TableLimits::build(table(), nullptr);
  const auto second = TableLimits::build(table(), nullptr);
  CHECK(first->limited()[static_cast<std::size_t>(first->slot(2))].fixed->bucket !=
        second->limited()[static_cast<std::size_t>(second->slot(2))].fixed->bucket);
}

TEST_CASE("table limits: /config's view keeps the table's terms and the effective burst", "[proxy][limits][table]") {
  const auto table_limits = TableLimits::build(table(), nullptr);
  REQUIRE(table_limits);
  const RouteLimitDef& limited = table_limits->limited()[static_cast<std::size_t>(table_limits->slot(2))];
  REQUIRE(limited.source);
  CHECK(boost::json::serialize(describe(*limited.source)) == R"({"rate":"100/s","burst":20,"by":"route"})");
  // The acme route: limited by its tenant only.
  CHECK_FALSE(table_limits->limited()[static_cast<std::size_t>(table_limits->slot(1))].source);
  REQUIRE(table_limits->tenants().size() == 1);
  CHECK(boost::json::serialize(describe(table_limits->tenants()[0].source)) ==
        R"({"rate":"50/s","burst":50,"max_concurrent":4})");

  RouteRateLimit keyed{{3, std::chrono::minutes(1)}, 0, RouteRateLimit::By::header, "x-client", true};
  CHECK(boost::json::serialize(describe(keyed)) == R"({"rate":"3/m","burst":3,"by":"header:x-client","shadow":true})");
  tg::config::TenantLimits shadow_only;
  shadow_only.max_concurrent = 7;
  shadow_only.shadow = true;
  CHECK(boost::json::serialize(describe(shadow_only)) == R"({"max_concurrent":7,"shadow":true})");
}
