// The storage boundary of the registry (docs/control-plane.md).
//
// The registry logic produces CommitBatches (serialized objects to upsert or
// delete, audit rows, the new revision); a Store makes a group of batches
// durable in ONE transaction and says so only after COMMIT returned. Objects
// are opaque bytes here (serialized tenantgate.v1 messages) plus the key of
// their parent, so the store can enforce referential integrity without knowing
// protobuf.
//
// Two implementations: SqliteStore (the product) and MemoryStore (logic tests:
// the same code path minus SQLite). Stores are used from one thread at a time
// (the writer thread; at startup, the main thread before it starts).
#pragma once

#include "store/alert_records.hpp"
#include "store/rollups.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tg::control {

enum class ObjectKind { tenant, service, instance, route };
inline constexpr ObjectKind all_object_kinds[] = {ObjectKind::tenant, ObjectKind::service, ObjectKind::instance,
                                                  ObjectKind::route};
// "tenant" | "service" | "instance" | "route" (audit rows, Change.kind).
std::string_view to_string(ObjectKind kind);
// The inverse of to_string; nullopt for anything else.
std::optional<ObjectKind> object_kind_from_string(std::string_view text);

struct Mutation {
  ObjectKind kind = ObjectKind::tenant;
  std::string name;                 // id or name
  std::string parent;               // service: tenant ("" = none); instance, route: service; tenant: ""
  std::optional<std::string> body;  // serialized object; nullopt = delete
};

struct AuditRecord {
  std::int64_t time_unix_ms = 0;
  std::string actor;
  std::string method;
  std::string kind;
  std::string name;
  std::string before_json;  // empty when created
  std::string after_json;   // empty when deleted
};

// Changes of the registry's identity records (docs/control-plane.md,
// "Registry identity and restores"), committed with the batch's audit rows.
struct IdentityChange {
  std::optional<std::uint64_t> generation;   // the stored generation becomes at least this
  std::optional<std::uint64_t> fleet_ahead;  // 0 clears the "database older than the fleet" mark
  std::vector<std::string> adopted;          // registry ids adopted (tgctl registry adopt)
  std::int64_t time_unix_ms = 0;             // when adopted

  bool empty() const { return !generation && !fleet_ahead && adopted.empty(); }
};

// A file-owned object deleted through the Admin API (with take_ownership):
// startup does not recreate it from `file` while the tombstone exists. Keyed
// by (kind, name).
struct Tombstone {
  ObjectKind kind = ObjectKind::tenant;
  std::string name;
  std::string file;  // the config file that declared it
  std::uint32_t line = 0;
  std::int64_t deleted_unix_ms = 0;
  std::string actor;  // who deleted it
};

struct TombstoneKey {
  ObjectKind kind = ObjectKind::tenant;
  std::string name;
};

// One occurrence of something worth telling an operator (a health flip, a
// business exception). Events are grouped: occurrences with the same
// (tenant, service, kind, fingerprint) share one stored row whose count,
// last_seen, message, level, instance and detail follow the newest one.
struct EventRecord {
  std::int64_t time_unix_ms = 0;
  std::string source;  // "health-check", "heartbeat", "ingest", ...
  std::string kind;    // "health", ...
  std::string level;   // "info" | "warning" | "error"
  std::string tenant, service, instance, route;  // "" = none
  std::string fingerprint;  // the group key within (tenant, service, kind)
  std::string message;
  std::string detail_json;  // a JSON object, "{}" when there is nothing more
};

struct EventQuery {
  std::string tenant, service, instance, kind;  // empty = any
  std::int64_t since_unix_ms = 0;  // groups last seen at or after; 0 = no bound
  std::uint32_t limit = 100;
  // Page: groups after (last_seen, id) = (before_last_seen_unix_ms, before_id)
  // in the listing order, i.e. the last row of the previous page; 0, 0 = from the top.
  std::int64_t before_last_seen_unix_ms = 0;
  std::uint64_t before_id = 0;
  // At or above this level (event_level_rank); empty = any.
  std::string min_level;
  // Single occurrences instead of groups: each row is one occurrence (count
  // 1, first = last seen = its time, id its own, group_id its group's), the
  // newest first, paged by (time, id) as groups are.
  bool occurrences = false;
};

