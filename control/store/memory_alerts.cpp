// MemoryStore's alerting rows: the same contract as store/sqlite_alerts.cpp.
#include "store/alert_wire.hpp"
#include "store/memory_store.hpp"

#include <algorithm>
#include <stdexcept>

namespace tg::control {
namespace {

void apply_objects(std::map<std::string, std::string>& table, const std::vector<AlertChanges::Object>& objects) {
  for (const auto& object : objects) {
    if (object.body) table[object.name] = *object.body;
    else table.erase(object.name);
  }
}

}  // namespace

void MemoryStore::commit_alerts(Alerts& a, const AlertChanges& changes) {
  if (changes.empty()) return;
  apply_objects(a.rules, changes.rules);
  apply_objects(a.notifiers, changes.notifiers);
  apply_objects(a.silences, changes.silences);
  apply_objects(a.tombstones, changes.tombstones);
  for (const auto& e : changes.episodes) {
    a.episodes[e.id] = e;
    a.max_alert_id = std::max(a.max_alert_id, e.id);
  }
  for (const auto& t : changes.transitions) {
    if (!a.episodes.contains(t.alert_id))
      throw std::runtime_error("FOREIGN KEY constraint failed: transition of alert " + std::to_string(t.alert_id));
    a.transitions[t.alert_id].push_back(t.body);
  }
  for (const auto& d : changes.deliveries) {
    if (!a.episodes.contains(d.alert_id))
      throw std::runtime_error("FOREIGN KEY constraint failed: delivery of alert " + std::to_string(d.alert_id));
    auto it = a.deliveries.find(d.id);
    if (it == a.deliveries.end()) {
      a.deliveries.emplace(d.id, std::make_pair(++a.delivery_seq, d));
    } else {  // as the upsert: status, next attempt and body change; the rest stays
      it->second.second.status = d.status;
      it->second.second.next_attempt_unix_ms = d.next_attempt_unix_ms;
      it->second.second.body = d.body;
    }
  }
  for (const auto& at : changes.attempts) {
    if (!a.deliveries.contains(at.delivery_id))
      throw std::runtime_error("FOREIGN KEY constraint failed: attempt of delivery " + at.delivery_id);
    a.attempts[at.delivery_id].push_back(at.body);
  }
}

LoadedAlerts MemoryStore::load_alerts() {
  std::lock_guard lock(mutex_);
  LoadedAlerts out;
  for (const auto& [name, body] : alerts_.rules) out.rules.push_back(body);
  for (const auto& [name, body] : alerts_.notifiers) out.notifiers.push_back(body);
  for (const auto& [id, body] : alerts_.silences) out.silences.push_back(body);
  for (const auto& [name, file] : alerts_.tombstones) out.tombstones.push_back({name, file});
  for (const auto& [id, e] : alerts_.episodes)
    if (e.resolved_unix_ms == 0) out.open_episodes.push_back(e);
  std::vector<std::pair<std::uint64_t, AlertChanges::Delivery>> pending;
  for (const auto& [id, row] : alerts_.deliveries)
    if (row.second.status == 1) {  // STATUS_PENDING
      AlertChanges::Delivery d = row.second;
      auto attempts = alerts_.attempts.find(id);
      d.attempts = attempts == alerts_.attempts.end() ? 0 : static_cast<std::uint32_t>(attempts->second.size());
      pending.emplace_back(row.first, std::move(d));
    }
  std::sort(pending.begin(), pending.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (auto& [seq, d] : pending) out.pending_deliveries.push_back(std::move(d));
  std::vector<std::pair<std::uint64_t, AlertChanges::Delivery>> of_open;
  for (const auto& [id, row] : alerts_.deliveries) {
    auto e = alerts_.episodes.find(row.second.alert_id);
    if (e != alerts_.episodes.end() && e->second.resolved_unix_ms == 0) of_open.emplace_back(row.first, row.second);
  }
  std::sort(of_open.begin(), of_open.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (auto& [seq, d] : of_open) out.open_deliveries.push_back(std::move(d));
  out.max_alert_id = alerts_.max_alert_id;
  out.ack_key = alerts_.ack_key;
  return out;
}

std::vector<std::string> MemoryStore::list_alerts(const AlertQuery& q) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> rows;
  for (auto it = alerts_.episodes.rbegin(); it != alerts_.episodes.rend() && rows.size() < q.limit; ++it) {
    const AlertChanges::Episode& e = it->second;
    if (q.before_id != 0 && e.id >= q.before_id) continue;
    if (q.state != 0 && e.state != q.state) continue;
    if (!q.tenant.empty() && e.tenant != q.tenant) continue;
    if (!q.rule.empty() && e.rule != q.rule) continue;
    rows.push_back(e.body);
  }
  return rows;
}

std::optional<std::string> MemoryStore::get_alert(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = alerts_.episodes.find(id);
  if (it == alerts_.episodes.end()) return std::nullopt;
  std::string out = it->second.body;
  if (auto t = alerts_.transitions.find(id); t != alerts_.transitions.end())
    for (const auto& body : t->second) append_message_field(out, alert_transitions_field, body);
  std::vector<std::pair<std::uint64_t, const AlertChanges::Delivery*>> deliveries;
  for (const auto& [did, row] : alerts_.deliveries)
    if (row.second.alert_id == id) deliveries.emplace_back(row.first, &row.second);
  std::sort(deliveries.begin(), deliveries.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [seq, d] : deliveries) {
    std::string delivery = d->body;
    if (auto at = alerts_.attempts.find(d->id); at != alerts_.attempts.end())
      for (const auto& body : at->second) append_message_field(delivery, delivery_attempts_field, body);
    append_message_field(out, alert_deliveries_field, delivery);
  }
  return out;
}

std::size_t MemoryStore::delete_alerts_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::int64_t, std::uint64_t>> old;  // (resolved, id), the oldest first
  for (const auto& [id, e] : alerts_.episodes)
    if (e.resolved_unix_ms > 0 && e.resolved_unix_ms < cutoff_unix_ms) old.emplace_back(e.resolved_unix_ms, id);
  std::sort(old.begin(), old.end());
  if (old.size() > limit) old.resize(limit);
  for (const auto& [resolved, id] : old) {
    alerts_.episodes.erase(id);
    alerts_.transitions.erase(id);
    for (auto it = alerts_.deliveries.begin(); it != alerts_.deliveries.end();) {
      if (it->second.second.alert_id == id) {
        alerts_.attempts.erase(it->first);
        it = alerts_.deliveries.erase(it);
      } else {
        ++it;
      }
    }
  }
  return old.size();
}

}  // namespace tg::control
