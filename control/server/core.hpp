// The owner loop of tg-control (docs/control-plane.md, Threads): one io_context thread that holds
// the Registry and makes every state transition, the SQLite writer thread
// (CommitQueue) behind it, the heartbeat-TTL timer, the metrics, and the
// observer hook the balancer-table stream (TableHub) uses.
//
// Threading contract: registry(), metrics(), commit(), add_observer() are for
// the owner thread only (post work with boost::asio::post(core.io(), ...)).
// Commit completions and observers run on the owner thread, in revision
// order, after the COMMIT returned.
#pragma once

#include "clock.hpp"
#include "registry/registry.hpp"
#include "server/metrics.hpp"
#include "store/commit_queue.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace tg::control {

struct CoreOptions {
  std::chrono::milliseconds heartbeat_sweep{200};  // how often TTL deadlines are checked
  std::chrono::milliseconds write_probe{5000};     // read-only mode: how often a write is tried
  // Retention: audit rows older than audit_retention and event groups last
  // seen longer than events_retention ago are deleted (0 = kept forever),
  // checked at start and every retention_sweep, at most retention_delete_batch rows per
  // transaction, on the writer thread with other commits in between.
  std::chrono::milliseconds audit_retention{0};
  std::chrono::milliseconds events_retention{0};
  // Telemetry minute rollups (and marks of boots not heard from since) older
  // than this are deleted the same way (0 = kept forever).
  std::chrono::milliseconds rollups_retention{0};
  // Single event occurrences follow events_retention; containers' status
  // samples follow this one (0 = kept forever).
  std::chrono::milliseconds status_retention{0};
  std::chrono::milliseconds retention_sweep{std::chrono::minutes(10)};
  std::size_t retention_delete_batch = 1000;
  // Calls posted to the owner loop (or the writer) and not yet run; beyond
  // this many a new call is answered RESOURCE_EXHAUSTED at once.
  std::size_t max_pending_calls = 1024;
};

// Refusals and states of the limits that protect tg-control from hostile or
// unlucky clients (docs/operations.md, "Limits"). Atomics: gRPC threads, the
// self-probe thread and the owner loop all write them; /metrics reads them.
struct LimitCounters {
  std::atomic<std::uint64_t> pending_refused{0};      // --max-pending-calls reached
  std::atomic<std::uint64_t> apply_too_large{0};      // Apply yaml over the cap, before the owner loop
  std::atomic<std::uint64_t> apply_aborted{0};        // the registry kept changing under an apply
  std::atomic<std::uint64_t> isolated_failures{0};    // calls failed alone after a group commit failed
  std::atomic<std::uint64_t> grpc_probe_failures{0};  // self-probes of the gRPC port that failed
  std::atomic<bool> grpc_accepting{true};             // the last self-probe succeeded
  std::atomic<std::uint64_t> open_files_limit{0};     // RLIMIT_NOFILE soft limit in effect

  // Prometheus text of the above (appended to /metrics). `pending` is the
  // number of calls waiting on the owner loop now.
  std::string render(std::size_t pending, std::size_t max_pending) const;
};

class Core {
 public:
  // Called after each committed change with the committed batch (mutations
  // carry the serialized objects). The table stream (TableHub) hangs off it.
  // Runs on the owner loop: must not block and must not throw (an exception
  // escaping the loop stops the process).
  using Observer = std::function<void(const CommitBatch& batch)>;

  // `registry` must already hold the store's state (and the startup files).
  Core(Store& store, Registry& registry, CoreOptions options = {});
  ~Core();

  boost::asio::io_context& io() { return io_; }
  Registry& registry() { return registry_; }
  Metrics& metrics() { return metrics_; }
  std::uint64_t committed_revision() const { return committed_revision_; }

  void start();
  // Commits what was submitted, runs its completions, then stops the loop and
  // joins both threads. Idempotent.
  void stop();

