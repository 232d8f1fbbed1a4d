// The per-worker cache of verified JWTs (auth/token_cache.hpp): whole-token
// matches, expiry, the index generation, and its bound.
#include "auth/token_cache.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace tg::proxy::auth {
namespace {

std::int32_t find(TokenCache& cache, const std::string& token, std::uint64_t generation, std::int64_t now) {
  return cache.find(token, TokenCache::hash(token), generation, now);
}

void insert(TokenCache& cache, const std::string& token, std::uint64_t generation, std::uint32_t tenant,
            std::int64_t valid_until) {
  cache.insert(token, TokenCache::hash(token), generation, tenant, valid_until);
}

TEST_CASE("token cache: a verified token is found whole, until it expires", "[auth][cache]") {
  TokenCache cache(16);
  insert(cache, "aaa.bbb.ccc", 1, 7, 1000);
  CHECK(find(cache, "aaa.bbb.ccc", 1, 999) == 7);
  CHECK(find(cache, "aaa.bbb.ccc", 1, 1000) == 7);
  // Same hash slot, another token: compared whole, not by hash.
  const std::string other = "aaa.bbb.ccd";
  CHECK(cache.find(other, TokenCache::hash("aaa.bbb.ccc"), 1, 999) == -1);
  CHECK(find(cache, "aaa.bbb.cc", 1, 999) == -1);
  CHECK(find(cache, "aaa.bbb.ccc", 1, 1001) == -1);  // expired: dropped
  CHECK(cache.size() == 0);
  CHECK(find(cache, "aaa.bbb.ccc", 1, 999) == -1);
}

TEST_CASE("token cache: an entry verified against other keys is not used", "[auth][cache]") {
  TokenCache cache(16);
  insert(cache, "t.o.k", 1, 3, 1000);
  CHECK(find(cache, "t.o.k", 2, 10) == -1);
  CHECK(find(cache, "t.o.k", 1, 10) == -1);  // gone with the generation
}

TEST_CASE("token cache: bounded, the least recently used way of a set replaced", "[auth][cache]") {
  TokenCache cache(64);
  REQUIRE(cache.capacity() == 64);
  for (int i = 0; i < 10'000; ++i) insert(cache, "token-" + std::to_string(i), 1, 1, 1000);
  CHECK(cache.size() <= cache.capacity());
  CHECK(cache.size() > 32);
  // One set: a token used recently survives inserts that evict the others.
  TokenCache one(TokenCache::kWays);
  insert(one, "keep", 1, 1, 1000);
  for (int i = 0; i < 20; ++i) {
    CHECK(find(one, "keep", 1, 0) == 1);
    insert(one, "other-" + std::to_string(i), 1, 2, 1000);
  }
  CHECK(find(one, "keep", 1, 0) == 1);
  CHECK(find(one, "other-0", 1, 0) == -1);
  CHECK(one.size() == TokenCache::kWays);
  // Tokens too long to keep are not cached.
  const std::string huge(TokenCache::kMaxCachedToken + 1, 'x');
  insert(one, huge, 1, 1, 1000);
  CHECK(find(one, huge, 1, 0) == -1);
}

}  // namespace
}  // namespace tg::proxy::auth
