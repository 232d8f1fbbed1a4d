#include "auth/token_cache.hpp"

#include <xxhash.h>

#include <algorithm>

namespace tg::proxy::auth {

TokenCache::TokenCache(std::size_t capacity) : sets_(std::max<std::size_t>(1, (capacity + kWays - 1) / kWays)) {
  entries_.resize(sets_ * kWays);
}

std::uint64_t TokenCache::hash(std::string_view token) { return XXH3_64bits(token.data(), token.size()); }

std::int32_t TokenCache::find(std::string_view token, std::uint64_t hash, std::uint64_t generation, std::int64_t now) {
  Entry* set = set_of(hash);
  for (std::size_t way = 0; way < kWays; ++way) {
    Entry& e = set[way];
    if (e.generation == 0 || e.hash != hash || e.token != token) continue;
    if (e.generation != generation || now > e.valid_until) {
      // Verified against keys no longer served, or expired: gone.
      e.generation = 0;
      --size_;
      return -1;
    }
    e.used = ++clock_;
    return static_cast<std::int32_t>(e.tenant);
  }
  return -1;
}

void TokenCache::insert(std::string_view token, std::uint64_t hash, std::uint64_t generation, std::uint32_t tenant,
                        std::int64_t valid_until) {
  if (token.size() > kMaxCachedToken) return;
  Entry* set = set_of(hash);
  Entry* victim = &set[0];
  for (std::size_t way = 0; way < kWays; ++way) {
    Entry& e = set[way];
    if (e.generation == 0) {
      victim = &e;
      break;
    }
    if (e.used < victim->used) victim = &e;
  }
  if (victim->generation == 0) ++size_;
  victim->hash = hash;
  victim->generation = generation;
  victim->valid_until = valid_until;
  victim->used = ++clock_;
  victim->tenant = tenant;
  victim->token.assign(token);
}

}  // namespace tg::proxy::auth
