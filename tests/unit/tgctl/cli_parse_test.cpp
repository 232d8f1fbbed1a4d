// Command lines → the Admin request they send (control/tgctl/commands_*.cpp).
#include "parse_helpers.hpp"

#include "tenantgate/v1/admin.pb.h"

using namespace tg::tgctl;
using namespace tg::tgctl::test;
namespace v1 = tenantgate::v1;

TEST_CASE("global flags: defaults, environment, flags after the verb", "[tgctl][cli]") {
  SECTION("defaults") {
    const Invocation inv = parse_ok({"tenants", "list"});
    CHECK(inv.global.server == "127.0.0.1:7000");
    CHECK(inv.global.token_file.empty());
    CHECK(inv.global.output == OutputFormat::table);
    CHECK(inv.global.timeout == std::chrono::seconds(10));
    CHECK(inv.command.rpc == &rpcs::list_tenants);
    CHECK(inv.command.label == "tenants list");
  }
  SECTION("environment gives server and token file; flags win") {
    Environment environment = test_environment();
    environment.server = "10.0.0.1:7000";
    environment.token_file = "/etc/tg/token";
    CHECK(parse_ok({"tenants", "list"}, environment).global.server == "10.0.0.1:7000");
    CHECK(parse_ok({"tenants", "list"}, environment).global.token_file == "/etc/tg/token");
    CHECK(parse_ok({"--server", "h:1", "tenants", "list"}, environment).global.server == "h:1");
  }
  SECTION("global flags before or after NOUN VERB") {
    const Invocation before = parse_ok({"-o", "json", "--timeout", "250ms", "routes", "list"});
    CHECK(before.global.output == OutputFormat::json);
    CHECK(before.global.timeout == std::chrono::milliseconds(250));
    const Invocation after = parse_ok({"routes", "list", "-o", "yaml", "--server", "x:9"});
    CHECK(after.global.output == OutputFormat::yaml);
    CHECK(after.global.server == "x:9");
  }
}

TEST_CASE("usage errors exit 2 with a message naming the problem", "[tgctl][cli]") {
  const auto usage = [](const std::vector<std::string>& args, const std::string& needle) {
    const Parsed parsed = parse(args);
    INFO("stderr: " << parsed.err);
    CHECK_FALSE(parsed.outcome.invocation.has_value());
    CHECK(parsed.outcome.exit_code == 2);
    CHECK(parsed.err.find(needle) != std::string::npos);
    CHECK(parsed.err.starts_with("tgctl: "));
  };
  usage({}, "a command is required (one of: tenants, services, instances, routes, apply, audit, events, proxies, registry, top, metrics, rules, notifiers, alerts, silences)");
  usage({"tenants"}, "tenants: a command is required (one of: list, get, create, update, patch, delete, credentials)");
  usage({"tenants", "credentials", "create", "acme", "ci", "--kind", "admin"},
        "--kind: must be api_key or ingest, got \"admin\"");
  usage({"tenants", "credentials", "create", "acme", "ci"}, "--kind is required");
  usage({"tenants", "frobnicate"}, "tenants: unknown command \"frobnicate\"");
  usage({"tenants", "get"}, "tenants get: ID is required");
  usage({"-o", "xml", "tenants", "list"}, "xml");
  usage({"--timeout", "soon", "tenants", "list"}, "--timeout");
  usage({"--timeout", "0", "tenants", "list"}, "--timeout");
  usage({"routes", "create", "r1", "--header", "novalue"}, "--header: expected KEY=VALUE");
  usage({"routes", "create", "--service", "s"}, "route NAME");
  usage({"services", "create", "s", "--lb", "fastest"}, "--lb: unknown value \"fastest\"");
  usage({"services", "create", "s", "--health-interval", "5 parsecs"}, "--health-interval: bad duration");
  usage({"services", "create", "s", "--max-connections", "-1"}, "--max-connections");
  usage({"services", "create", "s", "--hash-header", "X", "--hash-cookie", "c"}, "one of");
  usage({"instances", "register", "svc"}, "ADDRESS");
  usage({"instances", "set-state", "i1", "sleepy"}, "STATE: unknown value");
  usage({"tenants", "create", "t1", "--label", "=v"}, "--label: expected KEY=VALUE");
  usage({"tenants", "create", "--json", "{\"id\": \"t\", \"colour\": 1}"}, "--json: not a Tenant");
  usage({"routes", "patch", "r1"}, "nothing to change");
  usage({"audit", "list", "--since", "yesterday"}, "--since: bad time");
  usage({"apply", "-f", "/nonexistent/tg.yaml"}, "-f: cannot read /nonexistent/tg.yaml");
}

