// GCRA buckets (proxy/limits/gcra.hpp) on a fake clock: the burst, then the
// rate; exact counts over time; the worker share; and one bucket taken by two
// threads at once never admitting more than its shape allows.
#include "limits/gcra.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace tg::proxy::limits;

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;
constexpr std::uint64_t kMs = 1'000'000;
// Far from 0, as a steady clock is.
constexpr std::uint64_t kStart = 1'000 * kSecond;

// Runs `body(thread_index)` on two threads started together.
template <typename Body>
void on_two_threads(Body body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < 2) {
      }
      body(t);
    });
  for (auto& thread : threads) thread.join();
}

}  // namespace

TEST_CASE("gcra: a full bucket admits the burst at once, then one per interval", "[proxy][limits][gcra]") {
  const GcraShape shape = GcraShape::of(10, kSecond, 5);  // 10/s burst 5
  CHECK(shape.interval_ns == 100 * kMs);
  CHECK(shape.tolerance_ns == 400 * kMs);
  SharedBucket bucket;
  for (int i = 0; i < 5; ++i) {
    const GcraDecision d = bucket.take(kStart, shape);
    REQUIRE(d.allowed);
    CHECK(d.remaining == static_cast<std::uint64_t>(4 - i));
  }
  GcraDecision refused = bucket.take(kStart, shape);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.wait_ns == 100 * kMs);
  // A refusal leaves the bucket as it was.
  CHECK(bucket.take(kStart + 50 * kMs, shape).wait_ns == 50 * kMs);
  CHECK(bucket.take(kStart + 100 * kMs, shape).allowed);
  CHECK_FALSE(bucket.take(kStart + 100 * kMs, shape).allowed);
  CHECK(bucket.take(kStart + 200 * kMs, shape).allowed);
  // Idle for a second: full again, and no fuller than the burst.
  int admitted = 0;
  while (bucket.take(kStart + 2 * kSecond, shape).allowed) ++admitted;
  CHECK(admitted == 5);
}

TEST_CASE("gcra: burst 0 is the rate's count, burst 1 spaces every request", "[proxy][limits][gcra]") {
  SharedBucket full;
  const GcraShape count = GcraShape::of(3, kSecond, 0);
  int admitted = 0;
  while (full.take(kStart, count).allowed) ++admitted;
  CHECK(admitted == 3);

  SharedBucket spaced;
  const GcraShape one = GcraShape::of(100, kSecond, 1);
  CHECK(one.tolerance_ns == 0);
  CHECK(spaced.take(kStart, one).allowed);
  CHECK_FALSE(spaced.take(kStart + 9 * kMs, one).allowed);
  CHECK(spaced.take(kStart + 10 * kMs, one).allowed);
}

TEST_CASE("gcra: over a span, exactly burst + span / interval are admitted", "[proxy][limits][gcra]") {
  // 100/s burst 20 offered 1000/s for 10 s (the integration test's shape).
  const GcraShape shape = GcraShape::of(100, kSecond, 20);
  SharedBucket bucket;
  int admitted = 0;
  for (std::uint64_t t = 0; t < 10 * kSecond; t += kMs)
    if (bucket.take(kStart + t, shape).allowed) ++admitted;
  // 20 at once, then one each 10 ms from the 10th ms: 999 more in [10 ms, 9999 ms].
  CHECK(admitted == 20 + 999);
}

TEST_CASE("gcra: per-minute rates and a worker's share", "[proxy][limits][gcra]") {
  const GcraShape minute = GcraShape::of(600, 60 * kSecond, 0);
  CHECK(minute.interval_ns == 100 * kMs);
  CHECK(minute.tolerance_ns == 599 * 100 * kMs);
  // Two workers: each 50/s with a burst of 10.
  const GcraShape share = GcraShape::of(100, kSecond, 20, 2);
  CHECK(share.interval_ns == 20 * kMs);
  CHECK(share.tolerance_ns == 9 * 20 * kMs);
  // An odd burst rounds up; a share never holds less than one.
  CHECK(GcraShape::of(100, kSecond, 3, 2).tolerance_ns == 20 * kMs);
  CHECK(GcraShape::of(100, kSecond, 1, 4).tolerance_ns == 0);
  // Huge shapes saturate instead of overflowing.
  const GcraShape huge = GcraShape::of(1, 60 * kSecond, 1'000'000'000);
  SharedBucket bucket;
  CHECK(bucket.take(kStart, huge).allowed);
  CHECK(huge.tolerance_ns > 0);
}

TEST_CASE("gcra: two threads taking one bucket at the same time admit exactly the burst",
          "[proxy][limits][gcra]") {
  const GcraShape shape = GcraShape::of(1000, kSecond, 500);
  for (int round = 0; round < 20; ++round) {
    SharedBucket bucket;
    std::atomic<int> admitted{0};
    on_two_threads([&](int) {
      for (int i = 0; i < 2000; ++i)
        if (bucket.take(kStart, shape).allowed) ++admitted;
    });
    REQUIRE(admitted.load() == 500);
  }
}

TEST_CASE("gcra: two threads on a moving clock never pass burst + elapsed / interval",
          "[proxy][limits][gcra]") {
  const GcraShape shape = GcraShape::of(1000, kSecond, 10);  // 1 per ms after 10
  SharedBucket bucket;
  std::atomic<std::uint64_t> clock{kStart};
  std::atomic<int> admitted{0};
  on_two_threads([&](int thread) {
    for (int i = 0; i < 200'000; ++i) {
      // One thread moves time on by 1 us a step; both read it (a worker's
      // clock may lag another's).
      const std::uint64_t now = thread == 0 ? clock.fetch_add(1000) + 1000 : clock.load();
      if (bucket.take(now, shape).allowed) ++admitted;
    }
  });
  const std::uint64_t elapsed = clock.load() - kStart;
  const auto bound = static_cast<int>(10 + elapsed / shape.interval_ns);
  CHECK(admitted.load() <= bound);
  CHECK(admitted.load() >= bound - 1);
}
