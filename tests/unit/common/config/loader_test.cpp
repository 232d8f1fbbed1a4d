// What a good file loads as: the docs/configuration.md example, defaults, normalisation,
// and load_file (common/config/loader.cpp and the section readers).
#include "load_helpers.hpp"

#include <fstream>
#include <string>

using namespace std::chrono_literals;
using namespace tg::config;
using tg::config::test::errors_of;
using tg::config::test::load_ok;
using Strings = std::vector<std::string>;

namespace {

// docs/configuration.md's example, verbatim except that the control-only sections are empty lists.
constexpr std::string_view design_example = R"(tenants:
  - id: acme
services:
  - name: acme-sim
    tenant: acme
    lb: { policy: least_request }     # round_robin | weighted | least_request | ip_hash | ring_hash | maglev | peak_ewma | sticky_link
    hash_key: { header: X-User-ID }   # for ring_hash/maglev/sticky_link: header | cookie | client_ip (fallback: client_ip)
    health_check: { type: http, path: /healthz, interval: 5s, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 3 }
    outlier: { consecutive_failures: 5, base_ejection: 10s, max_ejection_percent: 10, half_open_probes: 1 }
    retry: { attempts: 2, on: [connect_failure, reset, timeout, "503"], per_try_timeout: 1s, budget_percent: 20 }
    timeouts: { connect: 1s, response_headers: 30s, idle: 60s }
    limits: { max_connections_per_instance: 1024, max_pending_per_instance: 256, pending_timeout: 1s, max_body: 10MiB, buffer_body: 32KiB }
    instances:
      - { address: 127.0.0.1:9001 }
      - { id: acme-b, address: 127.0.0.1:9002, weight: 3 }
routes:
  - name: acme-host
    match: { host: acme.example.com, path_prefix: / }
    service: acme-sim
  - name: acme-header
    match: { header: { name: X-Tenant-ID, value: acme }, path_prefix: /api/ }
    service: acme-sim
    rewrite: { strip_prefix: /api }
alert_rules: []     # control plane only
notifiers: []       # control plane only
)";

void check_design_example(const Config& config, const std::string& file) {
  REQUIRE(config.tenants.size() == 1);
  CHECK(config.tenants[0].id == "acme");
  CHECK(config.tenants[0].location.file == file);
  CHECK(config.tenants[0].location.line == 2);
  CHECK(config.tenants[0].location.column == 5);

  REQUIRE(config.services.size() == 1);
  const Service& service = config.services[0];
  CHECK(service.name == "acme-sim");
  CHECK(service.tenant == "acme");
  CHECK(service.lb == LbPolicy::least_request);
  CHECK(service.hash_key.kind == HashKey::Kind::header);
  CHECK(service.hash_key.name == "x-user-id");
  REQUIRE(service.health_check.has_value());
  CHECK(service.health_check->type == HealthCheck::Type::http);
  CHECK(service.health_check->path == "/healthz");
  CHECK(service.health_check->interval == 5s);
  CHECK(service.health_check->timeout == 1s);
  CHECK(service.health_check->healthy_threshold == 2);
  CHECK(service.health_check->unhealthy_threshold == 3);
  CHECK(service.health_check->expect == std::vector<StatusRange>{{200, 399}});  // the default
  CHECK(service.health_check->host.empty());
  REQUIRE(service.outlier.has_value());
  CHECK(service.outlier->consecutive_failures == 5);
  CHECK(service.outlier->base_ejection == 10s);
  CHECK(service.outlier->max_ejection_percent == 10);
  CHECK(service.outlier->half_open_probes == 1);
  CHECK(service.retry.attempts == 2);
  CHECK(service.retry.on == (retry_connect_failure | retry_reset | retry_timeout | retry_503));
  CHECK(service.retry.per_try_timeout == 1s);
  CHECK(service.retry.budget_percent == 20);
  CHECK(service.limits.buffer_body == 32 * 1024);
  CHECK(service.timeouts.connect == 1s);
  CHECK(service.timeouts.response_headers == 30s);
  CHECK(service.timeouts.idle == 60s);
  CHECK(service.limits.max_connections_per_instance == 1024);
  CHECK(service.limits.max_pending_per_instance == 256);
  CHECK(service.limits.pending_timeout == 1s);
  CHECK(service.limits.max_body == 10 * 1024 * 1024);
  CHECK(service.location.line == 4);

  REQUIRE(service.instances.size() == 2);
  CHECK(service.instances[0].id == "acme-sim/127.0.0.1:9001");
  CHECK(service.instances[0].address == "127.0.0.1:9001");
  CHECK(service.instances[0].host == "127.0.0.1");
  CHECK(service.instances[0].port == 9001);
  CHECK(service.instances[0].weight == 1);
  CHECK(service.instances[0].location.line == 14);
  CHECK(service.instances[0].location.column == 9);
  CHECK(service.instances[1].id == "acme-b");
  CHECK(service.instances[1].port == 9002);
  CHECK(service.instances[1].weight == 3);

  REQUIRE(config.routes.size() == 2);
  const Route& by_host = config.routes[0];
  CHECK(by_host.name == "acme-host");
  CHECK(by_host.match.host == "acme.example.com");
  CHECK(by_host.match.path_prefix == "/");
  CHECK(by_host.match.path_exact.empty());
  CHECK(by_host.match.method.empty());
  CHECK_FALSE(by_host.match.header.has_value());
  CHECK(by_host.service == "acme-sim");
  CHECK(by_host.rewrite.strip_prefix.empty());
  const Route& by_header = config.routes[1];
  CHECK(by_header.name == "acme-header");
  CHECK(by_header.match.host.empty());
  REQUIRE(by_header.match.header.has_value());
  CHECK(by_header.match.header->name == "x-tenant-id");
  CHECK(by_header.match.header->value == "acme");
  CHECK(by_header.match.path_prefix == "/api/");
  CHECK(by_header.rewrite.strip_prefix == "/api");
  CHECK(by_header.location.line == 20);
}

}  // namespace

