// Tenant containers reporting to tg-control's HTTP port (docs/api.md,
// "Ingest"), against the real tg-control and tgctl: events grouped with
// their occurrences, tenant isolation (403, nothing stored), field-named 400s,
// 401 and revocation, OTLP logs from the recorded exporter payload, status
// samples, and self-registration with a heartbeat TTL.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

const char* const world_yaml =
    "tenants:\n  - id: acme\n  - id: globex\n"
    "services:\n  - { name: web, tenant: acme }\n  - { name: api, tenant: globex }\n";

// Creates an ingest credential and returns its secret (printed once).
std::string ingest_secret(const ControlProcess& control, const std::string& tenant, const std::string& name) {
  const TgctlResult created = tgctl(control, {"tenants", "credentials", "create", tenant, name, "--kind", "ingest"});
  if (created.exit_code != 0) throw std::runtime_error(created.describe());
  std::istringstream lines(created.out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("tg_")) return line;
  throw std::runtime_error("no secret in:\n" + created.describe());
}

HttpResponse post(const ControlProcess& control, const std::string& path, const std::string& body,
                  const std::string& token) {
  HttpClient client(control.http_port());
  HeaderList headers{{"Content-Type", "application/json"}};
  if (!token.empty()) headers.add("Authorization", "Bearer " + token);
  return client.post(path, body, headers);
}

double metric(const ControlProcess& control, const std::string& name, const Labels& labels = {}) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body).value(name, labels).value_or(-1);
}

v1::ListEventsResponse events(const ControlProcess& control, std::vector<std::string> args) {
  args.insert(args.begin(), {"events", "list"});
  args.insert(args.end(), {"-o", "json"});
  return json_as<v1::ListEventsResponse>(tgctl(control, args));
}

long long count_rows(const ControlProcess& control, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(control.db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open the database");
  sqlite3_stmt* statement = nullptr;
  long long n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW)
    n = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return n;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct World {
  ControlProcess control;
  std::string acme, globex;
  World() {
    const TgctlResult applied = tgctl(control, {"apply", "-f", control.write("world.yaml", world_yaml).string()});
    if (applied.exit_code != 0) throw std::runtime_error(applied.describe());
    acme = ingest_secret(control, "acme", "pods");
    globex = ingest_secret(control, "globex", "pods");
  }
};

}  // namespace

TEST_CASE("ingest: 20 exceptions with varying ids are one group of 20 with 20 occurrences", "[control][ingest]") {
  World world;
  for (int i = 0; i < 20; ++i) {
    const HttpResponse answer =
        post(world.control, "/v1/ingest/events",
             "{\"service\":\"web\",\"instance\":\"pod-" + std::to_string(i % 3) +
                 "\",\"kind\":\"OrderFailed\",\"level\":\"error\",\"message\":\"order " + std::to_string(1000 + i * 7919) +
                 " failed (request " + (i % 2 ? "3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f" : "0e1d2c3b-4a59-4687-9a0b-c1d2e3f40516") +
                 ")\",\"detail\":{\"attempt\":" + std::to_string(i) + "}}",
             world.acme);
    INFO(answer.describe());
    REQUIRE(answer.status == 200);
    CHECK(answer.body.find("\"accepted\":1") != std::string::npos);
  }
  const auto groups = events(world.control, {"--grouped", "--kind", "OrderFailed"});
  REQUIRE(groups.events_size() == 1);
  CHECK(groups.events(0).count() == 20);
  CHECK(groups.events(0).tenant() == "acme");
  CHECK(groups.events(0).source() == "ingest");
  CHECK(groups.events(0).fingerprint() == "order # failed (request <uuid>)");
  const auto single = events(world.control, {"--kind", "OrderFailed", "--limit", "100"});
  REQUIRE(single.events_size() == 20);
  for (const auto& e : single.events()) {
    CHECK(e.group_id() == groups.events(0).id());
    CHECK(e.count() == 1);
  }
  CHECK(single.events(0).detail_json() == "{\"attempt\":19}");  // the newest first
  CHECK(events(world.control, {"--level", "critical"}).events_size() == 0);
  CHECK(events(world.control, {"--level", "error", "--tenant", "acme"}).events_size() == 20);
  // The table form of the occurrences.
  const TgctlResult table = tgctl(world.control, {"events", "list", "--kind", "OrderFailed", "--limit", "2"});
  INFO(table.describe());
  CHECK(table.out.find("OrderFailed") != std::string::npos);
  CHECK(metric(world.control, "tg_control_ingest_events_total") == 20);
  CHECK(metric(world.control, "tg_control_ingest_requests_total", {{"endpoint", "events"}, {"result", "ok"}}) == 20);

  // A batch: all of it or nothing.
  std::string batch = "{\"events\":[";
  for (int i = 0; i < 5; ++i)
    batch += std::string(i ? "," : "") + "{\"service\":\"web\",\"kind\":\"Batch\",\"level\":\"" +
             (i == 3 ? "fatal" : "warning") + "\",\"message\":\"m\"}";
  const HttpResponse bad = post(world.control, "/v1/ingest/events", batch + "]}", world.acme);
  INFO(bad.describe());
  CHECK(bad.status == 400);
  CHECK(bad.body.find("\"error\":\"invalid_argument\"") != std::string::npos);
  CHECK(bad.body.find("\"field\":\"events[3].level\"") != std::string::npos);
  CHECK(post(world.control, "/v1/ingest/events", "{\"service\":", world.acme).status == 400);
  CHECK(events(world.control, {"--kind", "Batch"}).events_size() == 0);
  CHECK(metric(world.control, "tg_control_ingest_requests_total", {{"endpoint", "events"}, {"result", "bad_request"}}) == 2);

  // Over 1 MiB: 413 before the body is read.
  const HttpResponse large =
      post(world.control, "/v1/ingest/events", "{\"events\":[" + std::string(1100 * 1024, ' ') + "]}", world.acme);
  CHECK(large.status == 413);
  CHECK(metric(world.control, "tg_control_ingest_requests_total", {{"endpoint", "events"}, {"result", "too_large"}}) == 1);
}

