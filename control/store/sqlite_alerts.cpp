// SqliteStore's alerting tables (migration 9): the commit of
// CommitBatch::alerts, the load at start, the listings and retention.
#include "store/alert_wire.hpp"
#include "store/sqlite_store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>

namespace tg::control {
namespace {

std::string blob(const SQLite::Column& column) {
  return std::string(static_cast<const char*>(column.getBlob()), static_cast<std::size_t>(column.getBytes()));
}

void bind_blob(SQLite::Statement& s, int index, const std::string& value) {
  s.bind(index, value.data(), static_cast<int>(value.size()));
}

// Upserts or deletes the (name, body) rows of one object table.
void write_objects(SQLite::Database& db, const char* table, const char* key,
                   const std::vector<AlertChanges::Object>& objects) {
  if (objects.empty()) return;
  SQLite::Statement upsert(db, std::string("INSERT INTO ") + table + "(" + key + ", body) VALUES (?, ?) ON CONFLICT(" +
                                   key + ") DO UPDATE SET body = excluded.body");
  SQLite::Statement erase(db, std::string("DELETE FROM ") + table + " WHERE " + key + " = ?");
  for (const auto& object : objects) {
    SQLite::Statement& s = object.body ? upsert : erase;
    s.reset();
    s.bind(1, object.name);
    if (object.body) bind_blob(s, 2, *object.body);
    s.exec();
  }
}

}  // namespace

void SqliteStore::write_alerts(const std::vector<CommitBatch>& batches) {
  bool any = false;
  for (const CommitBatch& batch : batches) any = any || !batch.alerts.empty();
  if (!any) return;
  // Upserts, never INSERT OR REPLACE: a replace deletes the row first, and
  // the delete would cascade to the episode's transitions and deliveries.
  SQLite::Statement episode(*db_,
                            "INSERT INTO alert_episodes(id, fingerprint, rule, tenant, state, active_since_unix_ms, "
                            "resolved_unix_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE "
                            "SET fingerprint = excluded.fingerprint, rule = excluded.rule, tenant = excluded.tenant, "
                            "state = excluded.state, active_since_unix_ms = excluded.active_since_unix_ms, "
                            "resolved_unix_ms = excluded.resolved_unix_ms, body = excluded.body");
  SQLite::Statement transition(*db_, "INSERT INTO alert_transitions(alert_id, body) VALUES (?, ?)");
  SQLite::Statement delivery(*db_,
                             "INSERT INTO alert_deliveries(id, alert_id, notifier, fingerprint, status, "
                             "next_attempt_unix_ms, body, alert_body, ack_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9) ON CONFLICT(id) DO UPDATE SET status = excluded.status, next_attempt_unix_ms = "
                             "excluded.next_attempt_unix_ms, body = excluded.body");
  SQLite::Statement attempt(*db_, "INSERT INTO alert_attempts(delivery_id, body) VALUES (?, ?)");
  SQLite::Statement put_tombstone(*db_,
                                  "INSERT INTO alert_tombstones(name, file) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
                                  "SET file = excluded.file");
  SQLite::Statement clear_tombstone(*db_, "DELETE FROM alert_tombstones WHERE name = ?");
  for (const CommitBatch& batch : batches) {
    const AlertChanges& a = batch.alerts;
    if (a.empty()) continue;
    write_objects(*db_, "alert_rules", "name", a.rules);
    write_objects(*db_, "alert_notifiers", "name", a.notifiers);
    write_objects(*db_, "alert_silences", "id", a.silences);
    for (const auto& t : a.tombstones) {
      SQLite::Statement& s = t.body ? put_tombstone : clear_tombstone;
      s.reset();
      s.bind(1, t.name);
      if (t.body) s.bind(2, *t.body);
      s.exec();
    }
    for (const auto& e : a.episodes) {
      episode.reset();
      episode.bind(1, static_cast<int64_t>(e.id));
      episode.bind(2, e.fingerprint);
      episode.bind(3, e.rule);
      episode.bind(4, e.tenant);
      episode.bind(5, e.state);
      episode.bind(6, static_cast<int64_t>(e.active_since_unix_ms));
      episode.bind(7, static_cast<int64_t>(e.resolved_unix_ms));
      bind_blob(episode, 8, e.body);
      episode.exec();
    }
    for (const auto& t : a.transitions) {
      transition.reset();
      transition.bind(1, static_cast<int64_t>(t.alert_id));
      bind_blob(transition, 2, t.body);
      transition.exec();
    }
    for (const auto& d : a.deliveries) {
      delivery.reset();
      delivery.bind(1, d.id);
      delivery.bind(2, static_cast<int64_t>(d.alert_id));
      delivery.bind(3, d.notifier);
      delivery.bind(4, d.fingerprint);
      delivery.bind(5, d.status);
      delivery.bind(6, static_cast<int64_t>(d.next_attempt_unix_ms));
      bind_blob(delivery, 7, d.body);
      bind_blob(delivery, 8, d.alert_body);
      delivery.bind(9, d.ack_url);
      delivery.exec();
    }
    for (const auto& at : a.attempts) {
      attempt.reset();
      attempt.bind(1, at.delivery_id);
      bind_blob(attempt, 2, at.body);
      attempt.exec();
    }
  }
}

LoadedAlerts SqliteStore::load_alerts() {
  SQLite::Transaction read(*db_);  // one snapshot
  LoadedAlerts out;
  auto bodies = [this](const char* sql, std::vector<std::string>& into) {
    SQLite::Statement q(*db_, sql);
    while (q.executeStep()) into.push_back(blob(q.getColumn(0)));
  };
  bodies("SELECT body FROM alert_rules ORDER BY name", out.rules);
  bodies("SELECT body FROM alert_notifiers ORDER BY name", out.notifiers);
  bodies("SELECT body FROM alert_silences ORDER BY id", out.silences);
  {
    SQLite::Statement q(*db_, "SELECT name, file FROM alert_tombstones ORDER BY name");
    while (q.executeStep()) out.tombstones.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
  }
  {
    SQLite::Statement q(*db_,
                        "SELECT id, fingerprint, rule, tenant, state, active_since_unix_ms, resolved_unix_ms, body "
                        "FROM alert_episodes WHERE resolved_unix_ms = 0 ORDER BY id");
    while (q.executeStep()) {
      AlertChanges::Episode e;
      e.id = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
      e.fingerprint = q.getColumn(1).getString();
      e.rule = q.getColumn(2).getString();
      e.tenant = q.getColumn(3).getString();
      e.state = q.getColumn(4).getInt();
      e.active_since_unix_ms = q.getColumn(5).getInt64();
      e.resolved_unix_ms = q.getColumn(6).getInt64();
      e.body = blob(q.getColumn(7));
      out.open_episodes.push_back(std::move(e));
    }
  }
  {
    SQLite::Statement q(*db_,
                        "SELECT d.id, d.alert_id, d.notifier, d.fingerprint, d.status, d.next_attempt_unix_ms, "
                        "d.body, d.alert_body, d.ack_url, (SELECT COUNT(*) FROM alert_attempts a WHERE a.delivery_id "
                        "= d.id) FROM alert_deliveries d WHERE d.status = 1 ORDER BY d.seq");  // STATUS_PENDING
    while (q.executeStep()) {
      AlertChanges::Delivery d;
      d.id = q.getColumn(0).getString();
      d.alert_id = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
      d.notifier = q.getColumn(2).getString();
      d.fingerprint = q.getColumn(3).getString();
      d.status = q.getColumn(4).getInt();
      d.next_attempt_unix_ms = q.getColumn(5).getInt64();
      d.body = blob(q.getColumn(6));
      d.alert_body = blob(q.getColumn(7));
      d.ack_url = q.getColumn(8).getString();
      d.attempts = static_cast<std::uint32_t>(q.getColumn(9).getInt64());
      out.pending_deliveries.push_back(std::move(d));
    }
  }
  {
    SQLite::Statement q(*db_,
                        "SELECT d.id, d.alert_id, d.notifier, d.fingerprint, d.status, d.body FROM alert_deliveries d "
                        "JOIN alert_episodes e ON e.id = d.alert_id WHERE e.resolved_unix_ms = 0 ORDER BY d.seq");
    while (q.executeStep()) {
      AlertChanges::Delivery d;
      d.id = q.getColumn(0).getString();
      d.alert_id = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
      d.notifier = q.getColumn(2).getString();
      d.fingerprint = q.getColumn(3).getString();
      d.status = q.getColumn(4).getInt();
      d.body = blob(q.getColumn(5));
      out.open_deliveries.push_back(std::move(d));
    }
  }
  {
    SQLite::Statement q(*db_, "SELECT MAX(COALESCE((SELECT MAX(id) FROM alert_episodes), 0), "
                              "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'alert_episodes'), 0))");
    q.executeStep();
    out.max_alert_id = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    SQLite::Statement key(*db_, "SELECT value FROM alert_meta WHERE key = 'ack_key'");
    if (!key.executeStep()) throw std::runtime_error("alert_meta has no ack_key");
    out.ack_key = key.getColumn(0).getString();
  }
  read.commit();
  return out;
}

std::vector<std::string> SqliteStore::list_alerts(const AlertQuery& q) {
  SQLite::Statement query(*db_,
                          "SELECT body FROM alert_episodes WHERE (?1 = 0 OR id < ?1) AND (?2 = 0 OR state = ?2) "
                          "AND (?3 = '' OR tenant = ?3) AND (?4 = '' OR rule = ?4) ORDER BY id DESC LIMIT ?5");
  query.bind(1, static_cast<int64_t>(q.before_id));
  query.bind(2, q.state);
  query.bind(3, q.tenant);
  query.bind(4, q.rule);
  query.bind(5, static_cast<int64_t>(q.limit));
  std::vector<std::string> rows;
  while (query.executeStep()) rows.push_back(blob(query.getColumn(0)));
  return rows;
}

std::optional<std::string> SqliteStore::get_alert(std::uint64_t id) {
  SQLite::Transaction read(*db_);
  SQLite::Statement episode(*db_, "SELECT body FROM alert_episodes WHERE id = ?");
  episode.bind(1, static_cast<int64_t>(id));
  if (!episode.executeStep()) return std::nullopt;
  std::string out = blob(episode.getColumn(0));
  SQLite::Statement transitions(*db_, "SELECT body FROM alert_transitions WHERE alert_id = ? ORDER BY id");
  transitions.bind(1, static_cast<int64_t>(id));
  while (transitions.executeStep()) append_message_field(out, alert_transitions_field, blob(transitions.getColumn(0)));
  SQLite::Statement deliveries(*db_, "SELECT id, body FROM alert_deliveries WHERE alert_id = ? ORDER BY seq");
  deliveries.bind(1, static_cast<int64_t>(id));
  SQLite::Statement attempts(*db_, "SELECT body FROM alert_attempts WHERE delivery_id = ? ORDER BY id");
  while (deliveries.executeStep()) {
    std::string delivery = blob(deliveries.getColumn(1));
    attempts.reset();
    attempts.bind(1, deliveries.getColumn(0).getString());
    while (attempts.executeStep()) append_message_field(delivery, delivery_attempts_field, blob(attempts.getColumn(0)));
    append_message_field(out, alert_deliveries_field, delivery);
  }
  read.commit();
  return out;
}

std::size_t SqliteStore::delete_alerts_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  // Only resolved episodes (resolved_unix_ms > 0); their transitions,
  // deliveries and attempts go with them (ON DELETE CASCADE).
  SQLite::Statement erase(*db_,
                          "DELETE FROM alert_episodes WHERE id IN (SELECT id FROM alert_episodes WHERE "
                          "resolved_unix_ms > 0 AND resolved_unix_ms < ? ORDER BY resolved_unix_ms LIMIT ?)");
  erase.bind(1, static_cast<int64_t>(cutoff_unix_ms));
  erase.bind(2, static_cast<int64_t>(limit));
  try {
    return static_cast<std::size_t>(erase.exec());
  } catch (const SQLite::Exception& e) {
    if ((e.getErrorCode() & 0xff) == SQLITE_FULL) throw StoreFull(e.what());
    throw;
  }
}

}  // namespace tg::control
