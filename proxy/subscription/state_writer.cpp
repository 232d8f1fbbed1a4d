#include "subscription/state_writer.hpp"

#include "table/table_digest.hpp"

#include <algorithm>
#include <vector>

namespace tg::proxy::subscription {

EntryChanges delta_changes(const ::tenantgate::v1::TableDelta& delta) {
  EntryChanges changes;
  const google::protobuf::RepeatedPtrField<std::string>* removed[table::kEntryKinds] = {
      &delta.removed_tenants(), &delta.removed_services(), &delta.removed_instances(), &delta.removed_routes()};
  for (std::size_t k = 0; k < table::kEntryKinds; ++k)
    for (const std::string& key : *removed[k]) changes[{static_cast<table::EntryKind>(k), key}] = std::nullopt;
  std::vector<table::SplitEntry> upserts;
  std::string error;
  // The delta was applied (and its digest checked) before it is saved: its
  // upserts are well-formed.
  if (table::split_entries(delta.upserts(), upserts, error))
    for (const auto& e : upserts) changes[{e.kind, std::string(e.key)}] = std::string(e.entry);
  return changes;
}

bool merge_entries(std::string_view table, const EntryChanges& changes, std::string& out, std::string& error) {
  std::vector<table::SplitEntry> entries;
  if (!table::split_entries(table, entries, error)) return false;
  auto less = [](const table::SplitEntry& a, const table::SplitEntry& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.key < b.key;
  };
  // Written by this writer or sent whole by tg-control: already in order.
  if (!std::is_sorted(entries.begin(), entries.end(), less)) std::stable_sort(entries.begin(), entries.end(), less);
  out.clear();
  out.reserve(table.size());
  auto change = changes.begin();
  auto before = [](const EntryChanges::value_type& c, const table::SplitEntry& e) {
    return c.first.first != e.kind ? c.first.first < e.kind : std::string_view(c.first.second) < e.key;
  };
  auto put = [&](const EntryChanges::value_type& c) {
    if (c.second) out += *c.second;
  };
  for (const table::SplitEntry& e : entries) {
    while (change != changes.end() && before(*change, e)) put(*change++);
    if (change != changes.end() && change->first.first == e.kind && change->first.second == e.key) {
      put(*change++);  // replaced or removed
      continue;
    }
    out.append(e.entry);
  }
  while (change != changes.end()) put(*change++);
  return true;
}

StateWriter::StateWriter(std::string dir, Done done, std::chrono::milliseconds health_delay)
    : dir_(std::move(dir)), done_(std::move(done)), health_delay_(health_delay) {
  thread_ = std::thread([this] { run(); });
}

StateWriter::~StateWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StateWriter::submit_table(SavedTable saved) {
  {
    std::lock_guard lock(mutex_);
    base_ = std::move(saved.table);
    changes_.clear();
    meta_ = std::move(saved);
    meta_.table.clear();
    pending_ = true;
    urgent_ = true;
    needs_table_.store(false, std::memory_order_release);
  }
  cv_.notify_all();
}

void StateWriter::submit_changes(const TableVersion& version, const std::string& registry_id, std::uint64_t digest,
                                 EntryChanges changes, bool urgent) {
  {
    std::lock_guard lock(mutex_);
    if (changes_.empty()) {
      changes_ = std::move(changes);
    } else {
      for (auto& [key, entry] : changes) changes_[key] = std::move(entry);  // the newest wins
    }
    meta_.version = version;
    meta_.registry_id = registry_id;
    meta_.digest = digest;
    pending_ = true;
    urgent_ = urgent_ || urgent;
  }
  cv_.notify_all();
}

void StateWriter::run() {
  std::unique_lock lock(mutex_);
  auto last_write = std::chrono::steady_clock::now() - health_delay_;
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stopping_; });
    if (!pending_) return;  // stopping, nothing left
    // Health-only changes wait for health_delay after the previous write
    // (more may come meanwhile); config changes and a stop do not.
    cv_.wait_until(lock, last_write + health_delay_, [this] { return urgent_ || stopping_; });
    std::optional<std::string> base = std::move(base_);
    base_.reset();
    EntryChanges changes = std::move(changes_);
    changes_.clear();
    SavedTable meta = meta_;
    pending_ = false;
    urgent_ = false;
    lock.unlock();
    const std::string error = write(std::move(base), changes, meta);
    if (error.empty()) writes_.fetch_add(1, std::memory_order_relaxed);
    done_(meta.version, error);
    last_write = std::chrono::steady_clock::now();
    lock.lock();
  }
}

std::string StateWriter::write(std::optional<std::string> base, const EntryChanges& changes, SavedTable& meta) {
  std::string error;
  if (!base) {
    SavedTable saved;
    if (load_state(dir_, saved, error) != LoadStatus::loaded) {
      needs_table_.store(true, std::memory_order_release);
      return "no saved table to apply the changes on" + (error.empty() ? std::string() : " (" + error + ")");
    }
    base = std::move(saved.table);
  }
  if (changes.empty()) {
    meta.table = std::move(*base);
  } else if (!merge_entries(*base, changes, meta.table, error)) {
    needs_table_.store(true, std::memory_order_release);
    return "the saved table is malformed: " + error;
  }
  base.reset();
  if (meta.digest != 0) {
    const auto digest = table::table_digest(meta.table);
    if (!digest || *digest != meta.digest) {
      // Changes missed (a write that failed before): the whole table next.
      needs_table_.store(true, std::memory_order_release);
      return "the table to save misses digest " + table::digest_text(meta.digest) + "; waiting for the whole table";
    }
  }
  if (!save_state(dir_, meta, error)) {
    if (error.empty()) error = "cannot write the state file";
    // The file keeps an older version: changes on top of it would miss.
    needs_table_.store(true, std::memory_order_release);
  }
  return error;
}

}  // namespace tg::proxy::subscription
