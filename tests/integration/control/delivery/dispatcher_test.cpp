// The alert dispatcher against receivers on loopback: a retried 503 keeps
// its webhook-id and its signature verifies, a 400 is final after one
// attempt, a receiver that is down and comes back, a receiver slower than
// the notifier's timeout (which does not hold back another notifier), the
// order of one fingerprint's notifications, the in-flight bound, and a
// deleted notifier's jobs dropped, and https with a verified certificate.
#include "alerts/dispatcher.hpp"
#include "control/delivery/receiver.hpp"
#include "control/delivery/tls_certificate.hpp"
#include "support/poll.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <mutex>
#include <set>

namespace tg::itest {
namespace {

namespace alerts = tg::control::alerts;
namespace v1 = ::tenantgate::v1;
using namespace std::chrono_literals;

const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// The outcomes a dispatcher reported, in order, from its thread.
class Outcomes {
 public:
  alerts::Dispatcher::OnOutcome sink() {
    return [this](alerts::AttemptOutcome outcome) {
      std::lock_guard lock(mutex_);
      outcomes_.push_back(std::move(outcome));
    };
  }
  std::vector<alerts::AttemptOutcome> all() const {
    std::lock_guard lock(mutex_);
    return outcomes_;
  }
  std::vector<alerts::AttemptOutcome> of(const std::string& id) const {
    std::vector<alerts::AttemptOutcome> out;
    for (auto& outcome : all())
      if (outcome.id == id) out.push_back(outcome);
    return out;
  }
  // True once `id` reached `status` within `timeout`.
  bool wait_for(const std::string& id, v1::Delivery::Status status, std::chrono::milliseconds timeout = 10s) const {
    return poll_for(timeout, [&] {
      for (const auto& outcome : of(id))
        if (outcome.status == status) return true;
      return false;
    });
  }

