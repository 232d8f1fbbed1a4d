#include "store/migrations.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <stdexcept>
#include <string>

namespace tg::control {
namespace {

// Objects are stored as serialized tenantgate.v1 messages (body) next to the
// keys the database must enforce: unique names and the parent references.
// Foreign keys are DEFERRABLE INITIALLY DEFERRED so one transaction may
// create a parent after its child or move children before deleting a parent
// (an apply); they are checked at COMMIT.
constexpr Migration migrations[] = {
    {1, "registry objects",
     R"sql(
CREATE TABLE registry_meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO registry_meta(key, value) VALUES ('revision', 0), ('generation', 0);
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  body BLOB NOT NULL
);
CREATE TABLE services (
  name TEXT PRIMARY KEY,
  tenant TEXT REFERENCES tenants(id) DEFERRABLE INITIALLY DEFERRED,
  body BLOB NOT NULL
);
CREATE INDEX services_by_tenant ON services(tenant);
CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL REFERENCES services(name) DEFERRABLE INITIALLY DEFERRED,
  body BLOB NOT NULL
);
CREATE INDEX instances_by_service ON instances(service);
CREATE TABLE routes (
  name TEXT PRIMARY KEY,
  service TEXT NOT NULL REFERENCES services(name) DEFERRABLE INITIALLY DEFERRED,
  body BLOB NOT NULL
);
CREATE INDEX routes_by_service ON routes(service);
)sql"},
    {2, "audit log",
     R"sql(
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_unix_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  method TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit(time_unix_ms);
CREATE INDEX audit_by_name ON audit(kind, name);
)sql"},
    // The registry id is created with the database (or at this upgrade) and
    // never changes; a copy of the file (a backup) keeps it. fleet_ahead: the
    // highest generation proxies of this registry reported beyond this
    // database (0 = none); kept until tg-control --accept-restore.
    {3, "registry identity",
     R"sql(
CREATE TABLE registry_identity (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO registry_identity(key, value) VALUES ('registry_id', lower(hex(randomblob(16))));
INSERT INTO registry_meta(key, value) VALUES ('fleet_ahead', 0);
CREATE TABLE adopted_registries (
  registry_id TEXT PRIMARY KEY,
  adopted_unix_ms INTEGER NOT NULL
);
)sql"},
    {4, "tombstones",
     R"sql(
CREATE TABLE tombstones (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  file TEXT NOT NULL,
  line INTEGER NOT NULL,
  deleted_unix_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  PRIMARY KEY (kind, name)
);
)sql"},
    // A checksum of each object's body (FNV-1a 64, written with the body and
    // verified at load), so a damaged byte inside a body that still parses
    // (an address, a weight) is found instead of served. Rows written before
    // this migration get theirs when the store opens.
    {5, "body checksums",
     R"sql(
ALTER TABLE tenants ADD COLUMN body_hash INTEGER;
ALTER TABLE services ADD COLUMN body_hash INTEGER;
ALTER TABLE instances ADD COLUMN body_hash INTEGER;
ALTER TABLE routes ADD COLUMN body_hash INTEGER;
)sql"},
    // The events of the product (health flips today; business exceptions,
    // breaker and activation events later), one row per group: occurrences
    // with the same (tenant, service, kind, fingerprint) add to `count` and
    // move last_seen; message, level, instance, route, source and detail are
    // the newest occurrence's. "" stands for "none" in the key columns, so
    // the unique index groups them (NULLs would never be equal).
    {6, "events",
     R"sql(
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  service TEXT NOT NULL,
  instance TEXT NOT NULL,
  route TEXT NOT NULL,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  level TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  message TEXT NOT NULL,
  detail_json TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen_unix_ms INTEGER NOT NULL,
  last_seen_unix_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_group ON events(tenant, service, kind, fingerprint);
CREATE INDEX events_by_last_seen ON events(last_seen_unix_ms, id);
CREATE INDEX events_by_instance ON events(instance, last_seen_unix_ms);
)sql"},
    // Proxy telemetry (docs/control-plane.md, "Telemetry"). A series is
    // (tenant, route, service, instance), "" where a part does not apply;
    // rollups hold one row per (series, minute) whose counters are added to
    // (upsert) by every batch bucketed into that minute, with the 21 latency
    // buckets of common/metrics/histogram.hpp as columns (not cumulative).
    // Named counts (gateway errors by kind, fates) are rows of their own.
    // telemetry_marks is what makes a batch count once: the highest seq
    // committed per (node, boot), written in the batch's transaction.
    {7, "telemetry rollups",
     R"sql(
CREATE TABLE telemetry_series (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  service TEXT NOT NULL,
  instance TEXT NOT NULL
);
CREATE UNIQUE INDEX telemetry_series_by_key ON telemetry_series(tenant, route, service, instance);
CREATE TABLE telemetry_rollups (
  id INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL REFERENCES telemetry_series(id),
  minute_unix_ms INTEGER NOT NULL,
  r1xx INTEGER NOT NULL DEFAULT 0,
  r2xx INTEGER NOT NULL DEFAULT 0,
  r3xx INTEGER NOT NULL DEFAULT 0,
  r4xx INTEGER NOT NULL DEFAULT 0,
  r5xx INTEGER NOT NULL DEFAULT 0,
  gateway_errors INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL DEFAULT 0,
  auth_failures INTEGER NOT NULL DEFAULT 0,
  rate_limited INTEGER NOT NULL DEFAULT 0,
  held INTEGER NOT NULL DEFAULT 0,
  bytes_in INTEGER NOT NULL DEFAULT 0,
  bytes_out INTEGER NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  latency_sum_us INTEGER NOT NULL DEFAULT 0,
  b0 INTEGER NOT NULL DEFAULT 0,
  b1 INTEGER NOT NULL DEFAULT 0,
  b2 INTEGER NOT NULL DEFAULT 0,
  b3 INTEGER NOT NULL DEFAULT 0,
  b4 INTEGER NOT NULL DEFAULT 0,
  b5 INTEGER NOT NULL DEFAULT 0,
  b6 INTEGER NOT NULL DEFAULT 0,
  b7 INTEGER NOT NULL DEFAULT 0,
  b8 INTEGER NOT NULL DEFAULT 0,
  b9 INTEGER NOT NULL DEFAULT 0,
  b10 INTEGER NOT NULL DEFAULT 0,
  b11 INTEGER NOT NULL DEFAULT 0,
  b12 INTEGER NOT NULL DEFAULT 0,
  b13 INTEGER NOT NULL DEFAULT 0,
  b14 INTEGER NOT NULL DEFAULT 0,
  b15 INTEGER NOT NULL DEFAULT 0,
  b16 INTEGER NOT NULL DEFAULT 0,
  b17 INTEGER NOT NULL DEFAULT 0,
  b18 INTEGER NOT NULL DEFAULT 0,
  b19 INTEGER NOT NULL DEFAULT 0,
  b20 INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX telemetry_rollups_by_series ON telemetry_rollups(series_id, minute_unix_ms);
CREATE INDEX telemetry_rollups_by_minute ON telemetry_rollups(minute_unix_ms);
CREATE TABLE telemetry_rollup_counts (
  id INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL REFERENCES telemetry_series(id),
  minute_unix_ms INTEGER NOT NULL,
  what TEXT NOT NULL,
  name TEXT NOT NULL,
  count INTEGER NOT NULL
);
CREATE UNIQUE INDEX telemetry_rollup_counts_by_key ON telemetry_rollup_counts(series_id, minute_unix_ms, what, name);
CREATE INDEX telemetry_rollup_counts_by_minute ON telemetry_rollup_counts(minute_unix_ms);
CREATE TABLE telemetry_marks (
  node_id TEXT NOT NULL,
  boot_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  updated_unix_ms INTEGER NOT NULL,
  PRIMARY KEY (node_id, boot_id)
);
CREATE INDEX telemetry_marks_by_updated ON telemetry_marks(updated_unix_ms);
)sql"},
    // Every single occurrence of an event (of any source) beside its group,
    // and the status reports of tenant containers (control/ingest/). No
    // foreign key from an occurrence to its group: retention prunes both
    // tables in batches of their own, and an occurrence is never newer than
    // its group's last_seen, so a group goes only after its occurrences may.
    {8, "event occurrences and status samples",
     R"sql(
CREATE TABLE event_occurrences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id INTEGER NOT NULL,
  time_unix_ms INTEGER NOT NULL,
  source TEXT NOT NULL,
  instance TEXT NOT NULL,
  route TEXT NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  detail_json TEXT NOT NULL
);
CREATE INDEX event_occurrences_by_time ON event_occurrences(time_unix_ms, id);
CREATE INDEX event_occurrences_by_group ON event_occurrences(group_id, time_unix_ms);
CREATE TABLE status_samples (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_unix_ms INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  service TEXT NOT NULL,
  instance TEXT NOT NULL,
  cpu REAL NOT NULL,
  memory_bytes INTEGER NOT NULL,
  restarts INTEGER NOT NULL,
  load REAL NOT NULL,
  detail_json TEXT NOT NULL
);
CREATE INDEX status_samples_by_time ON status_samples(time_unix_ms);
CREATE INDEX status_samples_by_instance ON status_samples(instance, time_unix_ms);
CREATE INDEX status_samples_by_service ON status_samples(service, time_unix_ms);
)sql"},
    // Alerting (control/alerts/): rules, notifiers and silences as opaque
    // bodies; alert episodes with their transitions; the delivery outbox with
    // every attempt. Children go with their episode (ON DELETE CASCADE), so
    // retention deletes episodes only. The ack key is drawn once, here, from
    // SQLite's randomness (seeded from the OS): the key of the ackURLs'
    // signed tokens, the same for the life of the database. Episode ids are
    // AUTOINCREMENT so that retention never lets an id (and its ackURL) be
    // used twice.
    {9, "alerting",
     R"sql(
CREATE TABLE alert_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO alert_meta(key, value) VALUES ('ack_key', lower(hex(randomblob(32))));
CREATE TABLE alert_rules (
  name TEXT PRIMARY KEY,
  body BLOB NOT NULL
);
CREATE TABLE alert_notifiers (
  name TEXT PRIMARY KEY,
  body BLOB NOT NULL
);
CREATE TABLE alert_silences (
  id TEXT PRIMARY KEY,
  body BLOB NOT NULL
);
CREATE TABLE alert_tombstones (
  name TEXT PRIMARY KEY,
  file TEXT NOT NULL
);
CREATE TABLE alert_episodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  tenant TEXT NOT NULL,
  state INTEGER NOT NULL,
  active_since_unix_ms INTEGER NOT NULL,
  resolved_unix_ms INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX alert_episodes_open ON alert_episodes(resolved_unix_ms, id);
CREATE INDEX alert_episodes_by_tenant ON alert_episodes(tenant, id);
CREATE INDEX alert_episodes_by_rule ON alert_episodes(rule, id);
CREATE TABLE alert_transitions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alert_episodes(id) ON DELETE CASCADE,
  body BLOB NOT NULL
);
CREATE INDEX alert_transitions_by_alert ON alert_transitions(alert_id, id);
CREATE TABLE alert_deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  alert_id INTEGER NOT NULL REFERENCES alert_episodes(id) ON DELETE CASCADE,
  notifier TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  next_attempt_unix_ms INTEGER NOT NULL,
  body BLOB NOT NULL,
  alert_body BLOB NOT NULL,
  ack_url TEXT NOT NULL
);
CREATE INDEX alert_deliveries_by_alert ON alert_deliveries(alert_id, seq);
CREATE INDEX alert_deliveries_by_status ON alert_deliveries(status, seq);
CREATE TABLE alert_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id TEXT NOT NULL REFERENCES alert_deliveries(id) ON DELETE CASCADE,
  body BLOB NOT NULL
);
CREATE INDEX alert_attempts_by_delivery ON alert_attempts(delivery_id, id);
)sql"},
};

}  // namespace

