// config::validate: the YAML loader's rules over a Config built some other
// way (common/config/validate.hpp). Every field a rule covers, spoiled one at
// a time, gives one error naming the object and the field.
#include "config/validate.hpp"

#include "config/rules.hpp"
#include "load_helpers.hpp"

#include <catch2/catch.hpp>

#include <functional>

namespace tg::config {
namespace {

using namespace std::chrono_literals;

// What the YAML loader makes of a small configuration with every block set.
Config loaded() {
  return test::load_ok(R"(tenants:
  - id: acme
    labels: { tier: gold }
services:
  - name: web
    tenant: acme
    lb: { policy: maglev }
    hash_key: { header: X-User }
    health_check: { path: /healthz, interval: 5s, timeout: 1s }
    outlier: { consecutive_failures: 5, base_ejection: 10s, max_ejection_percent: 10 }
    retry: { attempts: 2, on: [connect_failure, "503"], per_try_timeout: 0, budget_percent: 20 }
    timeouts: { connect: 1s, response_headers: 30s, idle: 60s }
    limits: { max_connections_per_instance: 10, max_pending_per_instance: 0 }
    instances:
      - { id: web-1, address: "127.0.0.1:9001", weight: 3, labels: { zone: a } }
routes:
  - name: api
    match: { host: "*.acme.test", path_prefix: /api/, method: GET, header: { name: X-Tenant, value: acme } }
    service: web
    rewrite: { strip_prefix: /api }
  - name: exact
    match: { path: /exact }
    service: web
)");
}

TEST_CASE("validate: a configuration the YAML loader accepted keeps every rule", "[config][validate]") {
  CHECK(validate(loaded()).empty());
  CHECK_FALSE(first_error(loaded()));
  CHECK(validate(Config{}).empty());
  // The model's defaults keep the rules too.
  Config defaults;
  defaults.services.emplace_back().name = "s";
  defaults.services[0].health_check.emplace();
  defaults.services[0].outlier.emplace();
  CHECK(validate(defaults).empty());
}

TEST_CASE("validate: each broken rule names the object and the field", "[config][validate]") {
  struct Case {
    const char* what;
    std::function<void(Config&)> spoil;
    std::string expected;
  };
  const std::uint64_t too_long_ms = std::chrono::duration_cast<Duration>(max_duration).count() + 1;
  const std::vector<Case> cases{
      {"timeout over 365d", [&](Config& c) { c.services[0].timeouts.connect = Duration(too_long_ms); },
       "service \"web\": timeouts.connect: too large (at most 365d)"},
      {"negative timeout", [](Config& c) { c.services[0].timeouts.idle = Duration(-1); },
       "service \"web\": timeouts.idle: must not be negative"},
      {"zero timeout", [](Config& c) { c.services[0].timeouts.response_headers = 0ms; },
       "service \"web\": timeouts.response_headers: must be greater than 0"},
      {"per-try timeout over 365d", [&](Config& c) { c.services[0].retry.per_try_timeout = Duration(too_long_ms); },
       "service \"web\": retry.per_try_timeout: too large (at most 365d)"},
      {"zero health interval", [](Config& c) { c.services[0].health_check->interval = 0ms; },
       "service \"web\": health_check.interval: must be greater than 0"},
      {"health timeout over 365d", [&](Config& c) { c.services[0].health_check->timeout = Duration(too_long_ms); },
       "service \"web\": health_check.timeout: too large (at most 365d)"},
      {"health path", [](Config& c) { c.services[0].health_check->path = "healthz"; },
       "service \"web\": health_check.path: must start with '/', got \"healthz\""},
      {"health expect status", [](Config& c) { c.services[0].health_check->expect = {{200, 600}}; },
       "service \"web\": health_check.expect: a status must be from 100 to 599, got 600"},
      {"health expect order", [](Config& c) { c.services[0].health_check->expect = {{399, 200}}; },
       "service \"web\": health_check.expect: range 399-200 ends before it starts"},
      {"health expect empty", [](Config& c) { c.services[0].health_check->expect.clear(); },
       "service \"web\": health_check.expect: must list at least one status or range"},
      {"health host", [](Config& c) { c.services[0].health_check->host = "*.acme"; },
       "service \"web\": health_check.host: must be a host name or an IP address, without a wildcard"},
      {"tcp check with host", [](Config& c) {
         c.services[0].health_check->type = HealthCheck::Type::tcp;
         c.services[0].health_check->host = "acme.internal";
       },
       "service \"web\": health_check: expect and host apply only to type http"},
      {"threshold", [](Config& c) { c.services[0].health_check->unhealthy_threshold = 0; },
       "service \"web\": health_check.unhealthy_threshold: must be at least 1, got 0"},
      {"ejection", [](Config& c) { c.services[0].outlier->base_ejection = 0ms; },
       "service \"web\": outlier.base_ejection: must be greater than 0"},
      {"ejection percent", [](Config& c) { c.services[0].outlier->max_ejection_percent = 101; },
       "service \"web\": outlier.max_ejection_percent: must be from 0 to 100, got 101"},
      {"half-open probes", [](Config& c) { c.services[0].outlier->half_open_probes = 0; },
       "service \"web\": outlier.half_open_probes: must be at least 1, got 0"},
      {"consecutive failures", [](Config& c) { c.services[0].outlier->consecutive_failures = -3; },
       "service \"web\": outlier.consecutive_failures: must be at least 1, got -3"},
      {"retry attempts", [](Config& c) { c.services[0].retry.attempts = 11; },
       "service \"web\": retry.attempts: must be from 1 to 10, got 11"},
      {"retry conditions", [](Config& c) { c.services[0].retry.on |= 1u << 20; },
       "service \"web\": retry.on: unknown retry condition bits 1048576"},
      {"retry budget", [](Config& c) { c.services[0].retry.budget_percent = 101; },
       "service \"web\": retry.budget_percent: must be from 0 to 100, got 101"},
      {"max connections", [](Config& c) { c.services[0].limits.max_connections_per_instance = 0; },
       "service \"web\": limits.max_connections_per_instance: must be from 1 to 1000000, got 0"},
      {"pending timeout", [](Config& c) { c.services[0].limits.pending_timeout = Duration(0); },
       "service \"web\": limits.pending_timeout: must be greater than 0"},
      {"max pending", [](Config& c) { c.services[0].limits.max_pending_per_instance = 4'000'000'000u; },
       "service \"web\": limits.max_pending_per_instance: must be from 0 to 1000000, got 4000000000"},
      {"service name", [](Config& c) { c.services[0].name = "w b"; },
       "service \"w b\": name: must not contain a space"},
      {"service tenant", [](Config& c) { c.services[0].tenant = std::string(129, 't'); },
       "service \"web\": tenant: must be at most 128 characters long"},
      {"hash key header", [](Config& c) { c.services[0].hash_key.name = "x user"; },
       "service \"web\": hash_key.header: \"x user\" is not a valid header name (letters, digits and "
       "!#$%&'*+-.^_`|~)"},
      {"instance weight", [](Config& c) { c.services[0].instances[0].weight = 10001; },
       "instance \"web-1\": weight: must be from 1 to 10000, got 10001"},
      {"instance weight zero", [](Config& c) { c.services[0].instances[0].weight = 0; },
       "instance \"web-1\": weight: must be from 1 to 10000, got 0"},
      {"instance address", [](Config& c) { c.services[0].instances[0].address = "127.0.0.1:0"; },
       "instance \"web-1\": address: bad address \"127.0.0.1:0\": port \"0\" must be a number from 1 to 65535"},
      {"instance host and address disagree", [](Config& c) { c.services[0].instances[0].port = 9002; },
       "instance \"web-1\": address: host and port differ from the address \"127.0.0.1:9001\""},
      {"instance id", [](Config& c) { c.services[0].instances[0].id = ""; },
       "instance \"\": id: must not be empty"},
      {"instance label", [](Config& c) { c.services[0].instances[0].labels["bad key"] = "v"; },
       "instance \"web-1\": labels: label name \"bad key\" must not contain a space"},
      {"tenant id", [](Config& c) { c.tenants[0].id = "a\nb"; },
       "tenant \"a\\x0ab\": id: must not contain control character 0x0a"},
      {"tenant label value", [](Config& c) { c.tenants[0].labels["tier"] = "\xff"; },
       "tenant \"acme\": labels[\"tier\"]: is not valid UTF-8"},
      {"route host *", [](Config& c) { c.routes[0].match.host = "*"; },
       "route \"api\": match.host: bad host \"*\": a wildcard is only allowed as a leading \"*.\" (e.g. "
       "\"*.example.com\")"},
      {"route host upper-case", [](Config& c) { c.routes[0].match.host = "API.example.com"; },
       "route \"api\": match.host: must be lower-case (requests are matched by their lower-cased host)"},
      {"route path prefix", [](Config& c) { c.routes[0].match.path_prefix = "/api/#x"; },
       "route \"api\": match.path_prefix: must not contain '#' (fragments are never sent to a server)"},
      {"route exact path", [](Config& c) { c.routes[1].match.path_exact = "/a b"; },
       "route \"exact\": match.path: must not contain a space"},
      {"both paths", [](Config& c) { c.routes[1].match.path_prefix = "/"; },
       "route \"exact\": match: set exactly one of path_prefix or path (exact)"},
      {"no path", [](Config& c) { c.routes[0].match.path_prefix.clear(); },
       "route \"api\": match: set exactly one of path_prefix or path (exact)"},
      {"method", [](Config& c) { c.routes[0].match.method = "GET\r\n"; },
       "route \"api\": match.method: \"GET\\x0d\\x0a\" is not a valid HTTP method (a token such as GET or POST)"},
      {"header name with CRLF", [](Config& c) { c.routes[0].match.header->name = "x-a\r\nx-evil"; },
       "route \"api\": match.header.name: \"x-a\\x0d\\x0ax-evil\" is not a valid header name (letters, digits "
       "and !#$%&'*+-.^_`|~)"},
      {"header name upper-case", [](Config& c) { c.routes[0].match.header->name = "X-Tenant"; },
       "route \"api\": match.header.name: must be lower-case (header names are compared lower-cased)"},
      {"header value with LF", [](Config& c) { c.routes[0].match.header->value = "acme\nx"; },
       "route \"api\": match.header.value: must not contain control character 0x0a"},
      {"header value with NUL", [](Config& c) { c.routes[0].match.header->value = std::string("a\0b", 3); },
       "route \"api\": match.header.value: must not contain control character 0x00"},
      {"strip prefix", [](Config& c) { c.routes[0].rewrite.strip_prefix = "api"; },
       "route \"api\": rewrite.strip_prefix: must start with '/', got \"api\""},
      {"route service", [](Config& c) { c.routes[0].service = ""; },
       "route \"api\": service: must not be empty"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Config config = loaded();
    c.spoil(config);
    const std::vector<std::string> errors = validate(config);
    CHECK(errors == std::vector<std::string>{c.expected});
    CHECK(first_error(config) == c.expected);
  }
}

TEST_CASE("validate: every error is reported, first_error is the first", "[config][validate]") {
  Config config = loaded();
  config.services[0].retry.attempts = 0;
  config.routes[1].match.host = "*";
  config.tenants[0].id = "";
  const std::vector<std::string> errors = validate(config);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == "tenant \"\": id: must not be empty");
  CHECK(errors[1] == "service \"web\": retry.attempts: must be from 1 to 10, got 0");
  CHECK(errors[2].rfind("route \"exact\": match.host: bad host \"*\"", 0) == 0);
  CHECK(first_error(config) == errors[0]);
}

}  // namespace
}  // namespace tg::config