 private:
  mutable std::mutex mutex_;
  std::vector<alerts::AttemptOutcome> outcomes_;
};

alerts::DispatcherOptions fast_options() {
  alerts::DispatcherOptions options;
  options.external_url = "http://127.0.0.1:1";
  options.initial_backoff = 100ms;
  options.max_backoff = 300ms;
  return options;
}

alerts::DeliveryJob job_for(const std::string& notifier, const std::string& url, const std::string& fingerprint,
                            v1::Alert::State state, std::uint32_t repeat = 0) {
  alerts::DeliveryJob job;
  job.notifier.set_name(notifier);
  job.notifier.set_type(v1::Notifier::TYPE_WEBHOOK);
  job.notifier.set_url(url);
  job.notifier.set_timeout_ms(2000);
  job.alert.set_id(7);
  job.alert.set_fingerprint(fingerprint);
  job.alert.set_rule("errors");
  (*job.alert.mutable_labels())["alertname"] = "errors";
  (*job.alert.mutable_labels())["tenant"] = "acme";
  job.alert.set_tenant("acme");
  job.alert.set_active_since_unix_ms(1'764'792'000'000);
  job.alert.set_firing_since_unix_ms(1'764'792'000'000);
  job.state = state;
  if (state == v1::Alert::STATE_RESOLVED) job.alert.set_resolved_unix_ms(1'764'792'060'000);
  job.repeat = repeat;
  job.created_unix_ms = control::SystemClock().unix_ms();
  job.id = alerts::delivery_id(notifier, fingerprint, job.alert.active_since_unix_ms(), state, repeat);
  return job;
}

std::string status_of(const ReceivedRequest& request) {
  return std::string(boost::json::parse(request.body).as_object().at("status").as_string());
}

std::string fingerprint_of(const ReceivedRequest& request) {
  return std::string(boost::json::parse(request.body)
                         .as_object()
                         .at("alerts")
                         .as_array()[0]
                         .as_object()
                         .at("fingerprint")
                         .as_string());
}

TEST_CASE("alert dispatcher: a 503 is retried with the same webhook-id, then delivered and signed",
          "[alerts][dispatcher]") {
  Receiver receiver([](const ReceivedRequest&, std::size_t index) {
    return ReceiverAnswer{index == 0 ? 503 : 200, 0ms, {}, index == 0 ? "busy" : ""};
  });
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  auto job = job_for("ops", receiver.url("/hook"), "00000000000000a1", v1::Alert::STATE_FIRING);
  job.secret = secret;
  dispatcher.enqueue(job);
  REQUIRE(outcomes.wait_for(job.id, v1::Delivery::STATUS_DELIVERED));

  const auto reported = outcomes.of(job.id);
  REQUIRE(reported.size() == 2);
  CHECK(reported[0].status == v1::Delivery::STATUS_PENDING);
  CHECK(reported[0].attempt.http_status() == 503);
  CHECK(reported[0].attempt.error() == "http 503: busy");
  CHECK(reported[0].next_attempt_unix_ms >= reported[0].attempt.unix_ms());
  CHECK(reported[0].next_attempt_unix_ms <= reported[0].attempt.unix_ms() + 2'000 + 100);
  CHECK(reported[0].notifier == "ops");
  CHECK(reported[0].fingerprint == "00000000000000a1");
  CHECK(reported[1].attempt.http_status() == 200);
  CHECK(reported[1].attempt.error() == "");
  CHECK(dispatcher.depth() == 0);

  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  for (const auto& request : requests) {
    CHECK(request.target == "/hook");
    CHECK(request.header("webhook-id") == job.id);
    CHECK(request.header("content-type") == "application/json");
    CHECK(request.header("user-agent") == "tenantgate");
    const std::string timestamp = request.header("webhook-timestamp");
    REQUIRE_FALSE(timestamp.empty());
    CHECK(std::abs(std::stoll(timestamp) - clock.unix_ms() / 1000) < 60);
    // Verified as a receiver does: HMAC over id.timestamp.body with the decoded secret.
    CHECK(request.header("webhook-signature") ==
          alerts::webhook_signature(secret, job.id, std::stoll(timestamp), request.body));
    const auto body = boost::json::parse(request.body).as_object();
    CHECK(body.at("version") == "4");
    CHECK(body.at("receiver") == "ops");
    CHECK(body.at("status") == "firing");
  }
  CHECK(requests[0].body == requests[1].body);
}

TEST_CASE("alert dispatcher: a 400 is final after one attempt, unsigned without a secret", "[alerts][dispatcher]") {
  Receiver receiver([](const ReceivedRequest&, std::size_t) { return ReceiverAnswer{400, 0ms, {}, "bad body"}; });
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  const auto job = job_for("ops", receiver.url("/hook"), "00000000000000b1", v1::Alert::STATE_FIRING);
  dispatcher.enqueue(job);
  REQUIRE(outcomes.wait_for(job.id, v1::Delivery::STATUS_FAILED));
  const auto reported = outcomes.of(job.id);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].attempt.http_status() == 400);
  CHECK(reported[0].attempt.error() == "http 400: bad body");
  CHECK(dispatcher.depth() == 0);  // nothing left to try
  REQUIRE(receiver.count() == 1);
  CHECK(receiver.requests()[0].header("webhook-signature") == "");
}

TEST_CASE("alert dispatcher: a receiver that is down gets the notification once it is back", "[alerts][dispatcher]") {
  std::uint16_t port = 0;
  {
    Receiver probe;
    port = probe.port();
  }
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  const auto job = job_for("ops", "http://127.0.0.1:" + std::to_string(port) + "/hook", "00000000000000c1",
                           v1::Alert::STATE_FIRING);
  dispatcher.enqueue(job);
  CHECK(dispatcher.depth() == 1);
  CHECK(dispatcher.oldest_created_unix_ms() == job.created_unix_ms);
  REQUIRE(poll_for(10s, [&] { return outcomes.of(job.id).size() >= 3; }));
  for (const auto& outcome : outcomes.of(job.id)) {
    CHECK(outcome.status == v1::Delivery::STATUS_PENDING);
    CHECK(outcome.attempt.http_status() == 0);
    CHECK(outcome.attempt.error().starts_with("connect: "));
  }
  Receiver receiver({}, port);
  REQUIRE(outcomes.wait_for(job.id, v1::Delivery::STATUS_DELIVERED));
  REQUIRE(receiver.count() == 1);
  CHECK(receiver.requests()[0].header("webhook-id") == job.id);
  CHECK(dispatcher.depth() == 0);
  CHECK(dispatcher.oldest_created_unix_ms() == 0);
}

TEST_CASE("alert dispatcher: a slow receiver times out without holding back another notifier",
          "[alerts][dispatcher]") {
  Receiver slow([](const ReceivedRequest&, std::size_t) { return ReceiverAnswer{200, 5s, {}, ""}; });
  Receiver fast;
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  auto stuck = job_for("slow", slow.url("/hook"), "00000000000000d1", v1::Alert::STATE_FIRING);
  stuck.notifier.set_timeout_ms(300);
  const auto quick = job_for("fast", fast.url("/hook"), "00000000000000d1", v1::Alert::STATE_FIRING);
  const auto started = Clock::now();
  dispatcher.enqueue(stuck);
  REQUIRE(poll_for(5s, [&] { return slow.count() == 1; }));
  dispatcher.enqueue(quick);
  REQUIRE(outcomes.wait_for(quick.id, v1::Delivery::STATUS_DELIVERED));
  // The fast notifier was served while the slow one's attempt was still open.
  CHECK(outcomes.of(stuck.id).empty());

  REQUIRE(poll_for(5s, [&] { return !outcomes.of(stuck.id).empty(); }));
  const auto timed_out = outcomes.of(stuck.id)[0];
  CHECK(timed_out.status == v1::Delivery::STATUS_PENDING);
  CHECK(timed_out.attempt.error() == "timeout");
  CHECK(timed_out.attempt.http_status() == 0);
  CHECK(timed_out.attempt.duration_ms() >= 250);
  CHECK(timed_out.attempt.duration_ms() < 2000);
  CHECK(elapsed_ms(started) < 4000);  // the deadline, not the receiver's 5 s
  dispatcher.stop();  // prompt, with an attempt in flight
  CHECK(elapsed_ms(started) < 5000);
}

TEST_CASE("alert dispatcher: a resolved never overtakes its firing, other fingerprints proceed",
          "[alerts][dispatcher]") {
  // The firing of fingerprint e1 is refused with 503 three times.
  std::atomic<int> refusals{0};
  Receiver receiver([&](const ReceivedRequest& request, std::size_t) {
    if (fingerprint_of(request) == "00000000000000e1" && status_of(request) == "firing" && refusals < 3) {
      ++refusals;
      return ReceiverAnswer{503, 0ms, {}, ""};
    }
    return ReceiverAnswer{};
  });
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  const auto firing = job_for("ops", receiver.url("/hook"), "00000000000000e1", v1::Alert::STATE_FIRING);
  const auto resolved = job_for("ops", receiver.url("/hook"), "00000000000000e1", v1::Alert::STATE_RESOLVED);
  const auto other = job_for("ops", receiver.url("/hook"), "00000000000000e2", v1::Alert::STATE_FIRING);
  dispatcher.enqueue(firing);
  dispatcher.enqueue(resolved);
  dispatcher.enqueue(other);
  CHECK(dispatcher.depth() == 3);
  REQUIRE(outcomes.wait_for(resolved.id, v1::Delivery::STATUS_DELIVERED));
  REQUIRE(outcomes.wait_for(other.id, v1::Delivery::STATUS_DELIVERED));

  std::vector<std::string> e1;  // the statuses e1's requests carried, in arrival order
  std::size_t other_at = 0, firing_delivered_at = 0;
  const auto requests = receiver.requests();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (fingerprint_of(requests[i]) == "00000000000000e2") {
      other_at = i;
      continue;
    }
    e1.push_back(status_of(requests[i]));
    if (e1.size() == 4) firing_delivered_at = i;
  }
  CHECK(e1 == std::vector<std::string>{"firing", "firing", "firing", "firing", "resolved"});
  CHECK(other_at < firing_delivered_at);  // e2 did not wait for e1's retries
  // The outcomes say the same: the firing delivered before the resolved was tried.
  const auto all = outcomes.all();
  std::size_t firing_done = all.size(), resolved_first = all.size();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].id == firing.id && all[i].status == v1::Delivery::STATUS_DELIVERED) firing_done = i;
    if (all[i].id == resolved.id && resolved_first == all.size()) resolved_first = i;
  }
  CHECK(firing_done < resolved_first);
}

