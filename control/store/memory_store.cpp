#include "store/memory_store.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <tuple>

namespace tg::control {

std::string_view to_string(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::tenant: return "tenant";
    case ObjectKind::service: return "service";
    case ObjectKind::instance: return "instance";
    case ObjectKind::route: return "route";
  }
  return "?";
}

std::optional<ObjectKind> object_kind_from_string(std::string_view text) {
  for (ObjectKind kind : all_object_kinds)
    if (to_string(kind) == text) return kind;
  return std::nullopt;
}

bool audit_matches(const AuditQuery& query, const AuditRow& row) {
  const AuditRecord& r = row.record;
  if (query.before_id != 0 && row.id >= query.before_id) return false;
  if (!query.actor.empty() && r.actor != query.actor) return false;
  if (!query.kind.empty() && r.kind != query.kind) return false;
  if (!query.name.empty() && r.name != query.name) return false;
  if (!query.method.empty() && r.method != query.method) return false;
  if (query.since_unix_ms != 0 && r.time_unix_ms < query.since_unix_ms) return false;
  if (query.until_unix_ms != 0 && r.time_unix_ms >= query.until_unix_ms) return false;
  return true;
}

LoadedState MemoryStore::load() {
  std::lock_guard lock(mutex_);
  LoadedState state;
  state.revision = revision_;
  state.generation = generation_;
  state.registry_id = registry_id_;
  state.adopted.assign(adopted_.begin(), adopted_.end());
  state.fleet_ahead = fleet_ahead_;
  std::vector<std::string>* out[4] = {&state.tenants, &state.services, &state.instances, &state.routes};
  std::vector<StoredKey>* keys[4] = {&state.tenant_keys, &state.service_keys, &state.instance_keys,
                                     &state.route_keys};
  for (int k = 0; k < 4; ++k)
    for (const auto& [name, entry] : objects_[k]) {
      out[k]->push_back(entry.second);
      keys[k]->push_back(StoredKey{name, entry.first});
    }
  for (const auto& [key, tombstone] : tombstones_) state.tombstones.push_back(tombstone);
  return state;
}

std::uint64_t MemoryStore::begin_generation() {
  std::lock_guard lock(mutex_);
  return ++generation_;
}

void MemoryStore::add_event(const EventRecord& event) {
  auto same_group = [&](const EventRow& row) {
    return row.record.tenant == event.tenant && row.record.service == event.service &&
           row.record.kind == event.kind && row.record.fingerprint == event.fingerprint;
  };
  auto it = std::find_if(events_.begin(), events_.end(), same_group);
  EventRow occurrence{next_occurrence_id_++, 0, event, 1, event.time_unix_ms, event.time_unix_ms};
  if (occurrence.record.detail_json.empty()) occurrence.record.detail_json = "{}";
  if (it == events_.end()) {
    EventRow row{next_event_id_++, 0, event, 1, event.time_unix_ms, event.time_unix_ms};
    if (row.record.detail_json.empty()) row.record.detail_json = "{}";
    occurrence.group_id = row.id;
    occurrences_.push_back(std::move(occurrence));
    events_.push_back(std::move(row));
    return;
  }
  occurrence.group_id = it->id;
  occurrences_.push_back(std::move(occurrence));
  const std::int64_t last = std::max(it->last_seen_unix_ms, event.time_unix_ms);
  it->record = event;
  if (it->record.detail_json.empty()) it->record.detail_json = "{}";
  it->record.time_unix_ms = last;
  it->last_seen_unix_ms = last;
  ++it->count;
}

void MemoryStore::commit(const std::vector<CommitBatch>& batches) {
  std::unique_lock lock(mutex_);
  ++held_;
  released_.wait_for(lock, std::chrono::seconds(10), [this] { return !hold_; });
  --held_;
  if (fail_next_) {
    fail_next_ = false;
    throw std::runtime_error("injected commit failure");
  }
  if (full_) throw StoreFull("database or disk is full (MemoryStore::set_full)");
  // Work on a copy so a failed referential check leaves nothing behind.
  std::array<std::map<std::string, std::pair<std::string, std::string>>, 4> objects;
  std::copy(std::begin(objects_), std::end(objects_), objects.begin());
  for (const auto& batch : batches) {
    for (const auto& m : batch.mutations) {
      auto& table = objects[static_cast<int>(m.kind)];
      if (m.body) {
        table[m.name] = {m.parent, *m.body};
      } else {
        table.erase(m.name);
      }
    }
  }
  // Parents must exist at commit time (SQLite: deferred foreign keys).
  auto check = [&](int child, int parent, bool empty_ok) {
    for (const auto& [name, entry] : objects[child]) {
      if (empty_ok && entry.first.empty()) continue;
      if (!objects[parent].contains(entry.first))
        throw std::runtime_error("FOREIGN KEY constraint failed: " + name + " -> " + entry.first);
    }
  };
  check(1, 0, true);
  check(2, 1, false);
  check(3, 1, false);
  // The alerting rows as one unit too: checked on a copy first.
  Alerts alerts = alerts_;
  for (const auto& batch : batches) commit_alerts(alerts, batch.alerts);
  for (int k = 0; k < 4; ++k) objects_[k] = std::move(objects[k]);
  alerts_ = std::move(alerts);
  for (const auto& batch : batches) {
    for (const auto& key : batch.cleared_tombstones) tombstones_.erase({key.kind, key.name});
    for (const auto& tombstone : batch.tombstones) tombstones_[{tombstone.kind, tombstone.name}] = tombstone;
    for (const auto& record : batch.audit) audit_.push_back(AuditRow{next_audit_id_++, record});
    for (const auto& event : batch.events) add_event(event);
    commit_telemetry(batch);
    for (StatusSample sample : batch.status_samples) {
      if (sample.detail_json.empty()) sample.detail_json = "{}";  // as SqliteStore stores it
      status_samples_.push_back(std::move(sample));
    }
    if (batch.revision > revision_) revision_ = batch.revision;
    if (batch.identity.generation) generation_ = std::max(generation_, *batch.identity.generation);
    if (batch.identity.fleet_ahead) fleet_ahead_ = *batch.identity.fleet_ahead;
    adopted_.insert(batch.identity.adopted.begin(), batch.identity.adopted.end());
  }
  ++commits_;
}