TEST_CASE("help at every level: --help prints it and exits 0", "[tgctl][cli]") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"routes", "--help"}, {"routes", "patch", "--help"},
        {"audit", "list", "-h"}}) {
    const Parsed parsed = parse(args);
    CHECK_FALSE(parsed.outcome.invocation.has_value());
    CHECK(parsed.outcome.exit_code == 0);
    CHECK(parsed.out.find("Usage: tgctl") != std::string::npos);
  }
  CHECK(parse({"routes", "patch", "--help"}).out.find("--strip-prefix") != std::string::npos);
  CHECK(parse({"--help"}).out.find("Exit codes") != std::string::npos);
}

TEST_CASE("tenants: requests", "[tgctl][cli][tenants]") {
  CHECK(request_is<v1::GetTenantRequest>(parse_ok({"tenants", "get", "acme"}), "id: 'acme'"));
  CHECK(request_is<v1::CreateTenantRequest>(
      parse_ok({"tenants", "create", "acme", "--label", "tier=gold", "--label", "env=prod"}),
      "tenant { id: 'acme' labels { key: 'tier' value: 'gold' } labels { key: 'env' value: 'prod' } }"));
  CHECK(request_is<v1::PatchTenantRequest>(
      parse_ok({"tenants", "update", "acme", "--label", "a=", "--take-ownership"}),
      "tenant { id: 'acme' labels { key: 'a' value: '' } } update_mask { paths: 'labels.a' } "
      "take_ownership: true"));
  CHECK(request_is<v1::PatchTenantRequest>(
      parse_ok({"tenants", "patch", "acme", "--label", "tier=gold", "--remove-label", "old"}),
      "tenant { id: 'acme' labels { key: 'tier' value: 'gold' } } "
      "update_mask { paths: ['labels.tier', 'labels.old'] }"));
  CHECK(request_is<v1::DeleteTenantRequest>(parse_ok({"tenants", "delete", "acme"}), "id: 'acme'"));
  SECTION("--json, flags over it") {
    const Invocation inv = parse_ok({"tenants", "create", "--json",
                                     R"({"id": "from-json", "labels": {"a": "1", "b": "2"}})",
                                     "--label", "b=3"});
    CHECK(request_is<v1::CreateTenantRequest>(
        inv, "tenant { id: 'from-json' labels { key: 'a' value: '1' } labels { key: 'b' value: '3' } }"));
    CHECK(inv.command.subject == "tenant \"from-json\"");
  }
}

TEST_CASE("tenants credentials: requests", "[tgctl][cli][credentials]") {
  const Invocation created = parse_ok({"tenants", "credentials", "create", "acme", "ci", "--kind", "ingest"});
  CHECK(request_is<v1::CreateCredentialRequest>(created, "tenant: 'acme' name: 'ci' kind: KIND_INGEST"));
  CHECK(created.command.label == "credentials create");
  CHECK(request_is<v1::CreateCredentialRequest>(
      parse_ok({"tenants", "credentials", "create", "acme", "ci", "--kind", "api_key", "--take-ownership"}),
      "tenant: 'acme' name: 'ci' kind: KIND_API_KEY take_ownership: true"));
  CHECK(request_is<v1::ListCredentialsRequest>(parse_ok({"tenants", "credentials", "list", "acme"}),
                                               "tenant: 'acme'"));
  CHECK(request_is<v1::DeleteCredentialRequest>(parse_ok({"tenants", "credentials", "delete", "acme", "ci"}),
                                                "tenant: 'acme' name: 'ci'"));
}