TEST_CASE("alert dispatcher: at most max_in_flight attempts at once", "[alerts][dispatcher]") {
  Receiver receiver([](const ReceivedRequest&, std::size_t) { return ReceiverAnswer{200, 150ms, {}, ""}; });
  control::SystemClock clock;
  Outcomes outcomes;
  auto options = fast_options();
  options.max_in_flight = 2;
  alerts::Dispatcher dispatcher(clock, options, outcomes.sink());
  dispatcher.start();
  std::vector<alerts::DeliveryJob> jobs;
  for (int i = 0; i < 6; ++i) {
    jobs.push_back(job_for("ops", receiver.url("/hook"), "00000000000000f" + std::to_string(i),
                           v1::Alert::STATE_FIRING));
    dispatcher.enqueue(jobs.back());
  }
  for (const auto& job : jobs) REQUIRE(outcomes.wait_for(job.id, v1::Delivery::STATUS_DELIVERED));
  CHECK(receiver.max_concurrent() == 2);
  CHECK(receiver.count() == 6);
}

TEST_CASE("alert dispatcher: a deleted notifier's jobs are dropped without an outcome", "[alerts][dispatcher]") {
  std::uint16_t port = 0;
  {
    Receiver probe;
    port = probe.port();
  }
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  const auto doomed = job_for("old", url, "0000000000000011", v1::Alert::STATE_FIRING);
  dispatcher.enqueue(doomed);
  dispatcher.enqueue(job_for("old", url, "0000000000000011", v1::Alert::STATE_RESOLVED));
  REQUIRE(poll_for(5s, [&] { return !outcomes.of(doomed.id).empty(); }));
  dispatcher.cancel_notifier("old");
  CHECK(dispatcher.depth() == 0);
  const std::size_t reported = outcomes.all().size();
  // A receiver on the port now would get the next retry if one were left.
  Receiver receiver({}, port);
  Receiver other;
  const auto kept = job_for("new", other.url("/hook"), "0000000000000011", v1::Alert::STATE_FIRING);
  dispatcher.enqueue(kept);
  REQUIRE(outcomes.wait_for(kept.id, v1::Delivery::STATUS_DELIVERED));
  // Longer than the retries' cap: a job left behind would have been tried by now.
  poll_for(600ms, [] { return false; });
  CHECK(receiver.count() == 0);
  CHECK(outcomes.all().size() == reported + 1);
}

