// The health checker's logic on the owner loop: which instances are probed,
// when, and what their results mean. Pure: no sockets, no threads, time
// passed in, randomness seeded; the prober (prober.hpp) runs the probes and
// HealthChecker (health_checker.hpp) wires both to Core.
//
// Schedule. Every instance of a service with a health_check is a target with
// a fixed cadence of `interval`: a newly registered or newly checked target is
// due at once; a target found at startup is due after a random offset in
// [0, interval) (so 10,000 instances loaded together do not probe together),
// and each probe moves its due time on by whole intervals, so the offset is
// kept and there is no per-probe jitter. A target with a probe in flight is
// not sent again until the result came back.
//
// Thresholds. A target counts consecutive passes and failures. It becomes
// unhealthy after unhealthy_threshold failures in a row and healthy after
// healthy_threshold passes in a row; an instance awaiting its first check
// (registry.hpp, awaiting_check_reason) needs one pass. Decisions compare
// with the registry's health, so a restart (health loaded from the
// database) resumes without flipping anything. An instance made unhealthy
// by its heartbeat deadline stays so until it heartbeats: a passing probe
// does not override the heartbeat.
#pragma once

#include "health/probe.hpp"
#include "registry/registry.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace tg::control::health {

class Monitor {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit Monitor(std::uint64_t seed = std::random_device{}()) : random_(seed) {}

  // Startup (or after the registry was reloaded): the targets of every
  // checked instance, each due after a random offset within its interval.
  // Flips for services without a check (see sync_instance) are returned.
  std::vector<HealthFlip> sync_all(const Registry& registry, Time now);
  // After a committed change of an instance (created, changed, deleted):
  // its target follows the registry; a new target or a changed check is
  // due at once. An instance whose service has no check (any more) but that
  // a check had left unhealthy gets a flip to healthy ("no health check").
  std::vector<HealthFlip> sync_instance(const Registry& registry, const std::string& id, Time now);
  // After a committed change of a service: sync_instance for each of its
  // instances (a new or changed check: due at once).
  std::vector<HealthFlip> sync_service(const Registry& registry, const std::string& name, Time now);

  // The probes due at `now`, marked in flight; their due times move on.
  std::vector<ProbeSpec> take_due(Time now);
  // When the next probe is due (nullopt: no target, or all in flight).
  std::optional<Time> next_due() const;

  // Results of probes sent by take_due (stale epochs and unknown targets are
  // ignored); the health changes they make, for Registry::apply_health_flips.
  std::vector<HealthFlip> on_results(const Registry& registry, const std::vector<ProbeResult>& results);

  std::size_t targets() const { return targets_.size(); }
  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Target {
    ProbeSpec spec;
    std::chrono::milliseconds interval{5000};
    std::uint32_t healthy_threshold = 2;
    std::uint32_t unhealthy_threshold = 3;
    Time due{};
    bool in_flight = false;
    std::uint32_t passes = 0;
    std::uint32_t failures = 0;
  };
  enum class Start { at_once, random_offset };

  std::vector<HealthFlip> sync(const Registry& registry, const std::string& id, Time now, Start start);
  void schedule(const std::string& id, Target& target, Time due);
  void unschedule(const std::string& id, const Target& target);

  std::map<std::string, Target> targets_;
  std::set<std::pair<Time, std::string>> due_;  // targets not in flight, by due time
  std::size_t in_flight_ = 0;
  std::uint64_t next_epoch_ = 1;
  std::mt19937_64 random_;
};

// The probe a service's check makes of an instance (Host = the instance's
// address unless the check names one). Exposed for tests.
ProbeSpec probe_spec(const v1::HealthCheck& check, const v1::Instance& instance);

}  // namespace tg::control::health
