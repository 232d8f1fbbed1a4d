// Every class of semantic error, with its exact position and message
// (section readers, yaml_reader.cpp and the loader's cross-file checks).
#include "load_helpers.hpp"

#include <string>

using tg::config::test::errors_of;
using tg::config::test::single_error;
using Strings = std::vector<std::string>;

namespace {

// One service with one instance, the given lines indented under it.
std::string service_with(const std::string& lines) {
  return "services:\n"
         "  - name: s\n" +
         lines;
}

}  // namespace

TEST_CASE("unknown keys name the key and list the allowed ones", "[config][errors][keys]") {
  CHECK(single_error("tenants: []\nroute: []\n") ==
        "t.yaml:2:1: unknown top-level key \"route\" (did you mean \"routes\"?); "
        "allowed keys: tenants, services, routes, alert_rules, notifiers, retention");
  CHECK(single_error(service_with("    lb: { policy: maglev, seed: 1 }\n")) ==
        "t.yaml:3:27: services[0].lb: unknown key \"seed\"; allowed keys: policy");
  CHECK(single_error(service_with("    retry: { attempt: 3 }\n")) ==
        "t.yaml:3:14: services[0].retry: unknown key \"attempt\" (did you mean \"attempts\"?); "
        "allowed keys: attempts, on, per_try_timeout, budget_percent, min_retries_per_second, max_body");
  CHECK(single_error(service_with("    weight: 3\n")) ==
        "t.yaml:3:5: services[0]: unknown key \"weight\"; allowed keys: name, tenant, lb, hash_key, "
        "health_check, outlier, retry, timeouts, limits, instances");
  CHECK(single_error(service_with("    instances:\n      - { address: \"h:1\", port: 80 }\n")) ==
        "t.yaml:4:27: services[0].instances[0]: unknown key \"port\"; allowed keys: id, address, weight, labels");
  CHECK(single_error("routes:\n  - { name: r, service: s, match: { prefix: /a } }\nservices: [{ name: s }]\n") ==
        "t.yaml:2:37: routes[0].match: unknown key \"prefix\"; allowed keys: host, path_prefix, path, method, header");
}

TEST_CASE("did you mean catches two swapped letters", "[config][errors][keys]") {
  CHECK(single_error("routes:\n  - { name: r, service: s, match: { hots: a.example } }\nservices: [{ name: s }]\n") ==
        "t.yaml:2:37: routes[0].match: unknown key \"hots\" (did you mean \"host\"?); "
        "allowed keys: host, path_prefix, path, method, header");
  CHECK(single_error(service_with("    retry: { atempts: 3 }\n")) ==
        "t.yaml:3:14: services[0].retry: unknown key \"atempts\" (did you mean \"attempts\"?); "
        "allowed keys: attempts, on, per_try_timeout, budget_percent, min_retries_per_second, max_body");
}

TEST_CASE("missing required keys point at the object", "[config][errors][keys]") {
  CHECK(single_error("tenants:\n  - labels: {}\n") == "t.yaml:2:5: tenants[0]: missing required key \"id\"");
  CHECK(single_error("services:\n  - tenant: x\n    lb: {}\ntenants: [{ id: x }]\n") ==
        "t.yaml:2:5: services[0]: missing required key \"name\"");
  CHECK(single_error(service_with("    instances: [{ weight: 2 }]\n")) ==
        "t.yaml:3:17: services[0].instances[0]: missing required key \"address\"");
  CHECK(errors_of("routes:\n  - match: {}\n") ==
        Strings{"t.yaml:2:5: routes[0]: missing required key \"name\"",
                "t.yaml:2:5: routes[0]: missing required key \"service\""});
}

