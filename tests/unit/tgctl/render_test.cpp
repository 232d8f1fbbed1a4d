// control/tgctl/render*.cpp, table.*, yaml_output.*: what each format prints.
#include "parse_helpers.hpp"

#include "tenantgate/v1/admin.pb.h"
#include "tgctl/render.hpp"
#include "tgctl/table.hpp"
#include "tgctl/yaml_output.hpp"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

using namespace tg::tgctl;
using namespace tg::tgctl::test;
namespace v1 = tenantgate::v1;

namespace {

template <class T>
T from_text(const std::string& text) {
  T message;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &message));
  return message;
}

std::string rendered(const std::vector<std::string>& args, const google::protobuf::Message& response,
                     OutputFormat format) {
  const Invocation inv = parse_ok(args);
  std::ostringstream out;
  render(inv.command, response, format, out);
  return out.str();
}

v1::ListRoutesResponse routes_fixture() {
  return from_text<v1::ListRoutesResponse>(
    "routes { name: 'acme-host' service: 'acme-web' match { host: 'acme.test' path_prefix: '/' } "
    "         meta { source { kind: KIND_CONFIG_FILE file: 'demo.yaml' line: 12 } revision: 3 } } "
    "routes { name: 'g' service: 'globex-api' match { path_exact: '/x' method: 'GET' "
    "         header { name: 'x-t' value: 'g' } } rewrite { strip_prefix: '/globex' } "
    "         meta { source { kind: KIND_API } } }");
}

}  // namespace

TEST_CASE("table: aligned columns, no trailing blanks, header when empty", "[tgctl][render]") {
  Table table({"NAME", "X"});
  table.add_row({"a", "1"});
  table.add_row({"longer", ""});
  table.add_row({"é", "3"});
  std::ostringstream out;
  table.write(out);
  CHECK(out.str() == "NAME    X\na       1\nlonger\né       3\n");
  std::ostringstream empty;
  Table({"ID", "LABELS"}).write(empty);
  CHECK(empty.str() == "ID  LABELS\n");
}

TEST_CASE("routes list as a table", "[tgctl][render]") {
  CHECK(rendered({"routes", "list"}, routes_fixture(), OutputFormat::table) ==
        "NAME       HOST       PATH  METHOD  HEADER  SERVICE     REWRITE        SOURCE\n"
        "acme-host  acme.test  /*    -       -       acme-web    -              file:demo.yaml:12\n"
        "g          *          =/x   GET     x-t=g   globex-api  strip /globex  api\n");
}

TEST_CASE("tenants, instances, delete and heartbeat as text", "[tgctl][render]") {
  const auto tenants = from_text<v1::ListTenantsResponse>(
      "tenants { id: 'acme' labels { key: 'z' value: '1' } labels { key: 'a' value: '2' } "
      "meta { source { kind: KIND_APPLY file: 'site.yaml' } revision: 7 } }");
  CHECK(rendered({"tenants", "list"}, tenants, OutputFormat::table) ==
        "ID    LABELS   SOURCE           REVISION\n"
        "acme  a=2,z=1  apply:site.yaml  7\n");

  const auto instance = from_text<v1::Instance>(
      "id: 'i1' service: 's' address: '127.0.0.1:9001' weight: 1 admin_state: ADMIN_STATE_ACTIVE "
      "health: HEALTH_UNHEALTHY health_reason: 'heartbeat expired' health_changed_unix_ms: 1763791210000 "
      "heartbeat_ttl_ms: 10000 last_heartbeat_unix_ms: 1763791200000");
  const std::string table = rendered({"instances", "set-state", "i1", "active"}, instance, OutputFormat::table);
  CHECK(table.find("ID  SERVICE  ADDRESS         WEIGHT  STATE   HEALTH     REASON             SINCE") == 0);
  CHECK(table.find("i1  s        127.0.0.1:9001  1       active  unhealthy  heartbeat expired  "
                   "2025-11-22T06:00:10.000Z  10s  2025-11-22T06:00:00.000Z  -") != std::string::npos);

  CHECK(rendered({"routes", "delete", "r1"}, from_text<v1::DeleteResponse>("revision: 12"),
                 OutputFormat::table) == "Deleted route \"r1\" (revision 12).\n");
  CHECK(rendered({"instances", "heartbeat", "i1"},
                 from_text<v1::HeartbeatResponse>("heartbeat_ttl_ms: 5000 health: HEALTH_HEALTHY"),
                 OutputFormat::table) == "Heartbeat of instance \"i1\": health healthy, TTL 5s.\n");
}

