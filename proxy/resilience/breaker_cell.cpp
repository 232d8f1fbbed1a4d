#include "resilience/breaker_cell.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tg::proxy::resilience {

namespace {
constexpr std::uint64_t kOpenUntilMask = (std::uint64_t{1} << BreakerCell::kOpenUntilBits) - 1;
constexpr std::uint64_t kOpenUntilHalf = std::uint64_t{1} << (BreakerCell::kOpenUntilBits - 1);
constexpr std::uint64_t kOpenUntilBitsInWord = kOpenUntilMask << BreakerCell::kOpenUntilShift;
}  // namespace

bool ServiceBreakers::reserve(std::uint32_t instances, std::uint32_t max_percent) {
  std::uint32_t now = ejected_.load(std::memory_order_acquire);
  do {
    if (!ejection_allowed(now, instances, max_percent)) return false;
  } while (!ejected_.compare_exchange_weak(now, now + 1, std::memory_order_acq_rel, std::memory_order_acquire));
  return true;
}

BreakerCell::BreakerCell(std::shared_ptr<ServiceBreakers> service) : service_(std::move(service)) {}

BreakerCell::~BreakerCell() {
  // A cell not closed holds a slot of its service's count until here.
  if (state() != BreakerState::closed) service_->release();
}

std::uint64_t BreakerCell::pack(const Breaker& b) {
  return static_cast<std::uint64_t>(b.state_) |
         std::min<std::uint64_t>(b.failures_, kFailuresMax) << kFailuresShift |
         std::min<std::uint64_t>(b.probes_, kProbesMax) << kProbesShift |
         std::min<std::uint64_t>(b.ejections_, kEjectionsMax) << kEjectionsShift |
         (b.open_until_ms_ & kOpenUntilMask) << kOpenUntilShift;
}

Breaker BreakerCell::unpack(std::uint64_t word, std::uint64_t now_ms) {
  Breaker b;
  b.state_ = static_cast<BreakerState>(word & kStateMask);
  b.failures_ = static_cast<std::uint32_t>((word >> kFailuresShift) & kFailuresMax);
  b.probes_ = static_cast<std::uint32_t>((word >> kProbesShift) & kProbesMax);
  b.ejections_ = static_cast<std::uint32_t>((word >> kEjectionsShift) & kEjectionsMax);
  // The time nearest now_ms whose low bits are the stored ones.
  const std::uint64_t ahead = ((word >> kOpenUntilShift) - now_ms) & kOpenUntilMask;
  if (ahead < kOpenUntilHalf) {
    b.open_until_ms_ = now_ms + ahead;
  } else {
    const std::uint64_t behind = (std::uint64_t{1} << kOpenUntilBits) - ahead;
    b.open_until_ms_ = now_ms > behind ? now_ms - behind : 0;
  }
  return b;
}

template <typename Op>
BreakerCell::Change BreakerCell::update(std::uint64_t now_ms, const EjectionCap* cap, Op op) {
  bool reserved = false;
  Change out;
  std::uint64_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    Breaker b = unpack(word, now_ms);
    const std::uint64_t until = b.open_until_ms();
    out.transition = op(b, true);
    if (out.transition.ejected_delta() > 0 && !reserved) {
      // Opening a closed breaker takes a slot under the service's cap first.
      reserved = cap && service_->reserve(cap->instances, cap->max_percent);
      if (!reserved) {
        b = unpack(word, now_ms);
        out.transition = op(b, false);
      }
    }
    std::uint64_t next = pack(b);
    if (b.open_until_ms() == until) next = (next & ~kOpenUntilBitsInWord) | (word & kOpenUntilBitsInWord);
    if (next == word ||
        word_.compare_exchange_weak(word, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      out.open_until_ms = b.open_until_ms();
      break;
    }
  }
  const int delta = out.transition.ejected_delta();
  if (reserved && delta <= 0) service_->release();  // reserved on a word that changed meanwhile
  if (delta < 0) service_->release();
  if (out.transition.happened())
    transitions_[static_cast<std::size_t>(out.transition.reason)].fetch_add(1, std::memory_order_relaxed);
  return out;
}

BreakerCell::Change BreakerCell::try_started(std::uint64_t now_ms, const BreakerPolicy& policy) {
  bool probe = false;
  Change out = update(now_ms, nullptr, [&](Breaker& b, bool) {
    probe = false;
    Transition t;
    if (b.admits(now_ms, policy)) probe = b.start_try(t);
    return t;
  });
  out.probe = probe;
  return out;
}

BreakerCell::Change BreakerCell::succeeded(std::uint64_t now_ms, bool probe) {
  return update(now_ms, nullptr, [&](Breaker& b, bool) { return b.succeeded(probe); });
}

BreakerCell::Change BreakerCell::failed(std::uint64_t now_ms, const BreakerPolicy& policy, bool probe,
                                        EjectionCap cap) {
  return update(now_ms, &cap,
                [&](Breaker& b, bool may_eject) { return b.failed(now_ms, policy, probe, may_eject); });
}

BreakerCell::Change BreakerCell::back_off(std::uint64_t now_ms, const BreakerPolicy& policy,
                                          std::uint64_t retry_after_ms, bool probe, EjectionCap cap) {
  return update(now_ms, &cap, [&](Breaker& b, bool may_eject) {
    return b.back_off(now_ms, policy, retry_after_ms, probe, may_eject);
  });
}

void BreakerCell::abandon_probe(bool probe) {
  if (!probe) return;
  update(0, nullptr, [](Breaker& b, bool) {
    b.abandon_probe(true);
    return Transition{};
  });
}

BreakerCell::Change BreakerCell::close_on_health() {
  return update(0, nullptr, [](Breaker& b, bool) { return b.close_on_health(); });
}

void log_transition(std::string_view service, std::string_view instance, std::string_view address,
                    const Transition& t, std::uint64_t open_for_ms) {
  if (t.to == BreakerState::open) {
    spdlog::warn("breaker {} -> {}: service {} instance {} ({}), reason {}, for {} ms", to_string(t.from),
                 to_string(t.to), service, instance, address, to_string(t.reason), open_for_ms);
  } else {
    spdlog::info("breaker {} -> {}: service {} instance {} ({}), reason {}", to_string(t.from), to_string(t.to),
                 service, instance, address, to_string(t.reason));
  }
}

}  // namespace tg::proxy::resilience