TEST_CASE("the configuration.md example loads for both readers", "[config][loader]") {
  check_design_example(load_ok(design_example), "t.yaml");
  check_design_example(load_ok(design_example, Reader::control), "t.yaml");
}

TEST_CASE("the configuration.md example loads from a file", "[config][loader]") {
  const std::string path = std::string(TG_TEST_DATA_DIR) + "/config/design_example.yaml";
  const LoadResult result = load_file(path);
  INFO(result.error_text());
  REQUIRE(result.ok());
  check_design_example(*result.config, path);
}

TEST_CASE("the proxy accepts the control-only sections whatever they hold", "[config][loader]") {
  const char* yaml =
      "alert_rules:\n"
      "  - { name: high-5xx, expr: whatever, for: 5m }\n"
      "notifiers: { anything: [1, 2] }\n";
  load_ok(yaml, Reader::proxy);
  CHECK_FALSE(tg::config::test::load(yaml, Reader::control).ok());  // tg-control reads them (alert_section_test.cpp)
  load_ok("alert_rules: [...]\nnotifiers: [...]\n");  // as the full schema writes them
}

TEST_CASE("load_file names a file it cannot read", "[config][loader]") {
  const LoadResult missing = load_file("/nonexistent/tenantgate.yaml");
  CHECK(missing.error_text() == "/nonexistent/tenantgate.yaml: cannot read the file: No such file or directory");
  CHECK_FALSE(missing.config.has_value());
  const LoadResult directory = load_file(TG_TEST_DATA_DIR);
  CHECK(directory.error_text() == std::string(TG_TEST_DATA_DIR) + ": cannot read the file: Is a directory");
}