TEST_CASE("alert dispatcher: the Alertmanager type posts to /api/v2/alerts, unsigned", "[alerts][dispatcher]") {
  Receiver receiver;
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  auto job = job_for("am", receiver.url("/prefix/"), "0000000000000021", v1::Alert::STATE_FIRING);
  job.notifier.set_type(v1::Notifier::TYPE_ALERTMANAGER);
  job.secret = secret;  // not used for Alertmanager
  dispatcher.enqueue(job);
  REQUIRE(outcomes.wait_for(job.id, v1::Delivery::STATUS_DELIVERED));
  REQUIRE(receiver.count() == 1);
  const auto request = receiver.requests()[0];
  CHECK(request.target == "/prefix/api/v2/alerts");
  CHECK(request.header("webhook-signature") == "");
  const auto body = boost::json::parse(request.body);
  REQUIRE(body.is_array());
  CHECK(body.as_array()[0].as_object().at("labels").as_object().at("alertname") == "errors");
}

TEST_CASE("alert dispatcher: a notifier URL that cannot be used fails at once", "[alerts][dispatcher]") {
  control::SystemClock clock;
  Outcomes outcomes;
  alerts::Dispatcher dispatcher(clock, fast_options(), outcomes.sink());
  dispatcher.start();
  const auto job = job_for("ops", "ftp://example.com/hook", "0000000000000031", v1::Alert::STATE_FIRING);
  dispatcher.enqueue(job);
  REQUIRE(outcomes.wait_for(job.id, v1::Delivery::STATUS_FAILED));
  CHECK(outcomes.of(job.id)[0].attempt.error().starts_with("bad url \"ftp://example.com/hook\""));
}

