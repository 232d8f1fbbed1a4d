// Alerting end to end against the real tg-control: rules and notifiers from
// its config file, events posted by a tenant container (/v1/ingest/events),
// a webhook receiver started by the test. The firing notification (v4 body,
// Standard Webhooks signature) arrives within for + eval interval + 2 s and
// the resolved one once the condition has been false for keep_firing_for; a
// receiver that is down gets the notification once it is back, under one
// webhook-id, across a kill -9 of tg-control, and the restart neither
// resolves the alert nor notifies it twice. What tg-control recorded is read
// from its database (episodes, transitions, deliveries, attempts).
#include "control/support/control_process.hpp"
#include "control/support/tgctl_run.hpp"
#include "control/support/webhook_receiver.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include <chrono>
#include <set>
#include <sstream>

using namespace std::chrono_literals;
using namespace tg::itest;

namespace {

const std::string secret = "alerting-test-secret";

std::string config_yaml(const std::string& url, const std::string& secret_file, const std::string& window,
                        const std::string& for_duration, const std::string& keep_firing_for) {
  return "tenants:\n  - id: acme\n"
         "services:\n  - { name: web, tenant: acme }\n"
         "notifiers:\n"
         "  - name: hook\n    type: webhook\n    url: " + url + "\n    secret_file: " + secret_file + "\n"
         "alert_rules:\n"
         "  - name: order-failures\n"
         "    scope: { tenant: acme }\n"
         "    condition: { metric: event_count, kind: OrderFailed, op: \">=\", threshold: 20 }\n"
         "    window: " + window + "\n    for: " + for_duration + "\n    keep_firing_for: " + keep_firing_for + "\n"
         "    severity: critical\n"
         "    notifiers: [hook]\n"
         "    annotations: { summary: \"{{ $labels.tenant }}: {{ $value }} failed orders\" }\n";
}

std::string ingest_secret(const ControlProcess& control) {
  const TgctlResult created = tgctl(control, {"tenants", "credentials", "create", "acme", "pods", "--kind", "ingest", "--take-ownership"});
  if (created.exit_code != 0) throw std::runtime_error(created.describe());
  std::istringstream lines(created.out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("tg_")) return line;
  throw std::runtime_error("no secret in:\n" + created.describe());
}

void post_failures(const ControlProcess& control, const std::string& token, int n) {
  for (int i = 0; i < n; ++i) {
    HttpClient client(control.http_port());
    const HttpResponse answer = client.post(
        "/v1/ingest/events",
        "{\"service\":\"web\",\"instance\":\"pod-1\",\"kind\":\"OrderFailed\",\"level\":\"error\",\"message\":\"order " +
            std::to_string(i) + " failed\"}",
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
    REQUIRE(answer.status == 200);
  }
}

long long query(const ControlProcess& control, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(control.db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open the database");
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* statement = nullptr;
  long long n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW)
    n = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return n;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Standard Webhooks: v1,base64(HMAC-SHA256(secret, id.timestamp.body)).
std::string expected_signature(const WebhookRequest& r) {
  const std::string signed_text = r.headers.at("webhook-id") + "." + r.headers.at("webhook-timestamp") + "." + r.body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), digest, &length);
  return "v1," + base64(digest, length);
}

std::string status_of(const WebhookRequest& r) {
  try {
    return std::string(boost::json::parse(r.body).at("status").as_string());
  } catch (const std::exception&) {
    return "?";
  }
}

// The first request whose body says `status`, if any.
std::optional<WebhookRequest> first_with(const WebhookReceiver& receiver, const std::string& status,
                                          int answered = 0) {
  for (const auto& r : receiver.requests())
    if (status_of(r) == status && (answered == 0 || r.answered == answered)) return r;
  return std::nullopt;
}

}  // namespace