TEST_CASE("services: flags to the service message", "[tgctl][cli][services]") {
  CHECK(request_is<v1::ListServicesRequest>(parse_ok({"services", "list", "--tenant", "acme"}),
                                            "tenant: 'acme'"));
  const Invocation inv = parse_ok(
      {"services", "create", "acme-web", "--tenant", "acme", "--lb", "least_request",
       "--hash-header", "X-User", "--health-check", "http", "--health-path", "/ready",
       "--health-interval", "2s", "--health-timeout", "500ms", "--healthy-threshold", "2",
       "--unhealthy-threshold", "3", "--connect-timeout", "1s", "--response-headers-timeout", "30s",
       "--idle-timeout", "1m", "--retry-attempts", "2", "--retry-on", "connect_failure,503",
       "--retry-on", "reset", "--per-try-timeout", "1s", "--max-connections", "1024",
       "--max-pending", "256", "--max-body", "10MiB"});
  CHECK(request_is<v1::CreateServiceRequest>(
      inv,
      "service { name: 'acme-web' tenant: 'acme' lb_policy: LB_POLICY_LEAST_REQUEST "
      "hash_key { kind: KIND_HEADER name: 'X-User' } "
      "health_check { type: TYPE_HTTP path: '/ready' interval_ms: 2000 timeout_ms: 500 "
      "healthy_threshold: 2 unhealthy_threshold: 3 } "
      "retry { attempts: 2 on: [RETRY_ON_CONNECT_FAILURE, RETRY_ON_503, RETRY_ON_RESET] "
      "per_try_timeout_ms: 1000 } "
      "timeouts { connect_ms: 1000 response_headers_ms: 30000 idle_ms: 60000 } "
      "limits { max_connections_per_instance: 1024 max_pending_per_instance: 256 "
      "max_body: 10485760 } }"));
  SECTION("enum names long or short, any case") {
    CHECK(request_is<v1::CreateServiceRequest>(
        parse_ok({"services", "create", "s", "--lb", "LB_POLICY_MAGLEV", "--hash-client-ip"}),
        "service { name: 's' lb_policy: LB_POLICY_MAGLEV hash_key { kind: KIND_CLIENT_IP } }"));
    CHECK(request_is<v1::CreateServiceRequest>(parse_ok({"services", "create", "s", "--lb", "Ring_Hash"}),
                                               "service { name: 's' lb_policy: LB_POLICY_RING_HASH }"));
  }
  SECTION("update: --json reaches every field (outlier), masked as given; --take-ownership") {
    CHECK(request_is<v1::PatchServiceRequest>(
        parse_ok({"services", "update", "s", "--take-ownership", "--json",
                  R"({"outlier": {"consecutive_failures": 5, "baseEjectionMs": "10000"}})"}),
        "service { name: 's' outlier { consecutive_failures: 5 base_ejection_ms: 10000 } } "
        "update_mask { paths: ['outlier.base_ejection_ms', 'outlier.consecutive_failures'] } "
        "take_ownership: true"));
  }
  CHECK(request_is<v1::DeleteServiceRequest>(
      parse_ok({"services", "delete", "s", "--take-ownership"}), "name: 's' take_ownership: true"));
}

TEST_CASE("instances: requests", "[tgctl][cli][instances]") {
  CHECK(request_is<v1::RegisterInstanceRequest>(
      parse_ok({"instances", "register", "acme-web", "127.0.0.1:9001"}),
      "instance { service: 'acme-web' address: '127.0.0.1:9001' }"));
  CHECK(request_is<v1::RegisterInstanceRequest>(
      parse_ok({"instances", "register", "acme-web", "[::1]:9002", "--id", "a2", "--weight", "3",
                "--state", "draining", "--ttl", "10s", "--label", "zone=a", "--replace"}),
      "instance { id: 'a2' service: 'acme-web' address: '[::1]:9002' weight: 3 "
      "labels { key: 'zone' value: 'a' } admin_state: ADMIN_STATE_DRAINING } "
      "heartbeat_ttl_ms: 10000 replace: true"));
  CHECK(request_is<v1::DeregisterInstanceRequest>(
      parse_ok({"instances", "deregister", "a2", "--take-ownership"}), "id: 'a2' take_ownership: true"));
  CHECK(request_is<v1::HeartbeatRequest>(parse_ok({"instances", "heartbeat", "a2"}), "id: 'a2'"));
  CHECK(request_is<v1::DiscoverInstancesRequest>(parse_ok({"instances", "discover", "acme-web"}),
                                                 "service: 'acme-web'"));
  CHECK(request_is<v1::ListInstancesRequest>(parse_ok({"instances", "list", "acme-web"}),
                                             "service: 'acme-web'"));
  CHECK(request_is<v1::SetInstanceStateRequest>(parse_ok({"instances", "set-state", "a2", "disabled"}),
                                                "id: 'a2' admin_state: ADMIN_STATE_DISABLED"));
}

