// The control client's reconnect delays (proxy/subscription/backoff.cpp): each wait
// lies in [base/2, base], the base doubles up to the cap, reset starts over.
#include "subscription/backoff.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace std::chrono_literals;
using tg::proxy::subscription::Backoff;
using tg::proxy::subscription::BackoffPolicy;

TEST_CASE("backoff waits double from 200 ms up to 5 s, each within [base/2, base]", "[proxy][control][backoff]") {
  Backoff backoff(BackoffPolicy{200ms, 5000ms}, 42);
  std::chrono::milliseconds base = 200ms;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(backoff.base() == base);
    const auto wait = backoff.next();
    CHECK(wait >= base / 2);
    CHECK(wait <= base);
    base = std::min(base * 2, std::chrono::milliseconds(5000));
  }
  CHECK(backoff.base() == 5000ms);
}

TEST_CASE("backoff jitter spreads the waits at the cap", "[proxy][control][backoff]") {
  Backoff backoff(BackoffPolicy{200ms, 5000ms}, 7);
  for (int i = 0; i < 6; ++i) backoff.next();
  std::set<std::int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    const auto wait = backoff.next();
    REQUIRE(wait >= 2500ms);
    REQUIRE(wait <= 5000ms);
    seen.insert(wait.count());
  }
  CHECK(seen.size() > 10);
}

TEST_CASE("backoff seeds differ, so proxies do not reconnect in step", "[proxy][control][backoff]") {
  Backoff a(BackoffPolicy{200ms, 5000ms}, 1), b(BackoffPolicy{200ms, 5000ms}, 2);
  int equal = 0;
  for (int i = 0; i < 20; ++i) equal += a.next() == b.next();
  CHECK(equal < 5);
}

TEST_CASE("backoff reset starts again from the initial wait", "[proxy][control][backoff]") {
  Backoff backoff(BackoffPolicy{200ms, 5000ms}, 3);
  for (int i = 0; i < 10; ++i) backoff.next();
  backoff.reset();
  CHECK(backoff.base() == 200ms);
  const auto wait = backoff.next();
  CHECK(wait >= 100ms);
  CHECK(wait <= 200ms);
}
