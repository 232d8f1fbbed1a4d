// The engine that runs the alert book on the owner loop (docs/alerting.md):
// every eval_interval it builds the inputs (the telemetry window, the
// signals, the registry's instances, the proxies connected), runs
// Book::evaluate, commits the changes and hands the committed deliveries to
// the dispatcher. Dispatcher outcomes come back here (posted to the owner
// loop) and are committed as the delivery's row and attempt. Admin writes on
// the book commit through commit() the same way. It also feeds the
// SignalWindow from every committed event and status report, prunes alert
// history (retention) and renders the alerting /metrics.
//
// Threading: everything on the owner loop but post_outcome (any thread).
#pragma once

#include "alerts/book.hpp"
#include "alerts/eval.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>

namespace tg::control {
class Store;
}

namespace tg::control::alerts {

struct EngineOptions {
  std::chrono::milliseconds eval_interval{5000};
  // Resolved episodes older than this are deleted (0 = kept forever),
  // checked at start and every retention_sweep, in batches.
  std::chrono::milliseconds alert_history{0};
  std::chrono::milliseconds retention_sweep{std::chrono::minutes(10)};
  std::size_t retention_delete_batch = 1000;
  // The in-memory windows hold complete data from here on (EvalInputs).
  std::int64_t covered_since_unix_ms = 0;
};

struct EngineHooks {
  std::function<const telemetry::Window&()> window;  // the telemetry window, pruned
  std::function<std::vector<InstanceState>()> instances;
  std::function<std::size_t()> proxies_connected;
  // Commits a batch that holds only alert changes; `done` on the owner loop.
  std::function<void(CommitBatch batch, std::function<void(const Status&)> done)> commit;
  // Runs a job on the writer thread (retention deletes, the reload after a failed commit).
  std::function<void(std::function<void(Store&)> job)> read_store;
  std::function<void(DeliveryJob job)> enqueue;          // to the dispatcher
  std::function<void(const std::string& notifier)> cancel_notifier;  // optional
  std::function<std::size_t()> dispatcher_depth;         // optional: jobs queued or in flight
};

class Engine {
 public:
  Engine(boost::asio::io_context& io, const Clock& clock, Book& book, SignalWindow& signals, EngineOptions options,
         EngineHooks hooks);

  void start();  // owner loop: arms the evaluation and retention timers
  void stop();   // owner loop: cancels them

  // One evaluation now (the timer calls it; tests too). Returns its duration.
  std::chrono::nanoseconds evaluate_now();

  // Commits what a book write put in `changes`, then enqueues its
  // deliveries; `done` gets the commit's status (owner loop).
  void commit(AlertChanges changes, std::function<void(const Status&)> done);
  // Any thread: a dispatcher outcome, posted to the owner loop and committed.
  void post_outcome(AttemptOutcome outcome);

  // Every committed registry batch (a Core observer): its events and status
  // reports feed the signals, and the deliveries of book writes committed
  // with it (Admin calls) go to the dispatcher.
  void on_commit(const CommitBatch& batch);

  // Prometheus text of the tg_control_alert* families.
  std::string render_metrics() const;

  std::uint64_t evaluations() const { return evaluations_; }
  std::chrono::nanoseconds last_evaluation() const { return last_evaluation_; }

 private:
  void arm_eval();
  void arm_retention(std::chrono::milliseconds delay);
  void delete_history(std::int64_t cutoff_unix_ms, std::size_t deleted_so_far);
  void reload();

  boost::asio::io_context& io_;
  const Clock& clock_;
  Book& book_;
  SignalWindow& signals_;
  EngineOptions options_;
  EngineHooks hooks_;
  boost::asio::steady_timer eval_timer_;
  boost::asio::steady_timer retention_timer_;
  bool reloading_ = false;
  std::uint64_t evaluations_ = 0;
  std::chrono::nanoseconds last_evaluation_{0};
  double evaluation_seconds_total_ = 0;
  std::uint64_t commit_failures_ = 0;
  std::uint64_t history_deleted_ = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> outcomes_;  // (notifier, result) → count
};

// Feeds `signals` from one committed batch: its events (ingest, health
// flips, heartbeats, the proxies' telemetry events unless a resend) and its
// status reports (restart counters).
void feed_signals(SignalWindow& signals, const CommitBatch& batch);

}  // namespace tg::control::alerts