TEST_CASE("wrong types say what was expected and what was found", "[config][errors][types]") {
  CHECK(single_error("services:\n  name: s\n") == "t.yaml:2:3: services: expected a list, got a mapping");
  CHECK(single_error("tenants: acme\n") == "t.yaml:1:10: tenants: expected a list, got \"acme\"");
  CHECK(single_error("tenants:\n  - acme\n") == "t.yaml:2:5: tenants[0]: expected a mapping, got \"acme\"");
  CHECK(single_error(service_with("    instances: { address: \"h:1\" }\n")) ==
        "t.yaml:3:16: services[0].instances: expected a list, got a mapping");
  CHECK(single_error(service_with("    lb: round_robin\n")) ==
        "t.yaml:3:9: services[0].lb: expected a mapping, got \"round_robin\"");
  CHECK(single_error(service_with("    tenant: [a]\n")) ==
        "t.yaml:3:13: services[0].tenant: expected a string, got a list");
  CHECK(single_error(service_with("    tenant:\n")) ==
        "t.yaml:3:5: services[0].tenant: expected a string, got an empty value");
  CHECK(single_error(service_with("    instances: [{ address: \"h:1\", weight: abc }]\n")) ==
        "t.yaml:3:43: services[0].instances[0].weight: expected an integer from 1 to 10000, got \"abc\"");
  CHECK(single_error(service_with("    instances: [{ address: \"h:1\", weight: 1.5 }]\n")) ==
        "t.yaml:3:43: services[0].instances[0].weight: expected an integer from 1 to 10000, got \"1.5\"");
  CHECK(single_error(service_with("    instances: [{ address: \"h:1\", weight: [1] }]\n")) ==
        "t.yaml:3:43: services[0].instances[0].weight: expected an integer from 1 to 10000, got a list");
  CHECK(single_error(service_with("    timeouts: { connect: { s: 1 } }\n")) ==
        "t.yaml:3:26: services[0].timeouts.connect: expected a duration (e.g. 250ms, 1.5s, 2m), got a mapping");
  CHECK(single_error(service_with("    limits: { max_body: [] }\n")) ==
        "t.yaml:3:25: services[0].limits.max_body: expected a size (e.g. 512, 64KiB, 10MiB), got a list");
  CHECK(single_error("tenants: [{ id: a, labels: [x] }]\n") ==
        "t.yaml:1:28: tenants[0].labels: expected a mapping of label names to values, got a list");
  CHECK(single_error("tenants: [{ id: a, labels: { x: { y: 1 } } }]\n") ==
        "t.yaml:1:33: tenants[0].labels.x: expected a string, got a mapping");
  CHECK(single_error("tenants: [{ id: a, labels: { \"a b\": 1 } }]\n") ==
        "t.yaml:1:30: tenants[0].labels: label name \"a b\" must not contain a space");
}

TEST_CASE("strings must be UTF-8, empty values are not strings", "[config][errors][types]") {
  CHECK(single_error("tenants:\n  - id: \"caf\xc3\"\n") == "t.yaml:2:9: tenants[0].id: is not valid UTF-8");
  CHECK(single_error("tenants:\n  - id: a\n    labels:\n      k:\n") ==
        "t.yaml:4:7: tenants[0].labels.k: expected a string, got an empty value");
  CHECK(single_error(service_with("    instances:\n      -\n")) ==
        "t.yaml:4:7: services[0].instances[0]: missing required key \"address\"");
}

TEST_CASE("bad durations and sizes in context", "[config][errors][values]") {
  CHECK(single_error(service_with("    timeouts: { connect: 5x }\n")) ==
        "t.yaml:3:26: services[0].timeouts.connect: bad duration \"5x\": unknown unit \"x\" (use ms, s, m, h or d)");
  CHECK(single_error(service_with("    timeouts:\n      idle: 60\n")) ==
        "t.yaml:4:13: services[0].timeouts.idle: bad duration \"60\": missing unit (ms, s, m, h or d)");
  CHECK(single_error(service_with("    retry: { per_try_timeout: 1.5ms }\n")) ==
        "t.yaml:3:31: services[0].retry.per_try_timeout: bad duration \"1.5ms\": not a whole number of milliseconds");
  CHECK(single_error(service_with("    limits: { buffer_body: 64KB }\n")) ==
        "t.yaml:3:28: services[0].limits.buffer_body: bad size \"64KB\": unknown unit \"KB\" "
        "(use KiB, MiB or GiB; sizes are powers of 1024)");
  CHECK(single_error(service_with("    limits: { buffer_body: 2MiB }\n")) ==
        "t.yaml:3:28: services[0].limits.buffer_body: buffer_body 2097152 is above the largest, 1MiB");
  CHECK(single_error(service_with("    retry: { max_body: 64KiB }\n")) ==
        "t.yaml:3:24: services[0].retry.max_body: retry.max_body was replaced by limits.buffer_body: bodies up to "
        "that size are received whole before an upstream is chosen, and only those are retried after bytes were "
        "sent");
  CHECK(single_error(service_with("    limits: { max_body: -1 }\n")) ==
        "t.yaml:3:25: services[0].limits.max_body: bad size \"-1\": must not be negative");
}

