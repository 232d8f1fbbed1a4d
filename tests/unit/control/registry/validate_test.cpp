#include "registry/validate.hpp"

#include <catch2/catch.hpp>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;

std::string message(const Status& status) {
  CHECK(status.code == Code::invalid_argument);
  return status.message;
}

TEST_CASE("validate: tenant ids follow registry.proto", "[validate]") {
  v1::Tenant tenant;
  for (const char* good : {"acme", "a", "0-team_x.y"}) {
    tenant.set_id(good);
    CHECK(normalise_tenant(tenant).ok());
  }
  tenant.set_id("");
  CHECK(message(normalise_tenant(tenant)) == "tenant.id: required");
  tenant.set_id("Acme");
  CHECK(message(normalise_tenant(tenant)).rfind("tenant.id: ", 0) == 0);
  tenant.set_id("-acme");
  CHECK_FALSE(normalise_tenant(tenant).ok());
  tenant.set_id(std::string(64, 'a'));
  CHECK_FALSE(normalise_tenant(tenant).ok());
  tenant.set_id("acme");
  (*tenant.mutable_labels())["bad key"] = "x";
  CHECK(message(normalise_tenant(tenant)).rfind("tenant.labels: ", 0) == 0);
}

TEST_CASE("validate: routes are normalised like the YAML loader does", "[validate]") {
  v1::Route route;
  route.set_name("r");
  route.set_service("s");
  route.mutable_match()->set_host("API.Example.COM");
  route.mutable_match()->set_method("get");
  route.mutable_match()->mutable_header()->set_name("X-Tenant-ID");
  route.mutable_match()->mutable_header()->set_value("acme");
  route.mutable_rewrite();  // empty rewrite = none
  REQUIRE(normalise_route(route).ok());
  CHECK(route.match().host() == "api.example.com");
  CHECK(route.match().path_prefix() == "/");  // neither path: prefix "/"
  CHECK(route.match().method() == "GET");
  CHECK(route.match().header().name() == "x-tenant-id");
  CHECK_FALSE(route.has_rewrite());

  route.mutable_match()->set_host("*.example.com");
  CHECK(normalise_route(route).ok());

  auto bad = [&](auto edit, const std::string& field) {
    v1::Route copy = route;
    edit(copy);
    const Status status = normalise_route(copy);
    CHECK(status.code == Code::invalid_argument);
    CHECK(status.message.rfind(field + ": ", 0) == 0);
  };
  bad([](v1::Route& r) { r.mutable_match()->set_host("bad host"); }, "route.match.host");
  bad([](v1::Route& r) { r.mutable_match()->set_host("a.com:80"); }, "route.match.host");
  bad([](v1::Route& r) { r.mutable_match()->set_path_exact("/x"); }, "route.match");  // prefix "/" already set
  bad([](v1::Route& r) { r.mutable_match()->set_path_prefix("nope"); }, "route.match.path_prefix");
  bad([](v1::Route& r) { r.mutable_match()->set_method("GE T"); }, "route.match.method");
  bad([](v1::Route& r) { r.mutable_match()->mutable_header()->set_name("bad:name"); }, "route.match.header.name");
  bad([](v1::Route& r) { r.mutable_match()->mutable_header()->set_name(""); }, "route.match.header.name");
  bad([](v1::Route& r) { r.mutable_match()->mutable_header()->set_value(" padded"); }, "route.match.header.value");
  bad([](v1::Route& r) { r.mutable_rewrite()->set_strip_prefix("api"); }, "route.rewrite.strip_prefix");
  bad([](v1::Route& r) { r.set_service(""); }, "route.service");
  bad([](v1::Route& r) { r.set_name("has space"); }, "route.name");
}

