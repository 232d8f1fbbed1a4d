// What the alerting part of tg-control makes durable (docs/alerting.md): the
// rows a CommitBatch carries for it, and the state loaded at start. Bodies
// are serialized tenantgate.v1 messages (alerting.proto), opaque to the store
// like the registry's objects; the store keeps the columns it filters and
// orders on beside them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tg::control {

struct AlertChanges {
  struct Object {
    std::string name;                 // rule / notifier name, silence id
    std::optional<std::string> body;  // nullopt = delete
  };
  std::vector<Object> rules;      // v1::AlertRule
  std::vector<Object> notifiers;  // v1::Notifier
  std::vector<Object> silences;   // v1::Silence
  // File-owned rules and notifiers deleted through the API: startup does not
  // recreate them from their file while the tombstone exists. name "rule/NAME"
  // or "notifier/NAME", body the file that declared it; nullopt = cleared.
  std::vector<Object> tombstones;

  // Episodes inserted or replaced by id: v1::Alert without transitions and deliveries.
  struct Episode {
    std::uint64_t id = 0;
    std::string fingerprint, rule, tenant;
    int state = 0;  // v1::Alert::State
    std::int64_t active_since_unix_ms = 0;
    std::int64_t resolved_unix_ms = 0;  // 0 while open
    std::string body;
  };
  std::vector<Episode> episodes;

  struct Transition {
    std::uint64_t alert_id = 0;
    std::string body;  // v1::AlertTransition
  };
  std::vector<Transition> transitions;

  // Outbox rows inserted or replaced by id: v1::Delivery without attempts,
  // and what re-enqueueing it after a restart needs (the alert as told, the
  // ack URL).
  struct Delivery {
    std::string id;
    std::uint64_t alert_id = 0;
    std::string notifier, fingerprint;
    int status = 0;  // v1::Delivery::Status
    std::int64_t next_attempt_unix_ms = 0;
    std::string body;        // v1::Delivery
    std::string alert_body;  // v1::Alert as told
    std::string ack_url;
    std::uint32_t attempts = 0;  // load_alerts only: attempts recorded so far
  };
  std::vector<Delivery> deliveries;

  struct Attempt {
    std::string delivery_id;
    std::string body;  // v1::DeliveryAttempt
  };
  std::vector<Attempt> attempts;

  bool empty() const {
    return rules.empty() && notifiers.empty() && silences.empty() && tombstones.empty() && episodes.empty() &&
           transitions.empty() && deliveries.empty() && attempts.empty();
  }
};

struct LoadedAlerts {
  std::vector<std::string> rules, notifiers, silences;  // bodies
  std::vector<AlertChanges::Episode> open_episodes;     // not resolved
  std::vector<AlertChanges::Delivery> pending_deliveries;  // status PENDING, oldest first
  std::uint64_t max_alert_id = 0;
  std::vector<AlertChanges::Object> tombstones;  // as AlertChanges::tombstones, ordered by name
  // Every delivery of the open episodes (any status), oldest first: what
  // each notifier was told of them, so a restart neither re-sends nor
  // repeats early.
  std::vector<AlertChanges::Delivery> open_deliveries;
  // 32 random bytes as 64 hex digits, created once per database (migration
  // 9): the key of the ackURLs' signed tokens.
  std::string ack_key;
};

struct AlertQuery {
  int state = 0;  // v1::Alert::State; 0 = any
  std::string tenant, rule;  // empty = any
  std::uint32_t limit = 100;
  std::uint64_t before_id = 0;  // 0 = from the newest
};

}  // namespace tg::control