TEST_CASE("zero durations are rejected where they make no sense", "[config][errors][values]") {
  CHECK(errors_of(service_with("    timeouts: { connect: 0s, response_headers: 0, idle: 0ms }\n")) ==
        Strings{"t.yaml:3:26: services[0].timeouts.connect: bad duration \"0s\": must be greater than 0",
                "t.yaml:3:48: services[0].timeouts.response_headers: bad duration \"0\": must be greater than 0",
                "t.yaml:3:57: services[0].timeouts.idle: bad duration \"0ms\": must be greater than 0"});
  CHECK(errors_of(service_with("    health_check: { interval: 0s, timeout: 0s }\n")) ==
        Strings{"t.yaml:3:31: services[0].health_check.interval: bad duration \"0s\": must be greater than 0",
                "t.yaml:3:44: services[0].health_check.timeout: bad duration \"0s\": must be greater than 0"});
  CHECK(single_error(service_with("    outlier: { base_ejection: 0s }\n")) ==
        "t.yaml:3:31: services[0].outlier.base_ejection: bad duration \"0s\": must be greater than 0");
  // retry.per_try_timeout: 0 means "no per-try limit".
  tg::config::test::load_ok(service_with("    retry: { per_try_timeout: 0s }\n"));
}

TEST_CASE("bad addresses in context", "[config][errors][values]") {
  CHECK(single_error(service_with("    instances:\n      - address: 10.0.0.1\n")) ==
        "t.yaml:4:18: services[0].instances[0].address: bad address \"10.0.0.1\": "
        "missing \":port\" (expected host:port or [ipv6]:port)");
  CHECK(single_error(service_with("    instances:\n      - address: 10.0.0.1:70000\n")) ==
        "t.yaml:4:18: services[0].instances[0].address: bad address \"10.0.0.1:70000\": "
        "port \"70000\" must be a number from 1 to 65535");
  CHECK(single_error(service_with("    instances:\n      - address: \"::1:80\"\n")) ==
        "t.yaml:4:18: services[0].instances[0].address: bad address \"::1:80\": "
        "an IPv6 address needs brackets, e.g. [::1]:8080");
  CHECK(single_error(service_with("    instances:\n      - address: 10.0.0.300:80\n")) ==
        "t.yaml:4:18: services[0].instances[0].address: bad address \"10.0.0.300:80\": "
        "\"10.0.0.300\" is not a valid IPv4 address");
  CHECK(single_error(service_with("    instances:\n      - address: web_-.local:80\n")) ==
        "t.yaml:4:18: services[0].instances[0].address: bad address \"web_-.local:80\": "
        "host name \"web_-.local\" has a label that starts or ends with '-'");
}