TEST_CASE("routes: create and update carry the whole route", "[tgctl][cli][routes]") {
  CHECK(request_is<v1::ListRoutesRequest>(parse_ok({"routes", "list", "--service", "s", "--tenant", "t"}),
                                          "service: 's' tenant: 't'"));
  CHECK(request_is<v1::CreateRouteRequest>(
      parse_ok({"routes", "create", "api", "--service", "acme-web", "--host", "*.acme.test",
                "--path-prefix", "/api/", "--header", "X-Tenant-ID=acme", "--method", "GET",
                "--strip-prefix", "/api"}),
      "route { name: 'api' service: 'acme-web' match { host: '*.acme.test' path_prefix: '/api/' "
      "method: 'GET' header { name: 'X-Tenant-ID' value: 'acme' } } "
      "rewrite { strip_prefix: '/api' } }"));
  CHECK(request_is<v1::UpdateRouteRequest>(
      parse_ok({"routes", "update", "api", "--service", "b", "--path-exact", "/x", "--take-ownership"}),
      "route { name: 'api' service: 'b' match { path_exact: '/x' } } take_ownership: true"));
  CHECK(request_is<v1::CreateRouteRequest>(
      parse_ok({"routes", "create", "--json", R"({"name": "j", "service": "s", "match": {"pathPrefix": "/j"}})",
                "--service", "t"}),
      "route { name: 'j' service: 't' match { path_prefix: '/j' } }"));
  CHECK(request_is<v1::DeleteRouteRequest>(parse_ok({"routes", "delete", "api"}), "name: 'api'"));
}

TEST_CASE("routes patch: the field mask holds exactly the fields given", "[tgctl][cli][routes][mask]") {
  CHECK(request_is<v1::PatchRouteRequest>(
      parse_ok({"routes", "patch", "api", "--service", "other"}),
      "route { name: 'api' service: 'other' } update_mask { paths: 'service' }"));
  CHECK(request_is<v1::PatchRouteRequest>(
      parse_ok({"routes", "patch", "api", "--host", "a.test", "--method", "POST", "--strip-prefix", "/v1"}),
      "route { name: 'api' match { host: 'a.test' method: 'POST' } rewrite { strip_prefix: '/v1' } } "
      "update_mask { paths: ['match.host', 'match.method', 'rewrite.strip_prefix'] }"));
  SECTION("a flag given as \"\" clears its field; --clear too") {
    CHECK(request_is<v1::PatchRouteRequest>(
        parse_ok({"routes", "patch", "api", "--method", "", "--header", "", "--clear", "match.host"}),
        "route { name: 'api' match { } } "
        "update_mask { paths: ['match.method', 'match.header', 'match.host'] }"));
  }
  SECTION("switching between path_prefix and path_exact clears the other") {
    CHECK(request_is<v1::PatchRouteRequest>(
        parse_ok({"routes", "patch", "api", "--path-exact", "/only"}),
        "route { name: 'api' match { path_exact: '/only' } } "
        "update_mask { paths: ['match.path_exact', 'match.path_prefix'] }"));
    CHECK(request_is<v1::PatchRouteRequest>(
        parse_ok({"routes", "patch", "api", "--path-prefix", "/p/"}),
        "route { name: 'api' match { path_prefix: '/p/' } } "
        "update_mask { paths: ['match.path_prefix', 'match.path_exact'] }"));
  }
  SECTION("--json: the fields it sets join the mask") {
    CHECK(request_is<v1::PatchRouteRequest>(
        parse_ok({"routes", "patch", "api", "--take-ownership", "--json",
                  R"({"match": {"header": {"name": "X-A", "value": "1"}}, "rewrite": {"strip_prefix": "/a"}})"}),
        "route { name: 'api' match { header { name: 'X-A' value: '1' } } rewrite { strip_prefix: '/a' } } "
        "update_mask { paths: ['match.header', 'rewrite.strip_prefix'] } take_ownership: true"));
  }
}

TEST_CASE("apply: file content, name and flags", "[tgctl][cli][apply]") {
  const TempFile file("tenants:\n  - id: a\n");
  CHECK(request_is<v1::ApplyRequest>(
      parse_ok({"apply", "-f", file.path()}),
      "yaml: 'tenants:\\n  - id: a\\n' file_name: '" + file.path() + "'"));
  CHECK(request_is<v1::ApplyRequest>(
      parse_ok({"apply", "-f", file.path(), "--dry-run", "--prune", "--take-ownership",
                "--file-name", "site.yaml"}),
      "yaml: 'tenants:\\n  - id: a\\n' file_name: 'site.yaml' dry_run: true prune: true "
      "take_ownership: true"));
}

