// MemoryStore's telemetry: the same contract as store/sqlite_rollups.cpp
// (marks decide duplicates inside the commit; upserts add), in maps.
#include "store/memory_store.hpp"

#include <algorithm>
#include <stdexcept>

namespace tg::control {

// Stores that do not keep telemetry (test doubles of other parts).
std::vector<TelemetryMark> Store::load_telemetry_marks() { throw std::logic_error("this store keeps no telemetry"); }
std::vector<SeriesKey> Store::load_telemetry_series() { throw std::logic_error("this store keeps no telemetry"); }
std::vector<RollupRow> Store::read_rollups_since(std::int64_t) {
  throw std::logic_error("this store keeps no telemetry");
}
std::vector<RollupMinute> Store::read_rollup_minutes(const RollupQuery&) {
  throw std::logic_error("this store keeps no telemetry");
}
std::size_t Store::delete_rollups_before(std::int64_t, std::size_t) {
  throw std::logic_error("this store keeps no telemetry");
}

// Called by commit() once the group's registry checks passed: nothing below throws.
void MemoryStore::commit_telemetry(const CommitBatch& batch) {
  for (const TelemetryCommit& t : batch.telemetry) {
    TelemetryMark& mark = marks_[{t.node_id, t.boot_id}];
    t.duplicate = t.seq <= mark.seq;
    if (t.duplicate) continue;
    mark = TelemetryMark{t.node_id, t.boot_id, t.seq, t.received_unix_ms};
    for (const EventRecord& e : t.events) add_event(e);
    for (const RollupDelta& d : t.deltas) {
      rollups_[{d.series, d.minute_unix_ms}].add(d.counters);
      for (const auto& [name, n] : d.error_kinds) rollup_counts_[{d.series, d.minute_unix_ms, "error:" + name}] += n;
      for (const auto& [name, n] : d.fates) rollup_counts_[{d.series, d.minute_unix_ms, "fate:" + name}] += n;
    }
  }
}

std::vector<TelemetryMark> MemoryStore::load_telemetry_marks() {
  std::lock_guard lock(mutex_);
  std::vector<TelemetryMark> out;
  for (const auto& [key, mark] : marks_) out.push_back(mark);
  return out;
}

std::vector<SeriesKey> MemoryStore::load_telemetry_series() {
  std::lock_guard lock(mutex_);
  std::vector<SeriesKey> out;
  for (const auto& [key, counters] : rollups_)
    if (out.empty() || !(out.back() == key.first)) out.push_back(key.first);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<RollupRow> MemoryStore::read_rollups_since(std::int64_t since_unix_ms) {
  std::lock_guard lock(mutex_);
  std::vector<RollupRow> out;
  for (const auto& [key, counters] : rollups_)
    if (key.second >= since_unix_ms) out.push_back(RollupRow{key.first, key.second, counters});
  std::stable_sort(out.begin(), out.end(),
                   [](const RollupRow& a, const RollupRow& b) { return a.minute_unix_ms < b.minute_unix_ms; });
  return out;
}

std::vector<RollupMinute> MemoryStore::read_rollup_minutes(const RollupQuery& q) {
  std::lock_guard lock(mutex_);
  std::map<std::int64_t, RollupCounters> minutes;
  for (const auto& [key, counters] : rollups_) {
    const SeriesKey& s = key.first;
    if (key.second < q.since_unix_ms || key.second >= q.until_unix_ms) continue;
    if (s.instance_series() != q.instance_series) continue;
    if ((!q.tenant.empty() && s.tenant != q.tenant) || (!q.route.empty() && s.route != q.route) ||
        (!q.service.empty() && s.service != q.service) || (!q.instance.empty() && s.instance != q.instance))
      continue;
    minutes[key.second].add(counters);
  }
  std::vector<RollupMinute> out;
  for (const auto& [minute, counters] : minutes) out.push_back(RollupMinute{minute, counters});
  return out;
}

std::size_t MemoryStore::delete_rollups_before(std::int64_t cutoff_unix_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::size_t deleted = 0;
  for (auto it = rollups_.begin(); it != rollups_.end() && deleted < limit;)
    it = it->first.second < cutoff_unix_ms ? (++deleted, rollups_.erase(it)) : std::next(it);
  for (auto it = rollup_counts_.begin(); it != rollup_counts_.end() && deleted < limit;)
    it = std::get<1>(it->first) < cutoff_unix_ms ? (++deleted, rollup_counts_.erase(it)) : std::next(it);
  for (auto it = marks_.begin(); it != marks_.end() && deleted < limit;)
    it = it->second.updated_unix_ms < cutoff_unix_ms ? (++deleted, marks_.erase(it)) : std::next(it);
  return deleted;
}

}  // namespace tg::control