TEST_CASE("numbers out of range", "[config][errors][values]") {
  CHECK(errors_of(service_with("    instances:\n"
                               "      - { address: \"h:1\", weight: 0 }\n"
                               "      - { address: \"h:2\", weight: 10001 }\n"
                               "      - { address: \"h:3\", weight: -5 }\n")) ==
        Strings{"t.yaml:4:35: services[0].instances[0].weight: must be from 1 to 10000, got 0",
                "t.yaml:5:35: services[0].instances[1].weight: must be from 1 to 10000, got 10001",
                "t.yaml:6:35: services[0].instances[2].weight: must be from 1 to 10000, got -5"});
  CHECK(errors_of(service_with("    retry: { attempts: 0, budget_percent: 101 }\n")) ==
        Strings{"t.yaml:3:24: services[0].retry.attempts: must be from 1 to 10, got 0",
                "t.yaml:3:43: services[0].retry.budget_percent: must be from 0 to 100, got 101"});
  CHECK(single_error(service_with("    retry: { attempts: 11 }\n")) ==
        "t.yaml:3:24: services[0].retry.attempts: must be from 1 to 10, got 11");
  CHECK(errors_of(service_with("    outlier: { consecutive_failures: 0, max_ejection_percent: -1, half_open_probes: 0 }\n")) ==
        Strings{"t.yaml:3:38: services[0].outlier.consecutive_failures: must be at least 1, got 0",
                "t.yaml:3:63: services[0].outlier.max_ejection_percent: must be from 0 to 100, got -1",
                "t.yaml:3:85: services[0].outlier.half_open_probes: must be at least 1, got 0"});
  CHECK(errors_of(service_with("    outlier: { count_5xx: yes, max_ejection: 0s }\n    retry: { min_retries_per_second: -1 }\n")) ==
        Strings{"t.yaml:3:27: services[0].outlier.count_5xx: expected true or false",
                "t.yaml:3:46: services[0].outlier.max_ejection: bad duration \"0s\": must be greater than 0",
                "t.yaml:4:38: services[0].retry.min_retries_per_second: must be from 0 to 1000000, got -1"});
  tg::config::test::load_ok(
      service_with("    outlier: { count_5xx: true, max_ejection: 5m }\n    retry: { min_retries_per_second: 0 }\n"));
  CHECK(errors_of(service_with("    health_check: { healthy_threshold: 0, unhealthy_threshold: 0 }\n")) ==
        Strings{"t.yaml:3:40: services[0].health_check.healthy_threshold: must be at least 1, got 0",
                "t.yaml:3:64: services[0].health_check.unhealthy_threshold: must be at least 1, got 0"});
  CHECK(single_error(service_with("    health_check: { healthy_threshold: 99999999999 }\n")) ==
        "t.yaml:3:40: services[0].health_check.healthy_threshold: must be at least 1, got 99999999999");
  CHECK(single_error(service_with("    limits: { max_connections_per_instance: 0 }\n")) ==
        "t.yaml:3:45: services[0].limits.max_connections_per_instance: must be from 1 to 1000000, got 0");
  tg::config::test::load_ok(service_with("    limits: { max_pending_per_instance: 0, max_body: 0 }\n"));
  CHECK(single_error(service_with("    limits: { pending_timeout: 0s }\n")) ==
        "t.yaml:3:32: services[0].limits.pending_timeout: bad duration \"0s\": must be greater than 0");
  tg::config::test::load_ok(service_with("    limits: { pending_timeout: 50ms }\n"));
  tg::config::test::load_ok(service_with("    retry: { budget_percent: 0 }\n    limits: { buffer_body: 0 }\n"));
}

