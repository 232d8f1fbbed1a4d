// The notification payloads and their signature: the Standard Webhooks
// reference vector, the delivery id's stability, the Alertmanager webhook v4
// fields and the /api/v2/alerts body, firing and resolved.
#include "alerts/dispatcher.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

namespace tg::control::alerts {
namespace {

namespace json = boost::json;

DeliveryJob sample_job(v1::Alert::State state) {
  DeliveryJob job;
  job.notifier.set_name("ops");
  job.notifier.set_type(v1::Notifier::TYPE_WEBHOOK);
  job.notifier.set_url("http://127.0.0.1:9600/hook");
  job.alert.set_id(42);
  job.alert.set_fingerprint("0123456789abcdef");
  job.alert.set_rule("acme-errors");
  (*job.alert.mutable_labels())["alertname"] = "acme-errors";
  (*job.alert.mutable_labels())["tenant"] = "acme";
  (*job.alert.mutable_labels())["severity"] = "critical";
  (*job.alert.mutable_labels())["route"] = "";
  (*job.alert.mutable_annotations())["summary"] = "acme error rate 7.5%";
  job.alert.set_tenant("acme");
  job.alert.set_severity("critical");
  job.alert.set_active_since_unix_ms(1'764'792'000'000);   // 2025-12-03T20:00:00Z
  job.alert.set_firing_since_unix_ms(1'764'792'030'250);   // 30.25 s later
  job.state = state;
  if (state == v1::Alert::STATE_RESOLVED) {
    job.alert.set_state(v1::Alert::STATE_RESOLVED);
    job.alert.set_resolved_unix_ms(1'764'792'090'000);
  } else {
    job.alert.set_state(v1::Alert::STATE_FIRING);
  }
  job.created_unix_ms = 1'764'792'030'300;
  job.ack_url = "http://tg.example:9080/v1/alerts/42/ack?token=abc";
  job.id = delivery_id("ops", job.alert.fingerprint(), job.alert.active_since_unix_ms(), state, 0);
  return job;
}

TEST_CASE("alert payloads: the Standard Webhooks reference signature", "[alerts][payloads]") {
  // The test vector published with the Standard Webhooks specification.
  CHECK(webhook_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                          R"({"test": 2432232314})") == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // Any change of id, timestamp or body changes it.
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string base = webhook_signature(secret, "msg_1", 100, "{}");
  CHECK(webhook_signature(secret, "msg_2", 100, "{}") != base);
  CHECK(webhook_signature(secret, "msg_1", 101, "{}") != base);
  CHECK(webhook_signature(secret, "msg_1", 100, "{ }") != base);
}

TEST_CASE("alert payloads: a secret without the whsec_ prefix is used as bytes", "[alerts][payloads]") {
  // HMAC-SHA256("key", "msg.1.body") computed with Python's hmac module.
  CHECK(webhook_signature("key", "msg", 1, "body") == "v1,Bfo++/9J7LEyS52alJ3bW+zn+fyY19uAFquC5+Kx7Uw=");
  // The same bytes given base64-encoded with the prefix sign alike.
  CHECK(webhook_signature("whsec_a2V5", "msg", 1, "body") == webhook_signature("key", "msg", 1, "body"));
}

TEST_CASE("alert payloads: delivery ids are stable per key and differ between keys", "[alerts][payloads]") {
  const auto firing = v1::Alert::STATE_FIRING;
  const std::string id = delivery_id("ops", "0123456789abcdef", 1000, firing, 0);
  REQUIRE(id.size() == 4 + 32);
  CHECK(id.starts_with("msg_"));
  CHECK(id.find_first_not_of("0123456789abcdef", 4) == std::string::npos);
  CHECK(delivery_id("ops", "0123456789abcdef", 1000, firing, 0) == id);
  CHECK(delivery_id("ops2", "0123456789abcdef", 1000, firing, 0) != id);
  CHECK(delivery_id("ops", "0123456789abcdee", 1000, firing, 0) != id);
  CHECK(delivery_id("ops", "0123456789abcdef", 1001, firing, 0) != id);
  CHECK(delivery_id("ops", "0123456789abcdef", 1000, v1::Alert::STATE_RESOLVED, 0) != id);
  CHECK(delivery_id("ops", "0123456789abcdef", 1000, firing, 1) != id);
  // No two keys serialise alike by shifting text between fields.
  CHECK(delivery_id("op", "s0123456789abcdef", 1000, firing, 0) != id);
}

TEST_CASE("alert payloads: the webhook body is Alertmanager's v4 plus tenant and ackURL", "[alerts][payloads]") {
  const DeliveryJob job = sample_job(v1::Alert::STATE_FIRING);
  const std::string text = webhook_body(job, "http://tg.example:9080/");
  CHECK(webhook_body(job, "http://tg.example:9080/") == text);  // the same bytes on every attempt
  const json::object body = json::parse(text).as_object();
  CHECK(body.at("version") == "4");
  CHECK(body.at("status") == "firing");
  CHECK(body.at("receiver") == "ops");
  CHECK(body.at("truncatedAlerts") == 0);
  CHECK(body.at("externalURL") == "http://tg.example:9080");
  CHECK(body.at("groupKey") == R"({}:{alertname="acme-errors", route="", severity="critical", tenant="acme"})");
  CHECK(body.at("groupLabels").as_object().at("alertname") == "acme-errors");
  CHECK(body.at("commonLabels").as_object().at("tenant") == "acme");
  CHECK(body.at("commonAnnotations").as_object().at("summary") == "acme error rate 7.5%");
  CHECK(body.at("tenant") == "acme");
  CHECK(body.at("ackURL") == "http://tg.example:9080/v1/alerts/42/ack?token=abc");
  const json::array& alerts = body.at("alerts").as_array();
  REQUIRE(alerts.size() == 1);
  const json::object& alert = alerts[0].as_object();
  CHECK(alert.at("status") == "firing");
  CHECK(alert.at("labels").as_object().at("severity") == "critical");
  CHECK(alert.at("annotations").as_object().at("summary") == "acme error rate 7.5%");
  CHECK(alert.at("startsAt") == "2025-12-03T20:00:30.250Z");
  CHECK(alert.at("endsAt") == "0001-01-01T00:00:00Z");  // as Alertmanager says "still firing"
  CHECK(alert.at("generatorURL") == "http://tg.example:9080/v1/alerts/42");
  CHECK(alert.at("fingerprint") == "0123456789abcdef");

  const json::object resolved = json::parse(webhook_body(sample_job(v1::Alert::STATE_RESOLVED), "http://tg.example:9080"))
                                    .as_object();
  CHECK(resolved.at("status") == "resolved");
  CHECK(resolved.at("alerts").as_array()[0].as_object().at("status") == "resolved");
  CHECK(resolved.at("alerts").as_array()[0].as_object().at("endsAt") == "2025-12-03T20:01:30.000Z");
}

TEST_CASE("alert payloads: the Alertmanager body, firing without endsAt, resolved with it", "[alerts][payloads]") {
  const json::array firing =
      json::parse(alertmanager_body(sample_job(v1::Alert::STATE_FIRING), "http://tg.example:9080")).as_array();
  REQUIRE(firing.size() == 1);
  const json::object& alert = firing[0].as_object();
  CHECK(alert.at("labels").as_object().at("alertname") == "acme-errors");
  CHECK(alert.at("labels").as_object().at("tenant") == "acme");
  CHECK_FALSE(alert.at("labels").as_object().contains("route"));  // empty = absent for Alertmanager
  CHECK(alert.at("annotations").as_object().at("summary") == "acme error rate 7.5%");
  CHECK(alert.at("annotations").as_object().at("ackURL") == "http://tg.example:9080/v1/alerts/42/ack?token=abc");
  CHECK(alert.at("startsAt") == "2025-12-03T20:00:30.250Z");
  CHECK_FALSE(alert.contains("endsAt"));
  CHECK(alert.at("generatorURL") == "http://tg.example:9080/v1/alerts/42");

  const json::array resolved =
      json::parse(alertmanager_body(sample_job(v1::Alert::STATE_RESOLVED), "http://tg.example:9080")).as_array();
  CHECK(resolved[0].as_object().at("endsAt") == "2025-12-03T20:01:30.000Z");
}

TEST_CASE("alert payloads: a pending alert's start is its active time", "[alerts][payloads]") {
  DeliveryJob job = sample_job(v1::Alert::STATE_FIRING);
  job.alert.set_firing_since_unix_ms(0);
  const json::object body = json::parse(webhook_body(job, "http://x")).as_object();
  CHECK(body.at("alerts").as_array()[0].as_object().at("startsAt") == "2025-12-03T20:00:00.000Z");
}

}  // namespace
}  // namespace tg::control::alerts
