// An in-memory Store for logic tests: same contract as SqliteStore (one
// all-or-nothing commit of a group of batches, referential checks at commit),
// no file. Thread-safe so tests can inspect it while a writer thread runs.
#pragma once

#include "store/store.hpp"

#include <condition_variable>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

namespace tg::control {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::string registry_id = "00000000000000000000000000memory") : registry_id_(std::move(registry_id)) {}

  LoadedState load() override;
  std::uint64_t begin_generation() override;
  void commit(const std::vector<CommitBatch>& batches) override;
  std::vector<AuditRow> list_audit(const AuditQuery& query) override;
  std::vector<EventRow> list_events(const EventQuery& query) override;
  std::size_t delete_audit_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  std::size_t delete_events_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  void probe_write() override;
  std::vector<TelemetryMark> load_telemetry_marks() override;
  std::vector<SeriesKey> load_telemetry_series() override;
  std::vector<RollupRow> read_rollups_since(std::int64_t since_unix_ms) override;
  std::vector<RollupMinute> read_rollup_minutes(const RollupQuery& query) override;
  std::size_t delete_rollups_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  std::vector<StatusSample> list_status_samples(const StatusQuery& query) override;
  std::size_t delete_occurrences_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  std::size_t delete_status_samples_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;
  // Alerting (store/memory_alerts.cpp).
  LoadedAlerts load_alerts() override;
  std::vector<std::string> list_alerts(const AlertQuery& query) override;
  std::optional<std::string> get_alert(std::uint64_t id) override;
  std::size_t delete_alerts_before(std::int64_t cutoff_unix_ms, std::size_t limit) override;

  // Test hooks.
  std::size_t commit_count() const;                 // successful commit() calls
  void fail_next_commit();                          // the next commit() throws and stores nothing
  void hold_commits(bool hold);                     // while held, commit() waits (at most 10 s)
  std::size_t held_commits() const;                 // commit() calls waiting on the hold now
  void set_full(bool full);                         // while full, commit() and probe_write() throw StoreFull

 private:
  mutable std::mutex mutex_;
  std::condition_variable released_;
  bool hold_ = false;
  bool fail_next_ = false;
  bool full_ = false;
  std::size_t held_ = 0;
  std::size_t commits_ = 0;
  std::uint64_t revision_ = 0;
  std::uint64_t generation_ = 0;
  std::string registry_id_;
  std::set<std::string> adopted_;
  std::uint64_t fleet_ahead_ = 0;
  std::map<std::string, std::pair<std::string, std::string>> objects_[4];  // name → (parent, body)
  std::vector<AuditRow> audit_;
  std::uint64_t next_audit_id_ = 1;  // ids are never reused, also after retention deleted rows
  std::map<std::pair<ObjectKind, std::string>, Tombstone> tombstones_;
  std::vector<EventRow> events_;  // in id order
  std::uint64_t next_event_id_ = 1;
  // Telemetry (store/memory_rollups.cpp); commit_telemetry runs under mutex_.
  void commit_telemetry(const CommitBatch& batch);
  void add_event(const EventRecord& event);  // under mutex_
  std::map<std::pair<std::string, std::string>, TelemetryMark> marks_;
  std::map<std::pair<SeriesKey, std::int64_t>, RollupCounters> rollups_;
  std::map<std::tuple<SeriesKey, std::int64_t, std::string>, std::uint64_t> rollup_counts_;  // "error:KIND" / "fate:NAME"
  std::vector<EventRow> occurrences_;  // in id order; record.time_unix_ms is the occurrence's
  std::uint64_t next_occurrence_id_ = 1;
  std::vector<StatusSample> status_samples_;  // in insertion order
  // Alerting (store/memory_alerts.cpp); under mutex_. check_alerts throws as
  // SQLite's foreign keys would (a row naming an absent episode or delivery).
  struct Alerts {
    std::map<std::string, std::string> rules, notifiers, silences, tombstones;
    std::map<std::uint64_t, AlertChanges::Episode> episodes;
    std::map<std::uint64_t, std::vector<std::string>> transitions;  // alert id → bodies in order
    std::uint64_t delivery_seq = 0;
    std::map<std::string, std::pair<std::uint64_t, AlertChanges::Delivery>> deliveries;  // id → (seq, row)
    std::map<std::string, std::vector<std::string>> attempts;                            // delivery id → bodies
    std::uint64_t max_alert_id = 0;
    std::string ack_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  };
  static void commit_alerts(Alerts& alerts, const AlertChanges& changes);
  Alerts alerts_;
};

// True when a row matches the query's filters (both stores agree on them).
bool audit_matches(const AuditQuery& query, const AuditRow& row);

}  // namespace tg::control