TEST_CASE("enumerations list what is allowed", "[config][errors][values]") {
  CHECK(single_error(service_with("    lb: { policy: least_requests }\n")) ==
        "t.yaml:3:19: services[0].lb.policy: unknown policy \"least_requests\" (did you mean \"least_request\"?); "
        "allowed: round_robin, weighted, least_request, ip_hash, ring_hash, maglev, peak_ewma, sticky_link");
  CHECK(errors_of(service_with("    retry: { on: [reset, 5xx, reset, \"503\", 503] }\n")) ==
        Strings{"t.yaml:3:26: services[0].retry.on[1]: unknown retry condition \"5xx\"; "
                "allowed: connect_failure, reset, timeout, 502, 503, 504",
                "t.yaml:3:31: services[0].retry.on[2]: retry condition \"reset\" is listed twice",
                "t.yaml:3:45: services[0].retry.on[4]: retry condition \"503\" is listed twice"});
  CHECK(single_error(service_with("    retry: { on: reset }\n")) ==
        "t.yaml:3:18: services[0].retry.on: expected a list, got \"reset\"");
  CHECK(single_error(service_with("    health_check: { type: grpc }\n")) ==
        "t.yaml:3:27: services[0].health_check.type: must be http or tcp, got \"grpc\"");
  CHECK(single_error(service_with("    health_check: { type: tcp, path: /ping }\n")) ==
        "t.yaml:3:38: services[0].health_check.path: path applies only to type http (this check is tcp)");
  CHECK(single_error(service_with("    health_check: { path: healthz }\n")) ==
        "t.yaml:3:27: services[0].health_check.path: must start with '/', got \"healthz\"");
}

TEST_CASE("hash_key sets exactly one source", "[config][errors][values]") {
  CHECK(single_error(service_with("    hash_key: {}\n")) ==
        "t.yaml:3:15: services[0].hash_key: set exactly one of header, cookie or client_ip");
  CHECK(single_error(service_with("    hash_key: { header: X-User, cookie: sid }\n")) ==
        "t.yaml:3:15: services[0].hash_key: set only one of header, cookie or client_ip");
  CHECK(single_error(service_with("    hash_key: { header: \"X User\" }\n")) ==
        "t.yaml:3:25: services[0].hash_key.header: \"X User\" is not a valid header name "
        "(letters, digits and !#$%&'*+-.^_`|~)");
  CHECK(single_error(service_with("    hash_key: { client_ip: false }\n")) ==
        "t.yaml:3:28: services[0].hash_key.client_ip: expected true (or no value), got \"false\"");
}

TEST_CASE("duplicate names across the file", "[config][errors][names]") {
  const std::string yaml =
      "tenants:\n"
      "  - id: acme\n"
      "  - id: acme\n"
      "services:\n"
      "  - name: s\n"
      "    instances:\n"
      "      - { id: i1, address: \"h:1\" }\n"
      "      - { address: \"h:2\" }\n"
      "      - { address: \"h:2\" }\n"
      "  - name: t\n"
      "    instances:\n"
      "      - { id: i1, address: \"h:3\" }\n"
      "      - { id: s/h:2, address: \"h:4\" }\n"
      "  - name: s\n"
      "routes:\n"
      "  - { name: r, service: s }\n"
      "  - { name: r, service: t }\n";
  CHECK(errors_of(yaml) ==
        Strings{"t.yaml:3:9: tenants[1].id: duplicate tenant id \"acme\"; first declared at line 2, column 9",
                "t.yaml:9:20: services[0].instances[2]: duplicate instance id \"s/h:2\" (the default id "
                "<service>/<address>; give one of the instances an explicit id); first declared at line 8, column 20",
                "t.yaml:12:15: services[1].instances[0].id: duplicate instance id \"i1\"; "
                "first declared at line 7, column 15",
                "t.yaml:13:15: services[1].instances[1].id: duplicate instance id \"s/h:2\"; "
                "first declared at line 8, column 20",
                "t.yaml:14:11: services[2].name: duplicate service name \"s\"; first declared at line 5, column 11",
                "t.yaml:17:13: routes[1].name: duplicate route name \"r\"; first declared at line 16, column 13"});
}

TEST_CASE("dangling references", "[config][errors][names]") {
  CHECK(single_error("services: [{ name: s, tenant: acme }]\n") ==
        "t.yaml:1:31: services[0].tenant: unknown tenant \"acme\"; no tenants are declared");
  CHECK(single_error("tenants: [{ id: acme }]\nservices: [{ name: s, tenant: acne }]\n") ==
        "t.yaml:2:31: services[0].tenant: unknown tenant \"acne\" (did you mean \"acme\"?); "
        "it must be declared under tenants");
  CHECK(single_error("services: [{ name: web }]\nroutes: [{ name: r, service: api }]\n") ==
        "t.yaml:2:30: routes[0].service: unknown service \"api\"; it must be declared under services");
  CHECK(single_error("routes: [{ name: r, service: api }]\n") ==
        "t.yaml:1:30: routes[0].service: unknown service \"api\"; no services are declared");
}

