// The alerting state of tg-control on the owner loop (docs/alerting.md):
// rules, notifiers, silences and the open alert episodes, and every
// transition on them. The same contract as the Registry: a write validates,
// changes memory, fills `changes` (AlertChanges of a CommitBatch) and the
// response; the caller commits the batch and answers only after COMMIT.
// Deliveries are handed to the Dispatcher only after the batch that created
// them committed (deliveries_committed()).
//
// Pure logic: no I/O, no threads, the clock injected. Single-threaded.
#pragma once

#include "alerts/dispatcher.hpp"
#include "alerts/eval.hpp"
#include "alerts/lifecycle.hpp"
#include "clock.hpp"
#include "registry/registry.hpp"  // WriteContext
#include "status.hpp"
#include "store/alert_records.hpp"

#include "tenantgate/v1/admin.pb.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tg::config {
struct Config;
}

namespace tg::control::alerts {

struct BookOptions {
  std::string external_url;  // tg-control's HTTP base URL (ackURL, generatorURL)
  // Key for the per-alert signed tokens of ackURLs (HMAC-SHA256 of the alert id).
  std::string ack_key;
  std::int64_t alertmanager_refresh_ms = 60'000;  // re-post firing alerts to Alertmanager at least this often
  // Reads a notifier's secret_file when a delivery job is made (the secret
  // is never stored). Unset: the file is read, one trailing newline dropped;
  // an unreadable file gives an empty secret (unsigned) and is logged.
  std::function<std::string(const std::string& path)> read_secret;
};

class Book {
 public:
  Book(const Clock& clock, BookOptions options);
  ~Book();

  // Startup: what the store holds, then the config files' rules and
  // notifiers (file-owned: re-applied, the API may not edit them without
  // take_ownership). Jobs to (re-)enqueue come from pending_jobs().
  void load(const LoadedAlerts& loaded);
  // `warnings` (when given) gets the declarations skipped (another source
  // owns the object, or a tombstone of the same file).
  Status apply_files(const std::vector<std::pair<const config::Config*, std::string>>& files, AlertChanges& changes,
                     std::vector<std::string>* warnings = nullptr);
  std::vector<DeliveryJob> pending_jobs() const;

  // ---- rules and notifiers (Admin API)
  std::vector<v1::AlertRule> list_rules(const std::string& tenant) const;
  const v1::AlertRule* find_rule(const std::string& name) const;
  Status create_rule(const v1::AlertRule& rule, const WriteContext& who, AlertChanges& changes, v1::AlertRule* out);
  Status update_rule(const v1::AlertRule& rule, bool take_ownership, const WriteContext& who, AlertChanges& changes,
                     v1::AlertRule* out);
  Status delete_rule(const std::string& name, bool take_ownership, const WriteContext& who, AlertChanges& changes);
  std::vector<v1::Notifier> list_notifiers() const;
  const v1::Notifier* find_notifier(const std::string& name) const;
  Status create_notifier(const v1::Notifier& notifier, const WriteContext& who, AlertChanges& changes,
                         v1::Notifier* out);
  Status update_notifier(const v1::Notifier& notifier, bool take_ownership, const WriteContext& who,
                         AlertChanges& changes, v1::Notifier* out);
  Status delete_notifier(const std::string& name, bool take_ownership, const WriteContext& who,
                         AlertChanges& changes);

  // ---- alerts (open episodes are in memory; resolved ones are read from the store)
  const v1::Alert* find_open(std::uint64_t id) const;
  Status ack(std::uint64_t id, const std::string& comment, const WriteContext& who, AlertChanges& changes,
             v1::Alert* out);
  Status unack(std::uint64_t id, const WriteContext& who, AlertChanges& changes, v1::Alert* out);
  Status resolve(std::uint64_t id, const std::string& reason, const WriteContext& who, AlertChanges& changes,
                 v1::Alert* out);
  // Checks an ackURL token for alert `id` (constant-time compare).
  bool ack_token_valid(std::uint64_t id, const std::string& token) const;

  // ---- silences
  std::vector<v1::Silence> list_silences(bool include_expired) const;
  Status create_silence(const v1::Silence& silence, const WriteContext& who, AlertChanges& changes, v1::Silence* out);
  Status expire_silence(const std::string& id, const WriteContext& who, AlertChanges& changes, v1::Silence* out);

  // ---- cascade (registry deletes): rules whose scope names the object
  std::vector<std::string> rules_naming(const std::string& kind, const std::string& name) const;
  // Disables them and resolves their open alerts (reason "cascade").
  void cascade(const std::string& kind, const std::string& name, const WriteContext& who, AlertChanges& changes);

  // ---- evaluation (the engine, every --eval-interval): every enabled rule
  // evaluated, lifecycle steps applied, repeats due created, deliveries
  // created per notifier (not for silenced alerts; no repeats while acknowledged).
  void evaluate(const EvalInputs& inputs, AlertChanges& changes);

  // After `changes` committed: the jobs its deliveries describe, to enqueue.
  std::vector<DeliveryJob> deliveries_committed(const AlertChanges& changes) const;
  // A dispatcher outcome: the delivery's row and the attempt to commit.
  void record_outcome(const AttemptOutcome& outcome, AlertChanges& changes);

  // /metrics: alerts by state and severity, and the rule count.
  std::map<std::pair<std::string, std::string>, std::size_t> open_by_state_severity() const;
  std::size_t rule_count() const;
  // Deliveries not yet DELIVERED, FAILED or CANCELLED (the outbox), and the
  // creation time of the oldest of them (0 when none).
  std::size_t outbox_depth() const;
  std::int64_t outbox_oldest_created_unix_ms() const;
  // The external URL once the HTTP port is bound (deliveries created after use it).
  void set_external_url(std::string url) { options_.external_url = std::move(url); }
  // The ackURL of alert `id`: <external_url>/v1/alerts/<id>/ack?token=<hex HMAC-SHA256(ack_key, id)>.
  std::string ack_url(std::uint64_t id) const;

 private:
  std::optional<DeliveryJob> job_of(const AlertChanges::Delivery& row) const;

 public:
  struct State;  // alerts/book_state.hpp

 private:
  std::unique_ptr<State> state_;
  const Clock& clock_;
  BookOptions options_;
};

}  // namespace tg::control::alerts
