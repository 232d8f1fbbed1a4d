#include "health/health_checker.hpp"


#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <future>

namespace tg::control::health {

namespace asio = boost::asio;

HealthChecker::HealthChecker(asio::io_context& owner, Registry& registry, HealthCheckerHooks hooks,
                             HealthCheckerOptions options)
    : owner_(owner),
      registry_(registry),
      hooks_(std::move(hooks)),
      monitor_(options.seed != 0 ? options.seed : std::random_device{}()),
      prober_(
          [this](std::vector<ProbeResult> results) {
            // Prober thread: hop to the owner loop.
            asio::post(owner_, [this, alive = alive_, results = std::move(results)]() mutable {
              if (*alive) on_results(std::move(results));
            });
          },
          options.prober),
      timer_(owner) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start() {
  if (started_) return;
  started_ = true;
  prober_.start();
  asio::post(owner_, [this, alive = alive_] {
    if (!*alive) return;
    loaded_ = true;
    commit_flips(monitor_.sync_all(registry_, registry_.clock().steady()));
    spdlog::info("tg-control: health checks: {} instance(s) checked", monitor_.targets());
    hooks_.targets(monitor_.targets());
    arm();
  });
}

void HealthChecker::stop() {
  if (!started_) *alive_ = false;  // never started: no owner-loop work of ours is under way
  if (!started_ || stopped_) return;
  stopped_ = true;
  std::promise<void> done;
  asio::post(owner_, [this, &done] {
    *alive_ = false;
    timer_.cancel();
    done.set_value();
  });
  // The owner loop may already be gone (Core stopped first): do not wait forever.
  done.get_future().wait_for(std::chrono::seconds(5));
  prober_.stop();
}

void HealthChecker::on_commit(const CommitBatch& batch) {
  if (!*alive_) return;
  const Registry& registry = registry_;
  const auto now = registry.clock().steady();
  std::vector<HealthFlip> flips;
  for (const Mutation& m : batch.mutations) {
    std::vector<HealthFlip> more;
    if (m.kind == ObjectKind::instance) more = monitor_.sync_instance(registry, m.name, now);
    if (m.kind == ObjectKind::service) more = monitor_.sync_service(registry, m.name, now);
    for (HealthFlip& flip : more) flips.push_back(std::move(flip));
  }
  hooks_.targets(monitor_.targets());
  // Not from inside the observer: commit after the observers of this batch ran.
  if (!flips.empty())
    asio::post(owner_, [this, alive = alive_, flips = std::move(flips)]() mutable {
      if (*alive) commit_flips(std::move(flips));
    });
  arm();
}

void HealthChecker::on_reload() {
  if (!*alive_ || !loaded_) return;  // start() has not loaded the targets yet: it will
  // An observer of a committed service change may have made targets of
  // instances that were only in memory then and that the reload dropped.
  commit_flips(monitor_.sync_all(registry_, registry_.clock().steady()));
  hooks_.targets(monitor_.targets());
  arm();
}

void HealthChecker::on_results(std::vector<ProbeResult> results) {
  for (const ProbeResult& result : results) hooks_.probed(result);
  commit_flips(monitor_.on_results(registry_, results));
  arm();
}

void HealthChecker::commit_flips(std::vector<HealthFlip> flips) {
  if (flips.empty()) return;
  // Read-only mode (database full): nothing changes; the counters stay and
  // the next result decides again once writes are accepted.
  if (!hooks_.writable()) return;
  const Registry& registry = registry_;
  for (const HealthFlip& flip : flips) {
    auto it = registry.instances().find(flip.instance);
    if (it == registry.instances().end()) continue;
    const bool down = flip.health == v1::HEALTH_UNHEALTHY;
    spdlog::log(down ? spdlog::level::warn : spdlog::level::info, "tg-control: instance {}: {} ({})", flip.instance,
                down ? "unhealthy" : "healthy", flip.reason);
  }
  CommitBatch batch = registry_.apply_health_flips(flips, "HealthCheck", "health-check");
  if (!batch.empty()) hooks_.commit(std::move(batch));
}

void HealthChecker::arm() {
  const auto due = monitor_.next_due();
  if (!due) return;
  if (armed_for_ && *armed_for_ <= *due) return;  // an earlier wake-up is set already
  armed_for_ = *due;
  // The monitor's times come from the registry's clock; the timer waits the
  // same span on the real one. Wake-ups are at least min_tick_gap apart, so
  // 2,000 probes a second at random offsets cost ~100 wake-ups, not 2,000.
  const auto now = registry_.clock().steady();
  auto wait = *due - now;
  if (last_tick_) wait = std::max(wait, *last_tick_ + min_tick_gap - now);
  timer_.expires_after(std::max(wait, std::chrono::steady_clock::duration::zero()));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    armed_for_.reset();
    tick();
  });
}

void HealthChecker::tick() {
  const auto now = registry_.clock().steady();
  last_tick_ = now;
  std::vector<ProbeSpec> due = monitor_.take_due(now);
  if (!due.empty()) prober_.submit(std::move(due));
  arm();
}

}  // namespace tg::control::health
