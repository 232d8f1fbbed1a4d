#include "auth/failure_limiter.hpp"

#include <xxhash.h>

#include <algorithm>

namespace tg::proxy::auth {

FailureLimiter::FailureLimiter(std::size_t capacity)
    : sets_(std::max<std::size_t>(1, (capacity + kWays - 1) / kWays)) {
  entries_.resize(sets_ * kWays);
}

FailureLimiter::Entry* FailureLimiter::set_of(std::string_view address) {
  const std::uint64_t h = XXH3_64bits(address.data(), address.size());
  return &entries_[(h % sets_) * kWays];
}

// The address's entry with its tokens refilled to `now_ms`, or null.
FailureLimiter::Entry* FailureLimiter::find(std::string_view address, std::uint64_t now_ms) {
  Entry* set = set_of(address);
  for (std::size_t way = 0; way < kWays; ++way) {
    Entry& e = set[way];
    if (!e.used || std::string_view(e.bytes.data(), e.length) != address) continue;
    if (now_ms > e.at_ms) {
      e.tokens = std::min(kBurst, e.tokens + static_cast<double>(now_ms - e.at_ms) * kPerSecond / 1000.0);
      e.at_ms = now_ms;
    }
    return &e;
  }
  return nullptr;
}

bool FailureLimiter::allowed(std::string_view address, std::uint64_t now_ms) {
  const Entry* e = find(address, now_ms);
  return !e || e->tokens >= 1;
}

void FailureLimiter::failed(std::string_view address, std::uint64_t now_ms) {
  if (Entry* e = find(address, now_ms)) {
    e->tokens = std::max(0.0, e->tokens - 1);
    return;
  }
  Entry* set = set_of(address);
  Entry* victim = &set[0];
  for (std::size_t way = 0; way < kWays; ++way) {
    Entry& e = set[way];
    if (!e.used) {
      victim = &e;
      break;
    }
    if (e.at_ms < victim->at_ms) victim = &e;
  }
  if (!victim->used) ++size_;
  victim->used = true;
  const std::size_t length = std::min(address.size(), victim->bytes.size());
  std::copy_n(address.data(), length, victim->bytes.data());
  victim->length = static_cast<std::uint8_t>(length);
  victim->tokens = kBurst - 1;
  victim->at_ms = now_ms;
}

}  // namespace tg::proxy::auth
