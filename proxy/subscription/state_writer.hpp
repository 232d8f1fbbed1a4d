// Writes the --state-dir table (state_store.hpp) on a thread of its own,
// coalesced to the newest version, so the update loop never serializes or
// writes the whole table.
//
// The update loop hands over what changed: the whole table when it got one
// (a full update: the bytes it received, moved, not copied), else the
// entries a delta or a health update set or removed (their own size). The
// writer applies what is pending on the table it last wrote (read back from
// the file), checks the result against the version's digest and replaces the
// file. Changes arriving meanwhile are merged into what is pending (latest
// per key wins), so a slow disk costs at most one table in memory and one
// write per wake-up, never a queue of versions.
//
// Config changes are written at once; health-only changes within
// `health_delay` of the previous write (a flapping instance does not fsync
// the table many times a second). What is pending is written before the
// writer goes away.
#pragma once

#include "subscription/state_store.hpp"

#include "table/table_entries.hpp"
#include "tenantgate/v1/discovery.pb.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace tg::proxy::subscription {

// Entries set (a value) or removed (nullopt), by (kind, key).
using EntryChanges = std::map<std::pair<table::EntryKind, std::string>, std::optional<std::string>>;

// The changes a delta update makes.
EntryChanges delta_changes(const ::tenantgate::v1::TableDelta& delta);
// `table` (a serialized Table) with `changes` applied, every entry in
// (kind, key) order as tg-control serializes it. False with `error` when
// `table` is malformed.
bool merge_entries(std::string_view table, const EntryChanges& changes, std::string& out, std::string& error);

class StateWriter {
 public:
  // Called on the writer thread after each attempt; `error` empty = written.
  using Done = std::function<void(const TableVersion& version, const std::string& error)>;

  StateWriter(std::string dir, Done done, std::chrono::milliseconds health_delay = std::chrono::seconds(1));
  ~StateWriter();  // writes what is pending, then joins
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  // The whole table: replaces everything pending. Written at once.
  void submit_table(SavedTable saved);
  // What changed from the previously submitted version to `version`.
  // `urgent` (a config change): written at once; else within health_delay.
  void submit_changes(const TableVersion& version, const std::string& registry_id, std::uint64_t digest,
                      EntryChanges changes, bool urgent);
  // A write found no table to apply changes on (the file is gone or
  // damaged, or the result missed its digest): the next submission should be
  // the whole table. Cleared by submit_table.
  bool needs_table() const { return needs_table_.load(std::memory_order_acquire); }
  std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Off the lock: the pending work taken by run().
  std::string write(std::optional<std::string> base, const EntryChanges& changes, SavedTable& meta);

  const std::string dir_;
  const Done done_;
  const std::chrono::milliseconds health_delay_;
  std::mutex mutex_;
  std::condition_variable cv_;
  // ---- under mutex_
  bool pending_ = false;
  bool urgent_ = false;
  std::optional<std::string> base_;  // a whole table submitted, changes_ apply on it
  EntryChanges changes_;
  SavedTable meta_;  // version, registry id and digest of what is pending (table unused)
  bool stopping_ = false;
  // ----
  std::atomic<bool> needs_table_{false};
  std::atomic<std::uint64_t> writes_{0};
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace tg::proxy::subscription