TEST_CASE("credentials: the secret once on a line of its own, lists without hashes", "[tgctl][render][credentials]") {
  const auto created = from_text<v1::CreateCredentialResponse>(
      "credential { name: 'ci' kind: KIND_API_KEY created_unix_ms: 1763791200000 } secret: 'tg_abc' revision: 9");
  CHECK(rendered({"tenants", "credentials", "create", "acme", "ci", "--kind", "api_key"}, created,
                 OutputFormat::table) ==
        "Created api_key credential \"ci\" of tenant \"acme\" (revision 9). Its secret:\n"
        "tg_abc\n"
        "Store it now: it will not be shown again (tg-control keeps only its SHA-256).\n");
  const auto listed = from_text<v1::ListCredentialsResponse>(
      "credentials { name: 'ci' kind: KIND_API_KEY created_unix_ms: 1763791200000 } "
      "credentials { name: 'sim-pods' kind: KIND_INGEST created_unix_ms: 1763791210000 }");
  CHECK(rendered({"tenants", "credentials", "list", "acme"}, listed, OutputFormat::table) ==
        "NAME      KIND     CREATED\n"
        "ci        api_key  2025-11-22T06:00:00.000Z\n"
        "sim-pods  ingest   2025-11-22T06:00:10.000Z\n");
  CHECK(rendered({"tenants", "credentials", "delete", "acme", "ci"}, from_text<v1::DeleteResponse>("revision: 10"),
                 OutputFormat::table) == "Deleted credential \"ci\" of tenant \"acme\" (revision 10).\n");
}

TEST_CASE("events list as text: one row per group with its count", "[tgctl][render][events]") {
  const auto events = from_text<v1::ListEventsResponse>(
      "events { id: 4 service: 'web' instance: 'w1' kind: 'health' level: 'warning' count: 3 "
      "         message: 'healthy -> unhealthy (http 503)' last_seen_unix_ms: 1763791200000 }");
  CHECK(rendered({"events", "list"}, events, OutputFormat::table) ==
        "ID  LAST SEEN                 COUNT  LEVEL    KIND    SERVICE  INSTANCE  MESSAGE\n"
        "4   2025-11-22T06:00:00.000Z  3      warning  health  web      w1        healthy -> unhealthy (http 503)\n");
}

TEST_CASE("apply: the change list, a short diff, and what was committed", "[tgctl][render][apply]") {
  const TempFile file("tenants: []\n");
  const auto response = from_text<v1::ApplyResponse>(
      "changes { action: ACTION_CREATE kind: 'tenant' name: 'acme' after_json: '{\"id\":\"acme\"}' } "
      "changes { action: ACTION_UPDATE kind: 'route' name: 'r' "
      "          before_json: '{\"name\":\"r\",\"service\":\"a\"}' "
      "          after_json: '{\"name\":\"r\",\"service\":\"b\"}' } "
      "changes { action: ACTION_UNCHANGED kind: 'service' name: 's' } "
      "changes { action: ACTION_DELETE kind: 'route' name: 'old' before_json: '{}' } "
      "committed: true revision: 42");
  const std::string committed = rendered({"apply", "-f", file.path()}, response, OutputFormat::table);
  CHECK(committed ==
        "ACTION     KIND     NAME  CHANGES\n"
        "create     tenant   acme\n"
        "update     route    r     service: a -> b\n"
        "unchanged  service  s\n"
        "delete     route    old\n"
        "1 to create, 1 to update, 1 to delete, 1 unchanged.\n"
        "Committed (revision 42).\n");
  v1::ApplyResponse dry = response;
  dry.set_committed(false);
  const std::string dry_text = rendered({"apply", "-f", file.path(), "--dry-run"}, dry, OutputFormat::table);
  CHECK(dry_text.ends_with("Dry run: nothing was committed.\n"));
}