  // Owner thread. `done` runs on the owner thread after the batch committed
  // (OK) or failed:
  //  * UNAVAILABLE: the database is full (or Core is already read-only).
  //    Core enters read-only mode and reloads the registry from the database
  //    (on the writer thread, after every batch submitted before; the loaded
  //    state replaces memory on the owner loop): the registry applies a change
  //    to memory before it commits, so memory was ahead by the failed
  //    batches, and the database is the truth. Observers (the table stream)
  //    only ever saw committed batches, so they need no correction.
  //  * INTERNAL, any other failure of this batch (CommitQueue retries a
  //    failed group one batch at a time, so only the guilty batch fails):
  //    memory is ahead of the database by it, so Core reloads the registry
  //    from the database as above; writes are refused (UNAVAILABLE) until the
  //    reload is done, and the process keeps serving. Only a failed reload
  //    calls the fatal handler.
  void commit(CommitBatch batch, std::function<void(const Status&)> done);

  // Read-only mode (the database was full): OK when writes are accepted, else
  // the UNAVAILABLE status to answer, with the reason. Writers call it BEFORE
  // changing the registry. A probe write every `write_probe` ends the mode.
  Status write_refusal() const;
  bool read_only() const { return read_only_; }
  void add_observer(Observer observer);
  // Called on the owner thread after the registry was reloaded from the
  // database (after a failed commit, see commit()): memory may have lost
  // objects that observers were told about only as memory (a service
  // change's instances), so whoever keeps state derived from the registry
  // re-reads it here. Must not block or throw.
  void add_reload_observer(std::function<void()> observer);
  void on_fatal(std::function<void(const std::string& reason)> handler);

  // Owner thread. Commits a batch that holds only telemetry (no registry
  // change: no observers, no revision, no reload when it fails); `done` runs
  // on the owner thread with the outcome and the committed batch (the store
  // marked resends in it).
  void commit_telemetry(CommitBatch batch, std::function<void(const Status&, CommitBatch&&)> done);

  // Runs `job` on the writer thread (the only user of the store), between commits.
  void read_store(std::function<void(Store&)> job);

  // Any thread: posts an Admin call's work to the owner loop unless
  // max_pending_calls calls are posted and not yet run; then returns false
  // (counted in limits().pending_refused) and the caller answers
  // RESOURCE_EXHAUSTED. post_store_call is the same for the writer thread.
  bool post_call(std::function<void()> job);
  bool post_store_call(std::function<void(Store&)> job);
  std::size_t pending_calls() const { return pending_calls_.load(std::memory_order_relaxed); }
  std::size_t max_pending_calls() const { return options_.max_pending_calls; }
  LimitCounters& limits() { return limits_; }
  const LimitCounters& limits() const { return limits_; }

 private:
  void arm_heartbeat_timer();
  void sweep_heartbeats();
  void enter_read_only(const std::string& reason);
  void reload_registry();
  void arm_write_probe();
  // The tables retention prunes, in the order of a sweep.
  enum class Retained { audit, events, rollups, occurrences, status_samples };
  void arm_retention(std::chrono::milliseconds delay);
  // Deletes `table`'s rows older than its retention, one batch per writer
  // job, then goes on with the next table (the last one re-arms the sweep).
  void delete_old_rows(Retained table, std::int64_t cutoff_unix_ms, std::size_t deleted_so_far);
  void sweep_from(Retained table);
  std::chrono::milliseconds retention_of(Retained table) const;

  Registry& registry_;
  CoreOptions options_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer heartbeat_timer_{io_};
  boost::asio::steady_timer write_probe_timer_{io_};
  boost::asio::steady_timer retention_timer_{io_};
  bool read_only_ = false;
  bool reloading_ = false;  // after a failed commit, until reload_registry() installed the database's state
  std::string read_only_reason_;
  std::atomic<std::size_t> pending_calls_{0};
  LimitCounters limits_;
  Metrics metrics_;
  CommitQueue queue_;
  std::vector<Observer> observers_;
  std::vector<std::function<void()>> reload_observers_;
  std::function<void(const std::string&)> fatal_;
  bool fatal_reported_ = false;
  std::uint64_t committed_revision_ = 0;
  std::thread owner_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace tg::control
