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

#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace tg::control {

struct CoreOptions {
  std::chrono::milliseconds heartbeat_sweep{200};  // how often TTL deadlines are checked
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
  // (OK) or failed (INTERNAL; the fatal handler is called too: memory is then
  // ahead of the database and tg-control must stop).
  void commit(CommitBatch batch, std::function<void(const Status&)> done);
  void add_observer(Observer observer);
  void on_fatal(std::function<void(const std::string& reason)> handler);

  // Runs `job` on the writer thread (the only user of the store), between commits.
  void read_store(std::function<void(Store&)> job);

 private:
  void arm_heartbeat_timer();
  void sweep_heartbeats();

  Registry& registry_;
  CoreOptions options_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer heartbeat_timer_{io_};
  Metrics metrics_;
  CommitQueue queue_;
  std::vector<Observer> observers_;
  std::function<void(const std::string&)> fatal_;
  bool fatal_reported_ = false;
  std::uint64_t committed_revision_ = 0;
  std::thread owner_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace tg::control
