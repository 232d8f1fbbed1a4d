// Authentication failures per client address (auth/failure_limiter.hpp).
#include "auth/failure_limiter.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace tg::proxy::auth {
namespace {

std::string v4(std::uint8_t last) { return std::string{10, 0, 0, static_cast<char>(last)}; }

TEST_CASE("failure limiter: an address past its burst of failures is refused until it refills", "[auth][limiter]") {
  FailureLimiter limiter(64);
  const auto bad = v4(1), good = v4(2);
  std::uint64_t now = 1000;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    if (!limiter.allowed(bad, now)) continue;
    ++allowed;
    limiter.failed(bad, now);
  }
  CHECK(allowed == static_cast<int>(FailureLimiter::kBurst));
  CHECK(limiter.allowed(good, now));  // another address is not affected
  // kPerSecond failures a second afterwards.
  now += 1000;
  CHECK(limiter.allowed(bad, now));
  limiter.failed(bad, now);
  CHECK_FALSE(limiter.allowed(bad, now));
  now += 60'000;
  CHECK(limiter.allowed(bad, now));
}

TEST_CASE("failure limiter: bounded, an evicted address starts with a full bucket", "[auth][limiter]") {
  FailureLimiter limiter(FailureLimiter::kWays * 4);
  for (int i = 0; i < 250; ++i) {
    for (int k = 0; k < 30; ++k) limiter.failed(v4(static_cast<std::uint8_t>(i)), 1000 + i);
  }
  CHECK(limiter.size() <= FailureLimiter::kWays * 4);
  int refused = 0;
  for (int i = 0; i < 250; ++i) refused += !limiter.allowed(v4(static_cast<std::uint8_t>(i)), 2000);
  CHECK(refused == static_cast<int>(limiter.size()));
}

}  // namespace
}  // namespace tg::proxy::auth