TEST_CASE("audit list: filters and times", "[tgctl][cli][audit]") {
  CHECK(request_is<v1::ListAuditRequest>(parse_ok({"audit", "list"}), ""));
  CHECK(request_is<v1::ListAuditRequest>(
      parse_ok({"audit", "list", "--actor", "ops", "--kind", "route", "--name", "api", "--method",
                "CreateRoute", "--since", "2025-11-22T05:00:00Z", "--until", "15m", "--limit", "5",
                "--before-id", "9000000000"}),
      "actor: 'ops' kind: 'route' name: 'api' method: 'CreateRoute' "
      "since_unix_ms: 1763787600000 until_unix_ms: 1763790300000 limit: 5 before_id: 9000000000"));
}

TEST_CASE("events list: filters, since, paging", "[tgctl][cli][events]") {
  const Invocation all = parse_ok({"events", "list"});
  CHECK(request_is<v1::ListEventsRequest>(all, "occurrences: true"));
  CHECK(request_is<v1::ListEventsRequest>(parse_ok({"events", "list", "--grouped", "--level", "warning"}),
                                          "level: 'warning'"));
  CHECK(all.command.rpc->method == "ListEvents");
  CHECK(request_is<v1::ListEventsRequest>(
      parse_ok({"events", "list", "--instance", "w1", "--service", "web", "--tenant", "acme", "--kind", "health",
                "--since", "15m", "--limit", "5", "--before", "1763790000000:42"}),
      "tenant: 'acme' service: 'web' instance: 'w1' kind: 'health' since_unix_ms: 1763790300000 limit: 5 "
      "before_last_seen_unix_ms: 1763790000000 before_id: 42 occurrences: true"));
  for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"events", "list", "--before", "42"}, "--before: expected LAST_SEEN_MS:ID"},
           {{"events", "list", "--since", "yesterday"}, "--since: bad time"},
           {{"events", "list", "--level", "fatal"}, "--level"}}) {
    const Parsed parsed = parse(args);
    INFO("stderr: " << parsed.err);
    CHECK_FALSE(parsed.outcome.invocation.has_value());
    CHECK(parsed.outcome.exit_code == 2);
    CHECK(parsed.err.find(needle) != std::string::npos);
  }
}

TEST_CASE("registry show and adopt: GetRegistry, AdoptRegistry with the id", "[tgctl][cli][registry]") {
  const Invocation show = parse_ok({"registry", "show"});
  CHECK(request_is<v1::GetRegistryRequest>(show, ""));
  CHECK(show.command.rpc->method == "GetRegistry");
  const Invocation adopt = parse_ok({"registry", "adopt", "0123abcd"});
  CHECK(request_is<v1::AdoptRegistryRequest>(adopt, "registry_id: '0123abcd'"));
  CHECK(adopt.command.rpc->method == "AdoptRegistry");
}

TEST_CASE("proxies list: the ListProxies call", "[tgctl][cli][proxies]") {
  const Invocation inv = parse_ok({"proxies", "list", "-o", "json"});
  CHECK(request_is<v1::ListProxiesRequest>(inv, ""));
  CHECK(inv.command.rpc->method == "ListProxies");
  CHECK(inv.global.output == OutputFormat::json);
  CHECK(request_is<v1::ListProxiesRequest>(parse_ok({"proxies", "list", "--all"}), "all: true"));
}