TEST_CASE("ingest: a credential speaks only for its tenant, unknown and revoked tokens get 401", "[control][ingest]") {
  World world;
  // acme's token for globex's service: 403, nothing stored, also when mixed into a batch.
  const std::string foreign = "{\"service\":\"api\",\"kind\":\"K\",\"level\":\"error\",\"message\":\"m\"}";
  const std::string own = "{\"service\":\"web\",\"kind\":\"K\",\"level\":\"error\",\"message\":\"m\"}";
  const HttpResponse refused = post(world.control, "/v1/ingest/events", foreign, world.acme);
  INFO(refused.describe());
  CHECK(refused.status == 403);
  CHECK(refused.body.find("\"error\":\"permission_denied\"") != std::string::npos);
  CHECK(post(world.control, "/v1/ingest/events", "{\"events\":[" + own + "," + foreign + "]}", world.acme).status == 403);
  CHECK(post(world.control, "/v1/ingest/status",
             "{\"instance\":\"nope\",\"cpu\":1,\"memory_bytes\":1,\"restarts\":0,\"load\":0}", world.acme)
            .status == 403);
  CHECK(events(world.control, {"--grouped"}).events_size() == 0);
  CHECK(metric(world.control, "tg_control_ingest_requests_total", {{"endpoint", "events"}, {"result", "forbidden"}}) == 2);
  // globex's token for its own service works.
  CHECK(post(world.control, "/v1/ingest/events", foreign, world.globex).status == 200);

  // No token, a wrong one: 401 with the challenge.
  const HttpResponse missing = post(world.control, "/v1/ingest/events", own, "");
  CHECK(missing.status == 401);
  CHECK(missing.header("WWW-Authenticate") == "Bearer realm=\"tenantgate\"");
  CHECK(post(world.control, "/v1/ingest/events", own, world.acme + "x").status == 401);
  CHECK(metric(world.control, "tg_control_ingest_requests_total",
               {{"endpoint", "events"}, {"result", "unauthenticated"}}) == 2);

  // Revoked: 401 within a second of the delete.
  REQUIRE(post(world.control, "/v1/ingest/events", own, world.acme).status == 200);
  REQUIRE(tgctl(world.control, {"tenants", "credentials", "delete", "acme", "pods"}).exit_code == 0);
  CHECK(poll_for(1s, [&] { return post(world.control, "/v1/ingest/events", own, world.acme).status == 401; }));
  CHECK(post(world.control, "/v1/ingest/events", foreign, world.globex).status == 200);
}