std::span<const Migration> schema_migrations() { return migrations; }

int schema_version(SQLite::Database& db) {
  if (!db.tableExists("schema_migrations")) return 0;
  SQLite::Statement query(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  query.executeStep();
  return query.getColumn(0).getInt();
}

int apply_migrations(SQLite::Database& db, std::span<const Migration> known, long long now_unix_ms) {
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_unix_ms INTEGER NOT NULL)");
  const int current = schema_version(db);
  const int newest_known = known.empty() ? 0 : known.back().version;
  if (current > newest_known) {
    throw std::runtime_error("the database has schema version " + std::to_string(current) +
                             " but this tg-control knows only up to " + std::to_string(newest_known) +
                             " (written by a newer tg-control?)");
  }
  // Each migration is looked up by its number, not compared with the newest:
  // numbers are reserved per feature and may land out of order.
  SQLite::Statement recorded(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
  int applied = 0;
  for (const Migration& migration : known) {
    recorded.reset();
    recorded.bind(1, migration.version);
    if (recorded.executeStep()) continue;
    try {
      db.exec(migration.sql);
    } catch (const std::exception& e) {
      throw std::runtime_error("migration " + std::to_string(migration.version) + " (" + migration.name +
                               ") failed: " + e.what());
    }
    SQLite::Statement record(db, "INSERT INTO schema_migrations(version, name, applied_unix_ms) VALUES (?, ?, ?)");
    record.bind(1, migration.version);
    record.bind(2, migration.name);
    record.bind(3, static_cast<int64_t>(now_unix_ms));
    record.exec();
    ++applied;
  }
  transaction.commit();
  return applied;
}

}  // namespace tg::control