std::vector<AuditRow> MemoryStore::list_audit(const AuditQuery& query) {
  std::lock_guard lock(mutex_);
  std::vector<AuditRow> rows;
  for (auto it = audit_.rbegin(); it != audit_.rend() && rows.size() < query.limit; ++it)
    if (audit_matches(query, *it)) rows.push_back(*it);
  return rows;
}

std::vector<EventRow> MemoryStore::list_events(const EventQuery& query) {
  std::lock_guard lock(mutex_);
  std::vector<EventRow> rows;
  const int min_rank = query.min_level.empty() ? -1 : event_level_rank(query.min_level);
  for (const EventRow& row : query.occurrences ? occurrences_ : events_) {
    const EventRecord& r = row.record;
    if (event_level_rank(r.level) < min_rank) continue;
    if (query.before_last_seen_unix_ms != 0 &&
        !(row.last_seen_unix_ms < query.before_last_seen_unix_ms ||
          (row.last_seen_unix_ms == query.before_last_seen_unix_ms && row.id < query.before_id)))
      continue;
    if (!query.tenant.empty() && r.tenant != query.tenant) continue;
    if (!query.service.empty() && r.service != query.service) continue;
    if (!query.instance.empty() && r.instance != query.instance) continue;
    if (!query.kind.empty() && r.kind != query.kind) continue;
    if (query.since_unix_ms != 0 && row.last_seen_unix_ms < query.since_unix_ms) continue;
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(), [](const EventRow& a, const EventRow& b) {
    return std::tie(a.last_seen_unix_ms, a.id) > std::tie(b.last_seen_unix_ms, b.id);
  });
  if (rows.size() > query.limit) rows.resize(query.limit);
  return rows;
}

std::size_t MemoryStore::commit_count() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

std::size_t MemoryStore::held_commits() const {
  std::lock_guard lock(mutex_);
  return held_;
}

void MemoryStore::fail_next_commit() {
  std::lock_guard lock(mutex_);
  fail_next_ = true;
}

void MemoryStore::hold_commits(bool hold) {
  {
    std::lock_guard lock(mutex_);
    hold_ = hold;
  }
  released_.notify_all();
}

}  // namespace tg::control

namespace tg::control {

void MemoryStore::probe_write() {
  std::lock_guard lock(mutex_);
  if (full_) throw StoreFull("database or disk is full (MemoryStore::set_full)");
}

std::size_t MemoryStore::delete_audit_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  if (full_) throw StoreFull("database or disk is full (MemoryStore::set_full)");
  std::size_t deleted = 0;
  std::erase_if(audit_, [&](const AuditRow& row) {
    if (deleted >= limit || row.record.time_unix_ms >= cutoff_unix_ms) return false;
    ++deleted;
    return true;
  });
  return deleted;
}

std::size_t MemoryStore::delete_events_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  if (full_) throw StoreFull("database or disk is full (MemoryStore::set_full)");
  std::size_t deleted = 0;
  std::erase_if(events_, [&](const EventRow& row) {
    if (deleted >= limit || row.last_seen_unix_ms >= cutoff_unix_ms) return false;
    ++deleted;
    return true;
  });
  return deleted;
}

std::vector<StatusSample> MemoryStore::list_status_samples(const StatusQuery& query) {
  std::lock_guard lock(mutex_);
  std::vector<StatusSample> rows;
  for (const StatusSample& s : status_samples_) {
    if (!query.tenant.empty() && s.tenant != query.tenant) continue;
    if (!query.service.empty() && s.service != query.service) continue;
    if (!query.instance.empty() && s.instance != query.instance) continue;
    if (s.time_unix_ms < query.since_unix_ms) continue;
    if (query.until_unix_ms != 0 && s.time_unix_ms >= query.until_unix_ms) continue;
    rows.push_back(s);
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const StatusSample& a, const StatusSample& b) { return a.time_unix_ms < b.time_unix_ms; });
  if (rows.size() > query.limit) rows.resize(query.limit);
  return rows;
}

std::size_t MemoryStore::delete_occurrences_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  if (full_) throw StoreFull("database or disk is full (MemoryStore::set_full)");
  std::size_t deleted = 0;
  std::erase_if(occurrences_, [&](const EventRow& row) {
    if (deleted >= limit || row.last_seen_unix_ms >= cutoff_unix_ms) return false;
    ++deleted;
    return true;
  });
  return deleted;
}

std::size_t MemoryStore::delete_status_samples_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  if (full_) throw StoreFull("database or disk is full (MemoryStore::set_full)");
  std::size_t deleted = 0;
  std::erase_if(status_samples_, [&](const StatusSample& row) {
    if (deleted >= limit || row.time_unix_ms >= cutoff_unix_ms) return false;
    ++deleted;
    return true;
  });
  return deleted;
}

void MemoryStore::set_full(bool full) {
  std::lock_guard lock(mutex_);
  full_ = full;
}

}  // namespace tg::control