TEST_CASE("alert dispatcher: a job re-enqueued after a restart keeps its schedule and its give-up time",
          "[alerts][dispatcher]") {
  std::uint16_t dead_port = 0;
  {
    Receiver probe;
    dead_port = probe.port();
  }
  Receiver receiver;
  control::SystemClock clock;
  Outcomes outcomes;
  auto options = fast_options();
  options.give_up_after = std::chrono::minutes(60);
  alerts::Dispatcher dispatcher(clock, options, outcomes.sink());
  dispatcher.start();

  // Pending from before the restart: its next attempt is 500 ms away.
  auto later = job_for("ops", receiver.url("/hook"), "0000000000000051", v1::Alert::STATE_FIRING);
  later.attempts_done = 4;
  later.not_before_unix_ms = clock.unix_ms() + 500;
  const auto enqueued = Clock::now();
  dispatcher.enqueue(later);
  REQUIRE(outcomes.wait_for(later.id, v1::Delivery::STATUS_DELIVERED));
  CHECK(elapsed_ms(enqueued) >= 450);
  REQUIRE(receiver.count() == 1);

  // Created longer ago than give_up_after: its next failure is final.
  auto old = job_for("ops", "http://127.0.0.1:" + std::to_string(dead_port) + "/hook", "0000000000000052",
                     v1::Alert::STATE_FIRING);
  old.attempts_done = 30;
  old.created_unix_ms = clock.unix_ms() - 61 * 60'000;
  dispatcher.enqueue(old);
  REQUIRE(outcomes.wait_for(old.id, v1::Delivery::STATUS_FAILED));
  const auto reported = outcomes.of(old.id);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].attempt.error().find("gave up after 31 attempts") != std::string::npos);
}

TEST_CASE("alert dispatcher: https to a trusted certificate naming the host, others refused",
          "[alerts][dispatcher]") {
  TempDir dir("tg-delivery-tls");
  TlsCertificate certificate("IP:127.0.0.1,DNS:localhost");
  certificate.write(dir.file("cert.pem"), dir.file("key.pem"));
  Receiver receiver({}, dir.file("cert.pem"), dir.file("key.pem"));
  control::SystemClock clock;
  Outcomes outcomes;
  auto options = fast_options();
  options.ca_file = dir.file("cert.pem");
  alerts::Dispatcher dispatcher(clock, options, outcomes.sink());
  dispatcher.start();
  const auto by_name = job_for("ops", receiver.url("/hook", "localhost"), "0000000000000041", v1::Alert::STATE_FIRING);
  const auto by_address = job_for("ops", receiver.url("/hook"), "0000000000000042", v1::Alert::STATE_FIRING);
  REQUIRE(by_name.notifier.url().starts_with("https://localhost:"));
  dispatcher.enqueue(by_name);
  dispatcher.enqueue(by_address);
  REQUIRE(outcomes.wait_for(by_name.id, v1::Delivery::STATUS_DELIVERED));
  REQUIRE(outcomes.wait_for(by_address.id, v1::Delivery::STATUS_DELIVERED));
  CHECK(receiver.count() == 2);

  // The system store does not trust the test's certificate: a TLS error, retried.
  Outcomes untrusted;
  alerts::Dispatcher system_store(clock, fast_options(), untrusted.sink());
  system_store.start();
  const auto refused = job_for("ops", receiver.url("/hook", "localhost"), "0000000000000043", v1::Alert::STATE_FIRING);
  system_store.enqueue(refused);
  REQUIRE(poll_for(10s, [&] { return !untrusted.of(refused.id).empty(); }));
  const auto outcome = untrusted.of(refused.id)[0];
  CHECK(outcome.status == v1::Delivery::STATUS_PENDING);
  CHECK(outcome.attempt.error().starts_with("TLS handshake: "));
  system_store.stop();
  CHECK(receiver.count() == 2);
}

}  // namespace
}  // namespace tg::itest