// The order of event levels, "debug" 0 < "info" < "warning" < "error" <
// "critical" 4; -1 for anything else.
inline int event_level_rank(std::string_view level) {
  constexpr std::string_view levels[] = {"debug", "info", "warning", "error", "critical"};
  for (int i = 0; i < 5; ++i)
    if (levels[i] == level) return i;
  return -1;
}

// A tenant container's status report (POST /v1/ingest/status): one row per
// report, kept for the status metrics (cpu, memory_bytes, restarts, load).
struct StatusSample {
  std::int64_t time_unix_ms = 0;
  std::string tenant, service, instance;
  double cpu = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t restarts = 0;
  double load = 0;
  std::string detail_json;  // a JSON object, "{}" when there is nothing more
};

struct StatusQuery {
  std::string tenant, service, instance;  // empty = any
  std::int64_t since_unix_ms = 0;         // inclusive
  std::int64_t until_unix_ms = 0;         // exclusive; 0 = no bound
  std::uint32_t limit = 100000;           // oldest first, at most this many
};

// One stored group; `record` holds the newest occurrence.
struct EventRow {
  std::uint64_t id = 0;
  std::uint64_t group_id = 0;  // occurrences: the group's id; 0 for a group
  EventRecord record;
  std::uint64_t count = 0;
  std::int64_t first_seen_unix_ms = 0;
  std::int64_t last_seen_unix_ms = 0;
};

// One registry change (one Admin write, one apply, one startup file, one TTL
// sweep): everything in it commits together or not at all.
struct CommitBatch {
  std::uint64_t revision = 0;  // the registry revision this batch produces
  std::vector<Mutation> mutations;
  std::vector<AuditRecord> audit;
  IdentityChange identity;
  std::vector<Tombstone> tombstones;              // recorded (replacing one of the same key)
  std::vector<TombstoneKey> cleared_tombstones;   // removed (absent ones are ignored)
  std::vector<EventRecord> events;                // recorded with the change (a health flip's event)
  // Proxy telemetry batches (control/telemetry/): each one's deltas and its
  // mark commit together; a resend is detected in the transaction.
  std::vector<TelemetryCommit> telemetry;
  std::vector<StatusSample> status_samples;       // containers' status reports
  AlertChanges alerts;                            // alert rules, episodes, outbox (control/alerts/)

  bool empty() const {
    return mutations.empty() && audit.empty() && identity.empty() && tombstones.empty() &&
           cleared_tombstones.empty() && events.empty() && telemetry.empty() && status_samples.empty() &&
           alerts.empty();
  }
};

// The key columns of one stored object row: its id or name and its parent
// (service: tenant, "" = none; instance, route: service; tenant: "").
// Registry::load checks them against the serialized body and against the
// other tables, so a row whose key or body was damaged is named, not loaded.
struct StoredKey {
  std::string name;
  std::string parent;
};

struct LoadedState {
  std::uint64_t revision = 0;
  std::uint64_t generation = 0;
  std::string registry_id;
  std::vector<std::string> adopted;  // sorted
  std::uint64_t fleet_ahead = 0;
  // Serialized objects per kind, ordered by key.
  std::vector<std::string> tenants, services, instances, routes;
  // The key columns of each object, parallel to the bodies above.
  std::vector<StoredKey> tenant_keys, service_keys, instance_keys, route_keys;
  std::vector<Tombstone> tombstones;  // ordered by (kind, name)
};

struct AuditQuery {
  std::string actor, kind, name, method;  // empty = any
  std::int64_t since_unix_ms = 0;         // inclusive; 0 = no bound
  std::int64_t until_unix_ms = 0;         // exclusive; 0 = no bound
  std::uint32_t limit = 100;
  std::uint64_t before_id = 0;  // 0 = from the newest
};

struct AuditRow {
  std::uint64_t id = 0;
  AuditRecord record;
};