TEST_CASE("minimal objects get the model's defaults", "[config][loader][defaults]") {
  const Config config = load_ok(
      "services:\n"
      "  - name: s\n"
      "    instances:\n"
      "      - address: backend.local:8080\n"
      "routes:\n"
      "  - name: r\n"
      "    service: s\n");
  REQUIRE(config.services.size() == 1);
  const Service& service = config.services[0];
  const Service defaults;
  CHECK(service.tenant.empty());
  CHECK(service.lb == LbPolicy::round_robin);
  CHECK(service.hash_key.kind == HashKey::Kind::client_ip);
  CHECK(service.hash_key.name.empty());
  CHECK_FALSE(service.health_check.has_value());
  CHECK_FALSE(service.outlier.has_value());
  CHECK(service.retry.attempts == 2);
  CHECK(service.retry.on == (retry_connect_failure | retry_reset));
  CHECK(service.retry.per_try_timeout == 0ms);
  CHECK(service.retry.budget_percent == 20);
  CHECK(service.limits.buffer_body == 64 * 1024);
  CHECK(service.timeouts.connect == 1s);
  CHECK(service.timeouts.response_headers == 30s);
  CHECK(service.timeouts.idle == 60s);
  CHECK(service.limits.max_connections_per_instance == 1024);
  CHECK(service.limits.max_pending_per_instance == 256);
  CHECK(service.limits.pending_timeout == 1s);
  CHECK(service.limits.max_body == 10 * 1024 * 1024);
  REQUIRE(service.instances.size() == 1);
  CHECK(service.instances[0].id == "s/backend.local:8080");
  CHECK(service.instances[0].host == "backend.local");
  CHECK(service.instances[0].weight == 1);
  CHECK(service.instances[0].labels.empty());

  REQUIRE(config.routes.size() == 1);
  const RouteMatch& match = config.routes[0].match;
  CHECK(match.host.empty());
  CHECK(match.path_prefix == "/");
  CHECK(match.path_exact.empty());
  CHECK(match.method.empty());
  CHECK_FALSE(match.header.has_value());
  CHECK(config.routes[0].rewrite.strip_prefix.empty());
}

TEST_CASE("empty blocks enable a feature with its defaults", "[config][loader][defaults]") {
  const Config config = load_ok(
      "services:\n"
      "  - name: s\n"
      "    health_check: {}\n"
      "    outlier:\n"
      "    retry: {}\n"
      "    instances:\n");
  const Service& service = config.services.at(0);
  REQUIRE(service.health_check.has_value());
  CHECK(service.health_check->type == HealthCheck::Type::http);
  CHECK(service.health_check->path == "/healthz");
  CHECK(service.health_check->interval == 5s);
  CHECK(service.health_check->timeout == 1s);
  CHECK(service.health_check->healthy_threshold == 2);
  CHECK(service.health_check->unhealthy_threshold == 3);
  REQUIRE(service.outlier.has_value());
  CHECK(service.outlier->consecutive_failures == 5);
  CHECK(service.outlier->base_ejection == 10s);
  CHECK(service.outlier->max_ejection_percent == 10);
  CHECK(service.outlier->half_open_probes == 1);
  CHECK(service.retry.attempts == 2);
  CHECK(service.instances.empty());
}

TEST_CASE("empty sections are empty lists", "[config][loader][defaults]") {
  const Config config = load_ok("tenants:\nservices: []\nroutes: ~\n");
  CHECK(config.tenants.empty());
  CHECK(config.services.empty());
  CHECK(config.routes.empty());
}

TEST_CASE("match values are normalised", "[config][loader]") {
  const Config config = load_ok(
      "services: [{ name: s }]\n"
      "routes:\n"
      "  - name: r1\n"
      "    match: { host: API.Example.COM, method: get, header: { name: X-Tenant-ID, value: AcMe } }\n"
      "    service: s\n"
      "  - name: r2\n"
      "    match: { host: \"*.Tenants.Example.com\", path: /exact }\n"
      "    service: s\n"
      "  - name: r3\n"
      "    match: { host: \"[2001:DB8::1]\", method: PURGE }\n"
      "    service: s\n");
  const RouteMatch& m1 = config.routes.at(0).match;
  CHECK(m1.host == "api.example.com");
  CHECK(m1.method == "GET");
  CHECK(m1.header->name == "x-tenant-id");
  CHECK(m1.header->value == "AcMe");
  CHECK(m1.path_prefix == "/");
  const RouteMatch& m2 = config.routes.at(1).match;
  CHECK(m2.host == "*.tenants.example.com");
  CHECK(m2.path_exact == "/exact");
  CHECK(m2.path_prefix.empty());
  const RouteMatch& m3 = config.routes.at(2).match;
  CHECK(m3.host == "[2001:db8::1]");
  CHECK(m3.method == "PURGE");
}

