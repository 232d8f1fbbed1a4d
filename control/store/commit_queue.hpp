// The single SQLite writer thread with group commit (docs/control-plane.md, Threads).
//
// Writes arrive from the owner loop as CommitBatches. The writer takes EVERY
// batch pending at that moment, commits them in one transaction, then
// completes all of their callbacks with the same status: many concurrent
// Admin writes cost few fsync-free COMMITs, and no write is acknowledged
// before the COMMIT that holds it returned. Reads of the store that do not
// fit in memory (the audit log) run on the same thread, between commits, so
// the store is only ever used by one thread.
//
// When a group's transaction fails (other than for a full database), each
// batch of the group is committed again in a transaction of its own, so a
// single bad batch fails only its own call; the others succeed as if they
// had been alone.
//
// Callbacks run on the writer thread; the owner loop wraps them to hop back.
// The queue is bounded only by the owner loop producing one batch per Admin
// call (which gRPC bounds); stop() drains whatever was submitted before it.
#pragma once

#include "status.hpp"
#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace tg::control {

class CommitQueue {
 public:
  // Gets the batch back (for observers) with the outcome of its transaction:
  // OK, UNAVAILABLE when the store was full (StoreFull; nothing stored, the
  // database intact), INTERNAL for any other failure.
  using Done = std::function<void(const Status&, CommitBatch&& batch)>;
  // After each transaction (writer thread): its duration and how many batches it held.
  using CommitObserver = std::function<void(std::chrono::nanoseconds duration, std::size_t batches, bool ok)>;

  // `isolated_failure` (writer thread, optional) is told of each batch that
  // failed when committed alone after its group failed.
  CommitQueue(Store& store, CommitObserver observer, std::function<void()> isolated_failure = {});
  ~CommitQueue();

  void start();
  // Commits everything already submitted, then joins the thread.
  void stop();

  void submit(CommitBatch batch, Done done);
  void read(std::function<void(Store&)> job);

 private:
  struct Pending {
    CommitBatch batch;
    Done done;
  };
  void run();
  void commit_group(std::deque<Pending>& group);
  Status commit_batches(const std::vector<CommitBatch>& batches);

  Store& store_;
  CommitObserver observer_;
  std::function<void()> isolated_failure_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> pending_;
  std::deque<std::function<void(Store&)>> reads_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tg::control