TEST_CASE("audit list as a table", "[tgctl][render][audit]") {
  const auto audit = from_text<v1::ListAuditResponse>(
      "entries { id: 9 time_unix_ms: 1763791200000 actor: 'ops' method: 'PatchRoute' kind: 'route' "
      "name: 'r' before_json: '{\"service\":\"a\"}' after_json: '{\"service\":\"b\"}' } "
      "entries { id: 8 time_unix_ms: 1763791100000 actor: 'anonymous' method: 'CreateTenant' "
      "kind: 'tenant' name: 't' after_json: '{\"id\":\"t\"}' }");
  CHECK(rendered({"audit", "list"}, audit, OutputFormat::table) ==
        "ID  TIME                      ACTOR      METHOD        KIND    NAME  CHANGES\n"
        "9   2025-11-22T06:00:00.000Z  ops        PatchRoute    route   r     service: a -> b\n"
        "8   2025-11-22T05:58:20.000Z  anonymous  CreateTenant  tenant  t     created\n");
}

TEST_CASE("json: protobuf JSON with .proto names that parses back to the same message", "[tgctl][render]") {
  const v1::ListRoutesResponse routes = routes_fixture();
  const std::string json = rendered({"routes", "list"}, routes, OutputFormat::json);
  CHECK(json.find("\"path_prefix\": \"/\"") != std::string::npos);
  CHECK(json.find("\"KIND_CONFIG_FILE\"") != std::string::npos);
  v1::ListRoutesResponse back;
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(back, routes));
}

TEST_CASE("yaml: the same data, strings that would change type quoted", "[tgctl][render][yaml]") {
  const auto tenant = from_text<v1::Tenant>(
      "id: 'acme' labels { key: 'on' value: 'true' } labels { key: 'n' value: '123' } "
      "labels { key: 'e' value: '' } labels { key: 'w' value: '*.x' } labels { key: 'p' value: 'a: b' } "
      "meta { source { kind: KIND_API } created_unix_ms: 1763791200000 revision: 5 }");
  const std::string yaml = to_yaml(tenant);
  INFO(yaml);
  const YAML::Node node = YAML::Load(yaml);
  CHECK(node["id"].as<std::string>() == "acme");
  CHECK(node["labels"]["on"].as<std::string>() == "true");
  CHECK(node["labels"]["on"].Tag() == "!");  // quoted: a string, not a bool
  CHECK(node["labels"]["n"].Tag() == "!");
  CHECK(node["labels"]["e"].as<std::string>() == "");
  CHECK(node["labels"]["w"].as<std::string>() == "*.x");
  CHECK(node["labels"]["p"].as<std::string>() == "a: b");
  CHECK(node["meta"]["source"]["kind"].as<std::string>() == "KIND_API");
  CHECK(node["meta"]["created_unix_ms"].as<std::int64_t>() == 1'763'791'200'000);
  CHECK(node["meta"]["revision"].as<int>() == 5);
  // YAML 1.1 reads a plain n / on as booleans: keys are quoted too.
  CHECK(yaml.find("labels:\n  e: \"\"\n  \"n\": \"123\"\n  \"on\": \"true\"") != std::string::npos);

  CHECK(to_yaml(v1::DeleteResponse()) == "{}\n");
  const auto list = from_text<v1::ListTenantsResponse>("tenants { id: 'a' } tenants { id: 'b' }");
  CHECK(to_yaml(list) == "tenants:\n  - id: a\n  - id: b\n");
}