TEST_CASE("route paths must start with '/'", "[config][errors][routes]") {
  const std::string head = "services: [{ name: s }]\nroutes:\n  - name: r\n    service: s\n";
  CHECK(single_error(head + "    match: { path_prefix: api }\n") ==
        "t.yaml:5:27: routes[0].match.path_prefix: must start with '/', got \"api\"");
  CHECK(single_error(head + "    match: { path: \"\" }\n") ==
        "t.yaml:5:20: routes[0].match.path: must start with '/', got \"\"");
  CHECK(single_error(head + "    rewrite: { strip_prefix: api }\n") ==
        "t.yaml:5:30: routes[0].rewrite.strip_prefix: must start with '/', got \"api\"");
  CHECK(single_error(head + "    match: { path_prefix: \"/a?b\" }\n") ==
        "t.yaml:5:27: routes[0].match.path_prefix: must not contain '?' (paths are matched without the query string)");
  CHECK(single_error(head + "    match: { path_prefix: /a, path: /a/b }\n") ==
        "t.yaml:5:37: routes[0].match.path: set either path_prefix or path (exact), not both");
  CHECK(single_error(head + "    match: { path: /a/b, path_prefix: /a }\n") ==
        "t.yaml:5:39: routes[0].match.path_prefix: set either path_prefix or path (exact), not both");
}

TEST_CASE("route hosts, methods and headers", "[config][errors][routes]") {
  const std::string head = "services: [{ name: s }]\nroutes:\n  - name: r\n    service: s\n";
  CHECK(single_error(head + "    match: { host: \"Acme.example.com:8080\" }\n") ==
        "t.yaml:5:20: routes[0].match.host: bad host \"Acme.example.com:8080\": "
        "a port is not allowed in host (routes match the host without its port)");
  CHECK(single_error(head + "    match: { host: \"api.*.example.com\" }\n") ==
        "t.yaml:5:20: routes[0].match.host: bad host \"api.*.example.com\": "
        "a wildcard is only allowed as a leading \"*.\" (e.g. \"*.example.com\")");
  CHECK(single_error(head + "    match: { host: \"a b.com\" }\n") ==
        "t.yaml:5:20: routes[0].match.host: bad host \"a b.com\": host name \"a b.com\" contains ' ' "
        "(allowed: letters, digits, '-', '_' and '.' between labels)");
  CHECK(single_error(head + "    match: { method: \"GE T\" }\n") ==
        "t.yaml:5:22: routes[0].match.method: \"GE T\" is not a valid HTTP method (a token such as GET or POST)");
  CHECK(single_error(head + "    match: { header: { name: \"X:Y\", value: a } }\n") ==
        "t.yaml:5:30: routes[0].match.header.name: \"X:Y\" is not a valid header name "
        "(letters, digits and !#$%&'*+-.^_`|~)");
  CHECK(single_error(head + "    match: { header: { name: X-T } }\n") ==
        "t.yaml:5:22: routes[0].match.header: missing required key \"value\"");
  CHECK(single_error(head + "    match: { header: { name: X-T, value: \" a\" } }\n") ==
        "t.yaml:5:42: routes[0].match.header.value: must not start or end with whitespace "
        "(HTTP strips it, so it could never match)");
}

TEST_CASE("names must be usable", "[config][errors][names]") {
  CHECK(single_error("tenants: [{ id: \"\" }]\n") == "t.yaml:1:17: tenants[0].id: must not be empty");
  CHECK(single_error("tenants: [{ id: \"a b\" }]\n") == "t.yaml:1:17: tenants[0].id: must not contain a space");
  CHECK(single_error("services: [{ name: s, instances: [{ id: \"\", address: \"h:1\" }] }]\n") ==
        "t.yaml:1:41: services[0].instances[0].id: must not be empty");
}

