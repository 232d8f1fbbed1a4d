// Active health checks wired into tg-control: the Monitor (schedule and
// thresholds) lives on the owner loop, the Prober on its own thread.
//
//   owner loop                          prober thread
//   timer at Monitor::next_due() ──────► Prober::submit(due probes)
//   Monitor::on_results ◄─── post ───── results, in batches
//   Registry::apply_health_flips → Core::commit → observers (the table
//   stream pushes a health update to every proxy) and the events table
//
// Every committed change of an instance or a service re-syncs its targets
// (on_commit, called by a Core commit observer), so a new instance or a new
// check is probed at once; a reload of the registry after a failed commit
// re-syncs them all (on_reload). The owner loop's services come in as hooks, so
// this folder depends on registry/ and store/ only (server/ wires it).
#pragma once

#include "health/monitor.hpp"
#include "health/prober.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace tg::control::health {

// What the checker needs from the owner loop; all are called on it.
struct HealthCheckerHooks {
  std::function<bool()> writable;                  // false in read-only mode: flips wait
  std::function<void(CommitBatch)> commit;         // Core::commit of a flip batch
  std::function<void(const ProbeResult&)> probed;  // metrics
  std::function<void(std::size_t)> targets;        // metrics: instances under a check
};

struct HealthCheckerOptions {
  ProberOptions prober;
  std::uint64_t seed = 0;  // 0 = random start offsets from std::random_device
};

class HealthChecker {
 public:
  // `owner` runs the owner loop; `registry` is used on it only.
  HealthChecker(boost::asio::io_context& owner, Registry& registry, HealthCheckerHooks hooks,
                HealthCheckerOptions options = {});
  ~HealthChecker();

  // Owner loop: after each committed batch (a Core observer).
  void on_commit(const CommitBatch& batch);
  // Owner loop: after the registry was reloaded from the database (a failed
  // commit; Core::add_reload_observer). The targets follow the reloaded
  // registry: instances that were only in memory stop being probed (their
  // results in flight are dropped), a check that was not stored is undone.
  void on_reload();

  // Any thread, after the owner loop runs: loads the targets from the registry on
  // the owner loop (random start offsets) and starts probing.
  void start();
  // Any thread, before Core::stop(): stops the prober and the timer; results
  // still under way are dropped. Idempotent.
  void stop();

 private:
  void on_results(std::vector<ProbeResult> results);
  void commit_flips(std::vector<HealthFlip> flips);
  void arm();
  void tick();

  boost::asio::io_context& owner_;
  Registry& registry_;
  HealthCheckerHooks hooks_;
  Monitor monitor_;
  Prober prober_;
  boost::asio::steady_timer timer_;
  static constexpr std::chrono::milliseconds min_tick_gap{10};
  std::optional<Monitor::Time> armed_for_;
  std::optional<Monitor::Time> last_tick_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // owner loop: false after stop()
  bool started_ = false;
  bool stopped_ = false;
  bool loaded_ = false;  // owner loop: start() synced the targets with the registry
};

}  // namespace tg::control::health