TEST_CASE("proxies list as a table, json and yaml", "[tgctl][render]") {
  const auto proxies = from_text<v1::ListProxiesResponse>(
      "newest { generation: 3 counter: 12 } registry_id: 'aaaabbbbccccdddd' "
      "proxies { node_id: 'edge-1' boot_id: '5f0c9d2e-1111-2222' address: 'ipv4:10.0.0.5:40112' "
      "          connected: true connected_since_unix_ms: 1763791200000 last_seen_unix_ms: 1763791260000 "
      "          applied { generation: 3 counter: 12 } sent { generation: 3 counter: 12 } lag: 0 "
      "          registry_id: 'aaaabbbbccccdddd' last_update_kind: UPDATE_KIND_DELTA "
      "          last_update_bytes: 412 last_update_apply_ms: 2 } "
      "proxies { node_id: 'edge-2' boot_id: 'abc' address: 'ipv4:10.0.0.6:40200' "
      "          connected: false last_seen_unix_ms: 1763791300000 "
      "          applied { generation: 3 counter: 9 } lag: 3 nacks: 2 registry_id: '0123456789' "
      "          last_update_kind: UPDATE_KIND_FULL last_update_bytes: 4220300 last_update_apply_ms: 352 "
      "          last_nack { version { generation: 3 counter: 10 } reason: 'service x: bad policy' "
      "                      time_unix_ms: 1763791250000 } } "
      "proxies { node_id: 'new' connected: true connected_since_unix_ms: 1763791200000 "
      "          registry_id: 'aaaabbbbccccdddd' applied { generation: 4 counter: 1 } "
      "          fenced: 'database older than the fleet: ...' }");
  CHECK(rendered({"proxies", "list"}, proxies, OutputFormat::table) ==
        "NODE    BOOT      ADDRESS              STATE              SINCE                     REGISTRY         APPLIED  LAG  LAST UPDATE          LAST NACK\n"
        "edge-1  5f0c9d2e  ipv4:10.0.0.5:40112  connected          2025-11-22T06:00:00.000Z  aaaabbbb (this)  3.12     0    delta 412 B 2 ms     -\n"
        "edge-2  abc       ipv4:10.0.0.6:40200  disconnected       2025-11-22T06:01:40.000Z  01234567         3.9      3    full 4.0 MiB 352 ms  3.10: service x: bad policy\n"
        "new     -         -                    connected, fenced  2025-11-22T06:00:00.000Z  aaaabbbb (this)  4.1      0    -                    -\n"
        "Newest table version: 3.12 of registry aaaabbbbccccdddd.\n"
        "Fenced new: database older than the fleet: ...\n");
  const auto listed = from_text<v1::ListProxiesResponse>(
      "newest { generation: 3 counter: 12 } registry_id: 'aaaabbbbccccdddd' disconnected_not_listed: 4 "
      "proxies { node_id: 'edge-1' connected: true registry_id: 'aaaabbbbccccdddd' }");
  CHECK_THAT(rendered({"proxies", "list"}, listed, OutputFormat::table),
             Catch::EndsWith("Newest table version: 3.12 of registry aaaabbbbccccdddd.\n"
                             "4 disconnected proxies not listed (--all lists them).\n"));
  const std::string json = rendered({"proxies", "list"}, proxies, OutputFormat::json);
  CHECK(json.find("\"node_id\": \"edge-2\"") != std::string::npos);
  CHECK(json.find("\"reason\": \"service x: bad policy\"") != std::string::npos);
  const YAML::Node yaml = YAML::Load(rendered({"proxies", "list"}, proxies, OutputFormat::yaml));
  CHECK(yaml["newest"]["counter"].as<int>() == 12);
  CHECK(yaml["proxies"][1]["nacks"].as<int>() == 2);
  CHECK(yaml["proxies"][1]["last_nack"]["version"]["counter"].as<int>() == 10);
}

TEST_CASE("registry show as a table", "[tgctl][render][registry]") {
  const auto info = from_text<v1::RegistryInfo>(
      "registry_id: 'aaaabbbbccccdddd' generation: 5 newest { generation: 5 counter: 3 } "
      "adopted_registry_ids: 'old1' adopted_registry_ids: 'old2' "
      "database_older_than_fleet: 'proxies of this registry reported generation 7'");
  CHECK(rendered({"registry", "show"}, info, OutputFormat::table) ==
        "Registry:        aaaabbbbccccdddd\n"
        "Generation:      5 (newest table version 5.3)\n"
        "Adopted:         old1, old2\n"
        "Accept restore:  no\n"
        "Database older than the fleet: proxies of this registry reported generation 7\n");
}