TEST_CASE("ingest: OTLP/HTTP JSON logs from the exporter become events, other tenants' records are rejected",
          "[control][ingest][otlp]") {
  World world;
  const std::string payload = read_file(std::string(TG_FIXTURES_DIR) + "/otlp/logs_exporter.json");
  REQUIRE_FALSE(payload.empty());
  const HttpResponse taken = post(world.control, "/v1/logs", payload, world.acme);
  INFO(taken.describe());
  REQUIRE(taken.status == 200);
  CHECK(taken.body == "{}\n");
  const auto exception = events(world.control, {"--kind", "PaymentDeclined"});
  REQUIRE(exception.events_size() == 1);
  CHECK(exception.events(0).source() == "otlp");
  CHECK(exception.events(0).level() == "error");
  CHECK(exception.events(0).instance() == "web-1");
  CHECK(exception.events(0).message() == "card declined for order 12345");
  CHECK(exception.events(0).detail_json().find("exception.stacktrace") != std::string::npos);
  const auto warning = events(world.control, {"--kind", "log"});
  REQUIRE(warning.events_size() == 1);
  CHECK(warning.events(0).level() == "warning");
  CHECK(warning.events(0).message() == "inventory low for sku 778");

  // globex's credential: the records of acme's service are rejected, per the OTLP spec.
  const HttpResponse partial = post(world.control, "/v1/logs", payload, world.globex);
  INFO(partial.describe());
  CHECK(partial.status == 200);
  CHECK(partial.body.find("\"partialSuccess\":{\"rejectedLogRecords\":2") != std::string::npos);
  CHECK(events(world.control, {"--kind", "PaymentDeclined"}).events_size() == 1);
  // Malformed: 400 naming the field; protobuf: 415.
  const HttpResponse malformed = post(world.control, "/v1/logs", "{\"resourceLogs\":{}}", world.acme);
  CHECK(malformed.status == 400);
  CHECK(malformed.body.find("\"field\":\"resourceLogs\"") != std::string::npos);
  HttpClient client(world.control.http_port());
  CHECK(client.post("/v1/logs", "\x0a\x00", {{"Content-Type", "application/x-protobuf"}, {"Authorization", "Bearer " + world.acme}})
            .status == 415);
}

TEST_CASE("ingest: register, heartbeat, status, TTL expiry and deregister through the registry",
          "[control][ingest][heartbeat]") {
  World world;
  const HttpResponse registered =
      post(world.control, "/v1/ingest/register",
           "{\"service\":\"web\",\"address\":\"127.0.0.1:9101\",\"id\":\"web-pod-1\",\"labels\":{\"zone\":\"a\"},"
           "\"ttl_ms\":700}",
           world.acme);
  INFO(registered.describe());
  REQUIRE(registered.status == 200);
  CHECK(registered.body.find("\"health\":\"healthy\"") != std::string::npos);
  const auto listed = json_as<v1::ListInstancesResponse>(tgctl(world.control, {"instances", "list", "-o", "json"}));
  REQUIRE(listed.instances_size() == 1);
  CHECK(listed.instances(0).id() == "web-pod-1");
  CHECK(listed.instances(0).heartbeat_ttl_ms() == 700);
  CHECK(listed.instances(0).labels().at("zone") == "a");
  // Audited with the credential as actor.
  const TgctlResult audit = tgctl(world.control, {"audit", "list", "--actor", "ingest:acme/pods", "-o", "json"});
  CHECK(audit.out.find("RegisterInstance") != std::string::npos);
  // Another tenant cannot register into acme's service, heartbeat or deregister its instance.
  CHECK(post(world.control, "/v1/ingest/register", "{\"service\":\"web\",\"address\":\"127.0.0.1:9102\"}", world.globex)
            .status == 403);
  CHECK(post(world.control, "/v1/ingest/heartbeat", "{\"instance\":\"web-pod-1\"}", world.globex).status == 403);
  CHECK(post(world.control, "/v1/ingest/deregister", "{\"instance\":\"web-pod-1\"}", world.globex).status == 403);

  // Heartbeats keep it healthy past its TTL (several TTLs of them).
  const auto healthy = [&] {
    const auto all = json_as<v1::ListInstancesResponse>(tgctl(world.control, {"instances", "list", "-o", "json"}));
    return all.instances_size() == 1 && all.instances(0).health() == v1::HEALTH_HEALTHY;
  };
  const auto until = Clock::now() + 2s;
  while (Clock::now() < until) {
    const HttpResponse beat = post(world.control, "/v1/ingest/heartbeat", "{\"instance\":\"web-pod-1\"}", world.acme);
    REQUIRE(beat.status == 200);
    CHECK(beat.body.find("\"heartbeat_ttl_ms\":700") != std::string::npos);
    std::this_thread::sleep_for(100ms);  // the container's heartbeat period, well under the TTL
  }
  CHECK(healthy());

  // A status report: one sample row.
  const HttpResponse status = post(world.control, "/v1/ingest/status",
                                   "{\"instance\":\"web-pod-1\",\"cpu\":0.75,\"memory_bytes\":268435456,\"restarts\":1,"
                                   "\"load\":3,\"detail\":{\"queue\":12}}",
                                   world.acme);
  INFO(status.describe());
  CHECK(status.status == 200);
  CHECK(count_rows(world.control, "SELECT COUNT(*) FROM status_samples WHERE instance = 'web-pod-1' AND "
                                  "memory_bytes = 268435456 AND tenant = 'acme' AND service = 'web'") == 1);
  // ... and what Admin.Series answers for the instance (tgctl metrics series memory_bytes --instance).
  {
    const TgctlResult series = tgctl(world.control, {"metrics", "series", "memory_bytes", "--instance", "web-pod-1",
                                                     "--since", "10m", "--step", "1m", "-o", "json"});
    INFO(series.describe());
    REQUIRE(series.exit_code == 0);
    const auto parsed = json_as<v1::SeriesResponse>(series);
    double newest = 0;
    for (const v1::SeriesPoint& point : parsed.points())
      if (!point.empty()) newest = point.value();
    CHECK(newest == 268435456.0);
  }
  CHECK(post(world.control, "/v1/ingest/status", "{\"instance\":\"web-pod-1\",\"cpu\":\"high\"}", world.acme).body.find(
            "\"field\":\"cpu\"") != std::string::npos);

  // No heartbeat: unhealthy after the TTL (the heartbeat-expiry logic), with its event occurrence.
  CHECK(poll_for(5s, [&] { return !healthy(); }, 50ms));
  CHECK(poll_for(2s, [&] { return events(world.control, {"--kind", "health", "--instance", "web-pod-1"}).events_size() >= 1; }));
  // A heartbeat brings it back; deregister removes it.
  CHECK(post(world.control, "/v1/ingest/heartbeat", "{\"instance\":\"web-pod-1\"}", world.acme).status == 200);
  CHECK(healthy());
  const HttpResponse gone = post(world.control, "/v1/ingest/deregister", "{\"instance\":\"web-pod-1\"}", world.acme);
  CHECK(gone.status == 200);
  CHECK(json_as<v1::ListInstancesResponse>(tgctl(world.control, {"instances", "list", "-o", "json"})).instances_size() == 0);
  CHECK(post(world.control, "/v1/ingest/heartbeat", "{\"instance\":\"web-pod-1\"}", world.acme).status == 403);
}

