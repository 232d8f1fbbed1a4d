// One breaker per instance and proxy (docs/life-of-a-request.md,
// Breakers): the pure state machine of resilience/breaker.hpp packed into one
// 64-bit atomic word that every worker reads and updates without a lock.
//
// A change is a compare-and-swap loop: unpack the word, apply the pure
// transition, pack, swap; the worker whose swap lands a transition is the
// only one that sees it, so each transition is counted and logged once per
// proxy. The healthy path is one relaxed load (state(), quiet()).
//
// Cells are made off the workers, when a Snapshot is built (table/snapshot.cpp),
// and carried over to the next Snapshot by instance id, like the workers'
// InstanceRuntime. Each holds its service's ServiceBreakers: the count of the
// service's instances whose breaker is not closed, which phase 5 reads for its
// fast path and which caps the ejections (max_ejection_percent). A slot under
// the cap is reserved on that count before a closed breaker may open, so two
// workers ejecting at once never pass the cap; a cell leaving the closed state
// holds its slot until it closes or is destroyed, so the count cannot drift.
//
// Word layout (low bits first): state 2 | consecutive failures 10 | probes
// under way 6 | ejections 8 | open-until 38. Failures and probes never exceed
// BreakerPolicy's bounds (1023, 63; BreakerPolicy::from saturates the
// configured values); ejections saturate at 255 (the ejection time then stops
// growing at 255 x base_ejection, before max_ejection caps it). Open-until is
// the low 38 bits of the workers' millisecond clock, read back as the time
// nearest `now` with those bits: exact while it is within 2^37 ms (~4.3
// years) of now, which max_ejection (at most 2^36 ms) guarantees for any
// breaker that a try looks at.
#pragma once

#include "resilience/breaker.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace tg::proxy::resilience {

// A service's count of instances whose breaker is not closed, per proxy.
class ServiceBreakers {
 public:
  std::uint32_t ejected() const { return ejected_.load(std::memory_order_relaxed); }
  // Takes a slot for one more instance leaving the closed state if
  // ejection_allowed() says so for the count now (atomically).
  bool reserve(std::uint32_t instances, std::uint32_t max_percent);
  void release() { ejected_.fetch_sub(1, std::memory_order_acq_rel); }

 private:
  std::atomic<std::uint32_t> ejected_{0};
};

// The service's cap, for the transitions that may open a closed breaker.
struct EjectionCap {
  std::uint32_t instances = 0;  // the service's pick set
  std::uint32_t max_percent = 0;
};

class alignas(64) BreakerCell {
 public:
  explicit BreakerCell(std::shared_ptr<ServiceBreakers> service);
  ~BreakerCell();
  BreakerCell(const BreakerCell&) = delete;
  BreakerCell& operator=(const BreakerCell&) = delete;

  // What one change did: the transition (happened() or not), the breaker's
  // open-until after it, and for try_started whether the try is a probe.
  struct Change {
    Transition transition;
    std::uint64_t open_until_ms = 0;
    bool probe = false;
  };

  // ---- reads (relaxed: any worker, the healthy path) ----
  BreakerState state() const { return static_cast<BreakerState>(word_.load(std::memory_order_relaxed) & kStateMask); }
  // Closed with no failure counted: a success changes nothing.
  bool quiet() const { return (word_.load(std::memory_order_relaxed) & (kStateMask | kFailuresMask)) == 0; }
  // The breaker as it is now (open-until read back near `now_ms`).
  Breaker load(std::uint64_t now_ms) const { return unpack(word_.load(std::memory_order_acquire), now_ms); }
  bool admits(std::uint64_t now_ms, const BreakerPolicy& policy) const {
    const std::uint64_t word = word_.load(std::memory_order_acquire);
    return (word & kStateMask) == 0 || unpack(word, now_ms).admits(now_ms, policy);
  }
  const ServiceBreakers& service() const { return *service_; }
  std::uint64_t transitions(BreakerReason reason) const {
    return transitions_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

  // ---- changes (any worker; the Breaker transitions, applied atomically) ----
  // A try starts on the instance: if the breaker admits it now it is counted
  // (an open breaker whose time passed turns half-open, the try a probe);
  // if not (phase 5's panic), nothing changes and it is no probe.
  Change try_started(std::uint64_t now_ms, const BreakerPolicy& policy);
  Change succeeded(std::uint64_t now_ms, bool probe);
  Change failed(std::uint64_t now_ms, const BreakerPolicy& policy, bool probe, EjectionCap cap);
  Change back_off(std::uint64_t now_ms, const BreakerPolicy& policy, std::uint64_t retry_after_ms, bool probe,
                  EjectionCap cap);
  // These two read no time: open-until is kept as it is.
  void abandon_probe(bool probe);
  Change close_on_health();

  // The packing, public for its tests.
  static std::uint64_t pack(const Breaker& breaker);
  static Breaker unpack(std::uint64_t word, std::uint64_t now_ms);

  static constexpr std::uint64_t kStateMask = 0x3;
  static constexpr unsigned kFailuresShift = 2, kProbesShift = 12, kEjectionsShift = 18, kOpenUntilShift = 26;
  static constexpr std::uint64_t kFailuresMax = 1023, kProbesMax = 63, kEjectionsMax = 255;
  static constexpr std::uint64_t kFailuresMask = kFailuresMax << kFailuresShift;
  static constexpr unsigned kOpenUntilBits = 38;

 private:
  // One CAS loop: `op(breaker, may_eject)` applies the pure transition. An
  // open-until the transition leaves alone keeps its stored bits.
  template <typename Op>
  Change update(std::uint64_t now_ms, const EjectionCap* cap, Op op);

  std::atomic<std::uint64_t> word_{0};
  std::shared_ptr<ServiceBreakers> service_;
  std::array<std::atomic<std::uint64_t>, kBreakerReasons> transitions_{};  // by reason, per proxy
};

static_assert(BreakerPolicy::kMaxConsecutiveFailures <= BreakerCell::kFailuresMax);
static_assert(BreakerPolicy::kMaxHalfOpenProbes <= BreakerCell::kProbesMax);
static_assert(BreakerPolicy::kMaxEjectionMs < (std::uint64_t{1} << (BreakerCell::kOpenUntilBits - 1)));

// Logs one transition (warning when it opens, with how long for; else info).
// Off the request path: the workers call it at their tick, the table build
// for health recoveries.
void log_transition(std::string_view service, std::string_view instance, std::string_view address,
                    const Transition& t, std::uint64_t open_for_ms);

}  // namespace tg::proxy::resilience