TEST_CASE("services update and patch: the mask holds exactly the fields given", "[tgctl][cli][services][mask]") {
  for (const std::string verb : {"update", "patch"}) {
    const Invocation inv = parse_ok({"services", verb, "acme-web", "--lb", "least_request", "--take-ownership"});
    CHECK(inv.command.rpc == &rpcs::patch_service);
    CHECK(request_is<v1::PatchServiceRequest>(
        inv, "service { name: 'acme-web' lb_policy: LB_POLICY_LEAST_REQUEST } "
             "update_mask { paths: 'lb_policy' } take_ownership: true"));
  }
  CHECK(request_is<v1::PatchServiceRequest>(
      parse_ok({"services", "patch", "s", "--tenant", "", "--idle-timeout", "1m", "--retry-on", "503",
                "--hash-cookie", "sid", "--clear", "health_check"}),
      "service { name: 's' hash_key { kind: KIND_COOKIE name: 'sid' } retry { on: RETRY_ON_503 } "
      "timeouts { idle_ms: 60000 } } "
      "update_mask { paths: ['tenant', 'hash_key', 'timeouts.idle_ms', 'retry.on', 'health_check'] }"));
  SECTION("--json from `services get -o json`: name and meta give no path") {
    CHECK(request_is<v1::PatchServiceRequest>(
        parse_ok({"services", "patch", "--json",
                  R"({"name": "s", "tenant": "acme", "meta": {"revision": "3"}, "timeouts": {"connect_ms": 1}})"}),
        "service { name: 's' tenant: 'acme' timeouts { connect_ms: 1 } meta { revision: 3 } } "
        "update_mask { paths: ['tenant', 'timeouts.connect_ms'] }"));
  }
  const Parsed nothing = parse({"services", "update", "s"});
  CHECK(nothing.outcome.exit_code == 2);
  CHECK(nothing.err == "tgctl: services update: nothing to change: give a field flag, --json or --clear\n");
}

TEST_CASE("instances: list across services, update and patch", "[tgctl][cli][instances]") {
  CHECK(request_is<v1::ListInstancesRequest>(parse_ok({"instances", "list"}), ""));
  CHECK(request_is<v1::ListInstancesRequest>(
      parse_ok({"instances", "list", "--tenant", "acme", "--state", "disabled", "--health", "unhealthy"}),
      "tenant: 'acme' admin_state: ADMIN_STATE_DISABLED health: HEALTH_UNHEALTHY"));
  CHECK(request_is<v1::ListInstancesRequest>(parse_ok({"instances", "list", "--service", "s"}), "service: 's'"));
  CHECK(parse({"instances", "list", "--health", "sickly"}).err.find("--health: unknown value") !=
        std::string::npos);
  CHECK(parse({"instances", "list", "a", "--service", "b"}).outcome.exit_code == 2);
  CHECK(request_is<v1::PatchInstanceRequest>(
      parse_ok({"instances", "update", "a2", "--weight", "5", "--label", "zone=b", "--remove-label", "rack"}),
      "instance { id: 'a2' weight: 5 labels { key: 'zone' value: 'b' } } "
      "update_mask { paths: ['weight', 'labels.zone', 'labels.rack'] }"));
  CHECK(request_is<v1::PatchInstanceRequest>(
      parse_ok({"instances", "patch", "a2", "--state", "draining", "--address", "127.0.0.1:1", "--take-ownership"}),
      "instance { id: 'a2' address: '127.0.0.1:1' admin_state: ADMIN_STATE_DRAINING } "
      "update_mask { paths: ['address', 'admin_state'] } take_ownership: true"));
  CHECK(parse({"instances", "patch", "a2"}).err.find("nothing to change") != std::string::npos);
}

TEST_CASE("typos: the closest flag or command is suggested", "[tgctl][cli][suggest]") {
  const auto usage = [](const std::vector<std::string>& args, const std::string& expected) {
    const Parsed parsed = parse(args);
    CHECK(parsed.outcome.exit_code == 2);
    CHECK(parsed.err.substr(0, parsed.err.find('\n')) == expected);
  };
  usage({"routes", "create", "r1", "--service", "s", "--hots", "a.example"},
        "tgctl: routes create: unknown flag \"--hots\" (did you mean \"--host\"?)");
  usage({"routes", "patch", "r1", "--hots=a.example"},
        "tgctl: routes patch: unknown flag \"--hots\" (did you mean \"--host\"?)");
  usage({"tenants", "list", "--sever", "h:1"},
        "tgctl: tenants list: unknown flag \"--sever\" (did you mean \"--server\"?)");
  usage({"services", "patch", "s", "--frobnicate"}, "tgctl: services patch: unknown flag \"--frobnicate\"");
  usage({"instance", "list"},
        "tgctl: unknown command \"instance\" (did you mean \"instances\"?) "
        "(one of: tenants, services, instances, routes, apply, audit, events, proxies, registry, top, metrics, rules, notifiers, alerts, silences)");
  usage({"routes", "lsit"},
        "tgctl: routes: unknown command \"lsit\" (did you mean \"list\"?) "
        "(one of: list, get, create, update, patch, delete)");
}