TEST_CASE("ingest: tgctl report event, status and heartbeat post to the ingest endpoints", "[control][ingest][tgctl]") {
  World world;
  const std::string token_file = world.control.write("ingest.token", world.acme + "\n").string();
  const std::string http = "127.0.0.1:" + std::to_string(world.control.http_port());
  TgctlOptions options;
  options.token_file = token_file;
  const TgctlResult event = tgctl(world.control,
                                  {"report", "event", "--http", http, "--service", "web", "--kind", "Crash", "--message",
                                   "worker 7 crashed", "--level", "critical", "--detail", "{\"core\":true}"},
                                  options);
  INFO(event.describe());
  CHECK(event.exit_code == 0);
  const auto crash = events(world.control, {"--kind", "Crash"});
  REQUIRE(crash.events_size() == 1);
  CHECK(crash.events(0).level() == "critical");
  CHECK(crash.events(0).detail_json() == "{\"core\":true}");
  // Status and heartbeat of an instance registered by the Admin API; $TG_HTTP instead of --http.
  REQUIRE(tgctl(world.control, {"instances", "register", "web", "127.0.0.1:9200", "--id", "w9", "--ttl", "30s"}).exit_code == 0);
  options.env = {"TG_HTTP=" + http};
  CHECK(tgctl(world.control, {"report", "heartbeat", "--instance", "w9"}, options).exit_code == 0);
  CHECK(tgctl(world.control,
              {"report", "status", "--instance", "w9", "--cpu", "0.5", "--memory-bytes", "1024", "--restarts", "0",
               "--load", "2"},
              options)
            .exit_code == 0);
  CHECK(count_rows(world.control, "SELECT COUNT(*) FROM status_samples WHERE instance = 'w9'") == 1);
  // Refusals: exit 1 with the server's answer; a missing flag: exit 2.
  const TgctlResult foreign =
      tgctl(world.control, {"report", "event", "--service", "api", "--kind", "K", "--message", "m"}, options);
  CHECK(foreign.exit_code == 1);
  CHECK(foreign.err.find("HTTP 403") != std::string::npos);
  CHECK(tgctl(world.control, {"report", "status", "--instance", "w9", "--cpu", "1"}, options).exit_code == 2);
}