TEST_CASE("all errors are collected in one pass", "[config][errors]") {
  const std::string yaml =
      "tenants:\n"
      "  - id: acme\n"
      "    colour: red\n"
      "services:\n"
      "  - name: s\n"
      "    tenant: nobody\n"
      "    lb: { policy: fastest }\n"
      "    timeouts: { connect: 1y, idle: 0s }\n"
      "    instances:\n"
      "      - { address: nowhere, weight: 0 }\n"
      "routes:\n"
      "  - name: r\n"
      "    match: { path_prefix: x, method: \"G T\" }\n"
      "    service: t\n"
      "extra: true\n";
  const auto errors = errors_of(yaml);
  CHECK(errors == Strings{
      "t.yaml:3:5: tenants[0]: unknown key \"colour\"; allowed keys: id, labels, credentials, jwt, limits",
      "t.yaml:6:13: services[0].tenant: unknown tenant \"nobody\"; it must be declared under tenants",
      "t.yaml:7:19: services[0].lb.policy: unknown policy \"fastest\"; allowed: round_robin, weighted, "
      "least_request, ip_hash, ring_hash, maglev, peak_ewma, sticky_link",
      "t.yaml:8:26: services[0].timeouts.connect: bad duration \"1y\": unknown unit \"y\" (use ms, s, m, h or d)",
      "t.yaml:8:36: services[0].timeouts.idle: bad duration \"0s\": must be greater than 0",
      "t.yaml:10:20: services[0].instances[0].address: bad address \"nowhere\": "
      "missing \":port\" (expected host:port or [ipv6]:port)",
      "t.yaml:10:37: services[0].instances[0].weight: must be from 1 to 10000, got 0",
      "t.yaml:13:27: routes[0].match.path_prefix: must start with '/', got \"x\"",
      "t.yaml:13:38: routes[0].match.method: \"G T\" is not a valid HTTP method (a token such as GET or POST)",
      "t.yaml:14:14: routes[0].service: unknown service \"t\" (did you mean \"s\"?); it must be declared under services",
      "t.yaml:15:1: unknown top-level key \"extra\"; allowed keys: tenants, services, routes, alert_rules, notifiers, retention",
  });
}

TEST_CASE("the error example in docs/configuration.md is what the loader prints", "[config][errors]") {
  const std::string path = std::string(TG_TEST_DATA_DIR) + "/config/errors_example.yaml";
  const tg::config::LoadResult result = tg::config::load_file(path);
  std::vector<std::string> lines;
  for (const auto& error : result.errors) lines.push_back(error.to_string().substr(path.size()));
  CHECK(lines == Strings{
      ":3:5: tenants[0]: duplicate key \"id\" (first at line 2, column 5)",
      ":4:1: unknown top-level key \"route\" (did you mean \"routes\"?); "
      "allowed keys: tenants, services, routes, alert_rules, notifiers, retention",
      ":7:13: services[0].tenant: unknown tenant \"acne\" (did you mean \"acme\"?); it must be declared under tenants",
      ":8:26: services[0].timeouts.connect: bad duration \"1.5ms\": not a whole number of milliseconds",
      ":9:28: services[0].limits.buffer_body: bad size \"64KB\": unknown unit \"KB\" "
      "(use KiB, MiB or GiB; sizes are powers of 1024)",
      ":12:18: services[0].instances[1]: duplicate instance id \"s/10.0.0.1:80\" (the default id "
      "<service>/<address>; give one of the instances an explicit id); first declared at line 11, column 18",
      ":13:20: services[0].instances[2].address: bad address \"::1:80\": an IPv6 address needs brackets, e.g. [::1]:8080",
      ":13:38: services[0].instances[2].weight: must be from 1 to 10000, got 0",
      ":16:20: routes[0].match.host: bad host \"api.example.com:8080\": "
      "a port is not allowed in host (routes match the host without its port)",
      ":17:14: routes[0].service: unknown service \"api\"; it must be declared under services",
  });
}