// A commit that failed because the disk (or the database's page limit) is
// full: nothing of it was stored, the database is intact, and the same write
// may succeed once space returns. Other commit failures are std::exception.
class StoreFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;

  // Everything committed so far.
  virtual LoadedState load() = 0;

  // Increments the stored generation, commits it, returns the new value. Called
  // once per process start so versions (generation, counter) never repeat, even
  // after a database restore.
  virtual std::uint64_t begin_generation() = 0;

  // Commits all batches in one transaction (in order); the stored revision
  // becomes the last batch's. Throws std::exception on failure, having rolled
  // back: then nothing of `batches` is stored. StoreFull when there was no
  // space for it.
  virtual void commit(const std::vector<CommitBatch>& batches) = 0;

  // Whether a write that needs new space succeeds now (read-only mode asks
  // this periodically). Leaves no trace in the registry. Throws StoreFull or
  // std::exception when it does not.
  virtual void probe_write() = 0;

  // Newest first, at most query.limit rows.
  virtual std::vector<AuditRow> list_audit(const AuditQuery& query) = 0;

  // Event groups, the most recently seen first (ties: higher id first), at
  // most query.limit rows.
  virtual std::vector<EventRow> list_events(const EventQuery& query) = 0;

  // Deletes at most `limit` audit rows older than `cutoff_unix_ms` (the
  // oldest first) in one transaction; returns how many. Retention calls it
  // in batches so no transaction is long.
  virtual std::size_t delete_audit_before(std::int64_t cutoff_unix_ms, std::size_t limit) = 0;
  // The same for event groups last seen before `cutoff_unix_ms` (a group
  // still recurring is kept whole, however old its first occurrence).
  virtual std::size_t delete_events_before(std::int64_t cutoff_unix_ms, std::size_t limit) = 0;

  // ---- telemetry (control/telemetry/). Stores without telemetry throw
  // std::logic_error from these (test doubles of other parts).
  // Every stored (node, boot) → seq mark.
  virtual std::vector<TelemetryMark> load_telemetry_marks();
  // Every stored series (what the per-tenant series cap counts at start).
  virtual std::vector<SeriesKey> load_telemetry_series();
  // Every series' minutes at or after `since_unix_ms` (re-seeding memory).
  virtual std::vector<RollupRow> read_rollups_since(std::int64_t since_unix_ms);
  // The minutes of the query, summed over its series, oldest first.
  virtual std::vector<RollupMinute> read_rollup_minutes(const RollupQuery& query);
  // Deletes at most `limit` minute rows older than `cutoff_unix_ms` (with
  // their named counts), then, when none was left, marks not updated since
  // the cutoff; returns how many rows went.
  virtual std::size_t delete_rollups_before(std::int64_t cutoff_unix_ms, std::size_t limit);
  // Every event's single occurrences (whatever its source) and the status
  // samples of tenant containers (control/ingest/).
  virtual std::vector<StatusSample> list_status_samples(const StatusQuery& query) = 0;
  // Retention of both, in batches as above: occurrences older than the cutoff
  // (their group may stay: it was seen since), status samples older than it.
  virtual std::size_t delete_occurrences_before(std::int64_t cutoff_unix_ms, std::size_t limit) = 0;
  virtual std::size_t delete_status_samples_before(std::int64_t cutoff_unix_ms, std::size_t limit) = 0;

  // ---- alerting (control/alerts/). Stores without it throw std::logic_error.
  virtual LoadedAlerts load_alerts();
  // Episodes (serialized v1::Alert without transitions/deliveries), id descending.
  virtual std::vector<std::string> list_alerts(const AlertQuery& query);
  // One episode with its transitions and deliveries (with their attempts),
  // serialized v1::Alert; nullopt when absent.
  virtual std::optional<std::string> get_alert(std::uint64_t id);
  // Retention: resolved episodes (with their transitions, deliveries and
  // attempts) resolved before the cutoff, in batches as above.
  virtual std::size_t delete_alerts_before(std::int64_t cutoff_unix_ms, std::size_t limit);
};

}  // namespace tg::control