TEST_CASE("alerting: 20 exceptions fire an event_count alert, the receiver gets the signed firing payload in time, "
          "then the resolved one",
          "[control][alerting]") {
  WebhookReceiver receiver;
  ControlOptions options;
  options.extra_args = {"--eval-interval", "500ms"};
  ControlProcess control(options, false);
  const auto secret_file = control.write("hook.secret", secret + "\n");
  options.configs = {control.write("alerts.yaml", config_yaml(receiver.url(), secret_file.string(), "10s", "1s", "2s"))};
  control.options() = options;
  control.start();
  const std::string token = ingest_secret(control);

  post_failures(control, token, 20);
  const auto posted = std::chrono::steady_clock::now();
  // for (1 s) + eval interval (0.5 s) + 2 s.
  REQUIRE(poll_for(3500ms, [&] { return first_with(receiver, "firing").has_value(); }, 20ms));
  const auto firing_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - posted);
  WARN("firing notification " << firing_ms.count() << " ms after the 20th exception (loaded machine)");
  const WebhookRequest firing = *first_with(receiver, "firing");
  CHECK(firing.method == "POST");
  CHECK(firing.target == "/hook");
  CHECK(firing.headers.at("webhook-id").starts_with("msg_"));
  CHECK(firing.headers.at("webhook-signature") == expected_signature(firing));
  const boost::json::value body = boost::json::parse(firing.body);
  CHECK(body.at("version").as_string() == "4");
  CHECK(body.at("tenant").as_string() == "acme");
  const auto& alert = body.at("alerts").as_array().at(0);
  CHECK(alert.at("status").as_string() == "firing");
  CHECK(alert.at("labels").at("alertname").as_string() == "order-failures");
  CHECK(alert.at("labels").at("severity").as_string() == "critical");
  CHECK(std::string(alert.at("annotations").at("summary").as_string()).starts_with("acme: 2"));
  const std::string ack_url(body.at("ackURL").as_string());
  CHECK(ack_url.find("/v1/alerts/1/ack?token=") != std::string::npos);
  CHECK(query(control, "SELECT state FROM alert_episodes WHERE id = 1") == 2);  // firing

  // The events leave the 10 s window (10 s buckets: up to 20 s), then false
  // for keep_firing_for (2 s): resolved, notified at once.
  REQUIRE(poll_for(30s, [&] { return first_with(receiver, "resolved").has_value(); }, 20ms));
  const WebhookRequest resolved = *first_with(receiver, "resolved");
  CHECK(resolved.headers.at("webhook-id") != firing.headers.at("webhook-id"));
  CHECK(resolved.headers.at("webhook-signature") == expected_signature(resolved));
  const boost::json::value resolved_body = boost::json::parse(resolved.body);
  CHECK(resolved_body.at("alerts").as_array().at(0).at("fingerprint") == alert.at("fingerprint"));
  CHECK(receiver.count() == 2);
  REQUIRE(poll_for(5s, [&] { return query(control, "SELECT state FROM alert_episodes WHERE id = 1") == 3; }));
  CHECK(query(control, "SELECT COUNT(*) FROM alert_episodes") == 1);
  // pending → firing → resolved, each delivery with its one attempt.
  CHECK(query(control, "SELECT COUNT(*) FROM alert_transitions WHERE alert_id = 1") == 3);
  CHECK(query(control, "SELECT COUNT(*) FROM alert_deliveries WHERE alert_id = 1 AND status = 2") == 2);
  CHECK(query(control, "SELECT COUNT(*) FROM alert_attempts") == 2);

  const PrometheusText metrics = PrometheusText::parse(http_get(control.http_port(), "/metrics").body);
  CHECK(metrics.value("tg_control_alert_deliveries_total", {{"notifier", "hook"}, {"result", "delivered"}}) == 2);
  CHECK(metrics.value("tg_control_alert_outbox_depth") == 0);
  CHECK(metrics.value("tg_control_alert_rules") == 1);
  CHECK(metrics.value("tg_control_alerts", {{"state", "firing"}, {"severity", ""}}) == 0);
}

TEST_CASE("alerting: a receiver that is down gets the notification once back, under one webhook-id, across a "
          "kill -9 of tg-control; the restart neither resolves the alert nor notifies it twice",
          "[control][alerting]") {
  WebhookReceiver receiver;
  receiver.set_status(503);
  ControlOptions options;
  options.extra_args = {"--eval-interval", "500ms"};
  ControlProcess control(options, false);
  const auto secret_file = control.write("hook.secret", secret + "\n");
  options.configs = {control.write("alerts.yaml", config_yaml(receiver.url(), secret_file.string(), "10m", "0s", "0s"))};
  control.options() = options;
  control.start();
  const std::string token = ingest_secret(control);
  post_failures(control, token, 20);

  // Retried while the receiver answers 503 (each attempt recorded).
  REQUIRE(poll_for(15s, [&] { return receiver.count() >= 2; }, 20ms));
  REQUIRE(poll_for(5s, [&] { return query(control, "SELECT COUNT(*) FROM alert_attempts") >= 2; }));
  control.kill();
  const std::size_t before_restart = receiver.count();
  std::set<std::string> ids;
  for (const auto& r : receiver.requests()) ids.insert(r.headers.at("webhook-id"));
  CHECK(ids.size() == 1);  // every retry of the one notification

  receiver.set_status(200);
  control.start();
  REQUIRE(poll_for(20s, [&] { return first_with(receiver, "firing", 200).has_value(); }, 20ms));
  CHECK(first_with(receiver, "firing", 200)->headers.at("webhook-id") == *ids.begin());
  REQUIRE(poll_for(5s, [&] {
    return query(control, "SELECT COUNT(*) FROM alert_deliveries WHERE status = 2") == 1;
  }));
  // Several evaluation rounds later: still the one episode, firing, and
  // nothing sent again (no new webhook-id, no resolved).
  const std::size_t delivered_at = receiver.count();
  std::this_thread::sleep_for(3s);  // a span of time with nothing to happen (6 eval rounds)
  CHECK(receiver.count() == delivered_at);
  CHECK(receiver.count() > before_restart);
  for (const auto& r : receiver.requests()) {
    CHECK(r.headers.at("webhook-id") == *ids.begin());
    CHECK(status_of(r) == "firing");
  }
  CHECK(query(control, "SELECT COUNT(*) FROM alert_episodes") == 1);
  CHECK(query(control, "SELECT state FROM alert_episodes WHERE id = 1") == 2);
  CHECK(query(control, "SELECT COUNT(*) FROM alert_attempts") >= 3);
}