TEST_CASE("hash keys, policies and retry conditions", "[config][loader]") {
  const Config config = load_ok(
      "services:\n"
      "  - { name: a, lb: { policy: ring_hash }, hash_key: { cookie: SessionID } }\n"
      "  - { name: b, lb: { policy: maglev }, hash_key: { client_ip: true } }\n"
      "  - { name: c, lb: { policy: sticky_link }, hash_key: { client_ip: } }\n"
      "  - { name: d, retry: { on: [] } }\n"
      "  - { name: e, retry: { on: [\"502\", 503, \"504\"], attempts: 10, per_try_timeout: 0 } }\n");
  CHECK(config.services[0].lb == LbPolicy::ring_hash);
  CHECK(config.services[0].hash_key.kind == HashKey::Kind::cookie);
  CHECK(config.services[0].hash_key.name == "SessionID");  // cookie names are case-sensitive
  CHECK(config.services[1].hash_key.kind == HashKey::Kind::client_ip);
  CHECK(config.services[2].hash_key.kind == HashKey::Kind::client_ip);
  CHECK(config.services[3].retry.on == 0);
  CHECK(config.services[4].retry.on == (retry_502 | retry_503 | retry_504));
  CHECK(config.services[4].retry.attempts == 10);
  CHECK(config.services[4].retry.per_try_timeout == 0ms);

  for (LbPolicy policy : all_lb_policies) {
    const std::string name(to_string(policy));
    INFO(name);
    CHECK(lb_policy_from_string(name) == policy);
    CHECK(load_ok("services: [{ name: s, lb: { policy: " + name + " } }]\n").services[0].lb == policy);
  }
  CHECK(uses_hash_key(LbPolicy::ring_hash));
  CHECK(uses_hash_key(LbPolicy::maglev));
  CHECK(uses_hash_key(LbPolicy::sticky_link));
  CHECK_FALSE(uses_hash_key(LbPolicy::ip_hash));
  CHECK_FALSE(uses_hash_key(LbPolicy::round_robin));
}

TEST_CASE("labels, explicit ids and IPv6 instances", "[config][loader]") {
  const Config config = load_ok(
      "tenants:\n"
      "  - id: acme\n"
      "    labels: { tier: gold, region: \"eu-1\", empty: \"\" }\n"
      "services:\n"
      "  - name: s\n"
      "    tenant: acme\n"
      "    instances:\n"
      "      - { address: \"[::1]:9001\", labels: { zone: a } }\n"
      "      - { id: s-2, address: \"[::1]:9001\", weight: 10000 }\n");
  CHECK(config.tenants[0].labels == std::map<std::string, std::string>{{"tier", "gold"}, {"region", "eu-1"}, {"empty", ""}});
  const auto& instances = config.services[0].instances;
  CHECK(instances[0].id == "s/[::1]:9001");
  CHECK(instances[0].host == "::1");
  CHECK(instances[0].labels.at("zone") == "a");
  CHECK(instances[1].id == "s-2");
  CHECK(instances[1].weight == 10000);
}

TEST_CASE("sections and references may come in any order", "[config][loader]") {
  const Config config = load_ok(
      "routes: [{ name: r, service: s }]\n"
      "services: [{ name: s, tenant: t, instances: [{ address: \"h:1\" }] }]\n"
      "tenants: [{ id: t }]\n");
  CHECK(config.routes[0].service == "s");
  CHECK(config.services[0].instances[0].id == "s/h:1");
}

TEST_CASE("the instance id default does not depend on key order", "[config][loader]") {
  const Config config = load_ok(
      "services:\n"
      "  - instances: [{ address: \"h:1\" }]\n"
      "    name: late\n");
  CHECK(config.services[0].instances[0].id == "late/h:1");
}

TEST_CASE("a config that loads has no errors and vice versa", "[config][loader]") {
  const LoadResult bad = tg::config::test::load("tenants: [{ id: a }, { id: a }]\n");
  CHECK_FALSE(bad.ok());
  CHECK_FALSE(bad.config.has_value());
  const LoadResult good = tg::config::test::load("tenants: [{ id: a }]\n");
  CHECK(good.ok());
  CHECK(good.config.has_value());
}
