// Delivery of notifications (docs/alerting.md, "Delivery"): HTTP POSTs to
// webhook receivers and Alertmanagers, on the dispatcher's own I/O thread,
// with retries. The dispatcher never touches the store: the book persists a
// delivery (the outbox row) BEFORE it enqueues it, and persists every
// attempt's outcome that the dispatcher reports — so a restart re-enqueues
// what was pending, and delivery is at-least-once with a stable id.
#pragma once

#include "clock.hpp"

#include "tenantgate/v1/alerting.pb.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tg::control::alerts {

namespace v1 = ::tenantgate::v1;

// One notification of one alert to one notifier.
struct DeliveryJob {
  std::string id;                  // delivery_id(): sent as webhook-id
  v1::Notifier notifier;           // as it was when the delivery was created
  std::string secret;              // the notifier's secret (file content read by the book); empty = unsigned
  v1::Alert alert;                 // the alert as told: state, labels, annotations, times, value
  v1::Alert::State state = v1::Alert::STATE_FIRING;  // FIRING or RESOLVED
  std::uint32_t repeat = 0;
  std::uint32_t attempts_done = 0;        // attempts already made (a job re-enqueued after a restart)
  std::int64_t created_unix_ms = 0;       // retries give up `give_up_after` after this
  std::int64_t not_before_unix_ms = 0;    // the next attempt, not earlier
  std::string ack_url;                    // the ackURL of the payload (with its signed token)
};

// The outcome of one attempt, reported on the dispatcher's thread (the
// callback posts it to the owner loop).
struct AttemptOutcome {
  std::string id;           // DeliveryJob::id
  std::string notifier;
  std::string fingerprint;  // alert.fingerprint
  v1::DeliveryAttempt attempt;
  // DELIVERED (2xx), FAILED (final: a 4xx other than 408/429, or retries gave
  // up), or PENDING with the next attempt's time.
  v1::Delivery::Status status = v1::Delivery::STATUS_PENDING;
  std::int64_t next_attempt_unix_ms = 0;
};

struct DispatcherOptions {
  std::string external_url;  // the payloads' externalURL / generatorURL base (tg-control's HTTP port)
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(5)};
  std::chrono::milliseconds give_up_after{std::chrono::hours(2)};  // at least an hour of retries
  std::size_t max_in_flight = 64;  // concurrent HTTP attempts over all notifiers
  std::string ca_file;  // PEM bundle to trust for https instead of the system store (tests); "" = system
};

class Dispatcher {
 public:
  using OnOutcome = std::function<void(AttemptOutcome)>;
  Dispatcher(const Clock& clock, DispatcherOptions options, OnOutcome on_outcome);
  ~Dispatcher();  // stops
  void start();
  void stop();  // in-flight attempts are abandoned (their jobs stay pending in the store)

  // Any thread. Jobs of one (notifier, fingerprint) run one after another in
  // enqueue order: a job starts only when the previous one is DELIVERED or
  // FAILED, so a resolved never overtakes its firing.
  void enqueue(DeliveryJob job);
  // Any thread. Drops the queued jobs of a notifier (deleted): no outcome is reported for them.
  void cancel_notifier(const std::string& notifier);

  std::size_t depth() const;                     // jobs queued or in flight
  std::int64_t oldest_created_unix_ms() const;   // of those; 0 when none

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A stable id for the delivery key (notifier, fingerprint, episode start,
// state, repeat): "msg_" + 32 hex digits of a hash of the key.
std::string delivery_id(const std::string& notifier, const std::string& fingerprint, std::int64_t episode_start_unix_ms,
                        v1::Alert::State state, std::uint32_t repeat);

// Payloads (pure; tests and the dispatcher):
// the Alertmanager webhook v4 JSON (version "4", groupKey, status, receiver,
// groupLabels, commonLabels, commonAnnotations, externalURL, truncatedAlerts,
// alerts[{status, labels, annotations, startsAt, endsAt, generatorURL,
// fingerprint}]) plus "tenant" and "ackURL";
std::string webhook_body(const DeliveryJob& job, const std::string& external_url);
// the JSON array POSTed to Alertmanager's /api/v2/alerts (endsAt set when resolved).
std::string alertmanager_body(const DeliveryJob& job, const std::string& external_url);
// Standard Webhooks: "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)).
// `secret` "whsec_..." is base64-decoded first; anything else is used as bytes.
std::string webhook_signature(const std::string& secret, const std::string& id, std::int64_t timestamp_s,
                              const std::string& body);

}  // namespace tg::control::alerts