TEST_CASE("validate: services get the YAML defaults and ranges", "[validate]") {
  v1::Service service;
  service.set_name("api");
  REQUIRE(normalise_service(service).ok());
  CHECK(service.lb_policy() == v1::LB_POLICY_ROUND_ROBIN);
  CHECK(service.hash_key().kind() == v1::HashKey::KIND_CLIENT_IP);
  CHECK(service.retry().attempts() == 2);
  CHECK(service.retry().on_size() == 2);  // connect_failure, reset
  CHECK(service.timeouts().connect_ms() == 1000);
  CHECK(service.timeouts().response_headers_ms() == 30000);
  CHECK(service.limits().max_connections_per_instance() == 1024);
  CHECK(service.limits().max_body() == 10u * 1024 * 1024);
  CHECK(service.limits().pending_timeout_ms() == 1000);
  CHECK_FALSE(service.has_health_check());
  v1::Service again = service;
  REQUIRE(normalise_service(again).ok());  // idempotent
  CHECK(again.SerializeAsString() == service.SerializeAsString());

  auto bad = [&](auto edit, const std::string& field) {
    v1::Service copy = service;
    edit(copy);
    const Status status = normalise_service(copy);
    CHECK(status.code == Code::invalid_argument);
    CHECK(status.message.rfind(field + ": ", 0) == 0);
  };
  bad([](v1::Service& s) { s.mutable_retry()->set_attempts(11); }, "service.retry.attempts");
  bad([](v1::Service& s) { s.mutable_retry()->add_on(v1::RETRY_ON_RESET); }, "service.retry.on[2]");
  bad([](v1::Service& s) { s.mutable_hash_key()->set_kind(v1::HashKey::KIND_HEADER); }, "service.hash_key.name");
  bad([](v1::Service& s) { s.mutable_health_check()->set_path("x"); }, "service.health_check.path");
  bad([](v1::Service& s) { s.mutable_outlier()->set_max_ejection_percent(101); }, "service.outlier.max_ejection_percent");
  bad([](v1::Service& s) {
        s.mutable_outlier()->set_base_ejection_ms(5000);
        s.mutable_outlier()->set_max_ejection_ms(1000);
      },
      "service.outlier.max_ejection_ms");
  bad([](v1::Service& s) { s.mutable_retry()->set_min_retries_per_second(2'000'000); },
      "service.retry.min_retries_per_second");
  bad([](v1::Service& s) { s.set_lb_policy(static_cast<v1::LbPolicy>(99)); }, "service.lb_policy");
  bad([](v1::Service& s) { s.mutable_timeouts()->set_idle_ms(400ull * 24 * 3600 * 1000); }, "service.timeouts.idle_ms");
  bad([](v1::Service& s) { s.mutable_limits()->set_pending_timeout_ms(400ull * 24 * 3600 * 1000); },
      "service.limits.pending_timeout_ms");

  v1::Service checked = service;
  checked.mutable_health_check()->set_type(v1::HealthCheck::TYPE_HTTP);
  REQUIRE(normalise_service(checked).ok());
  CHECK(checked.health_check().path() == "/healthz");
  CHECK(checked.health_check().interval_ms() == 5000);
  CHECK(checked.health_check().unhealthy_threshold() == 3);
}

TEST_CASE("validate: instances", "[validate]") {
  v1::Instance instance;
  instance.set_service("api");
  instance.set_address("10.0.0.1:8080");
  REQUIRE(normalise_instance(instance).ok());
  CHECK(instance.id() == "api/10.0.0.1:8080");
  CHECK(instance.weight() == 1);
  CHECK(instance.admin_state() == v1::ADMIN_STATE_ACTIVE);

  v1::Instance copy = instance;
  copy.set_address("10.0.0.1");
  CHECK(message(normalise_instance(copy)).rfind("instance.address: bad address", 0) == 0);
  copy = instance;
  copy.set_weight(10001);
  CHECK(message(normalise_instance(copy)).rfind("instance.weight: ", 0) == 0);
  copy = instance;
  copy.clear_service();
  CHECK(message(normalise_instance(copy)) == "instance.service: required");
}

}  // namespace
}  // namespace tg::control
