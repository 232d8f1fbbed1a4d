// The breaker shared by the workers (proxy/resilience/breaker_cell.hpp): the
// packing, the transitions applied by CAS from several threads at once, and
// the service's count of instances not closed under its cap.
#include "resilience/breaker_cell.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

using namespace tg::proxy::resilience;

namespace {

BreakerPolicy policy(std::uint32_t failures, std::uint32_t probes = 1, std::uint64_t base_ms = 10'000) {
  BreakerPolicy p;
  p.consecutive_failures = failures;
  p.half_open_probes = probes;
  p.base_ejection_ms = base_ms;
  p.max_ejection_ms = std::max<std::uint64_t>(base_ms, 300'000);
  p.max_ejection_percent = 100;
  return p;
}

constexpr EjectionCap kNoCap{2, 100};

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

TEST_CASE("breaker cell: packing keeps every field", "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  BreakerCell cell(service);
  const BreakerPolicy p = policy(3, 2);
  for (int i = 0; i < 2; ++i) cell.failed(1'000, p, false, kNoCap);
  Breaker b = cell.load(1'000);
  CHECK(b.state() == BreakerState::closed);
  CHECK(b.failures() == 2);
  CHECK_FALSE(cell.quiet());
  const BreakerCell::Change opened = cell.failed(1'000, p, false, kNoCap);
  CHECK(opened.transition.to == BreakerState::open);
  CHECK(opened.open_until_ms == 11'000);
  b = cell.load(1'000);
  CHECK(b.state() == BreakerState::open);
  CHECK(b.failures() == 0);
  CHECK(b.ejections() == 1);
  CHECK(b.open_until_ms() == 11'000);
  CHECK_FALSE(cell.admits(10'999, p));
  CHECK(cell.admits(11'000, p));
  const BreakerCell::Change first = cell.try_started(11'000, p);
  CHECK(first.probe);
  CHECK(first.transition.to == BreakerState::half_open);
  CHECK(cell.try_started(11'000, p).probe);
  CHECK(cell.load(11'000).probes() == 2);
  CHECK_FALSE(cell.admits(11'000, p));
  CHECK(cell.transitions(BreakerReason::consecutive_failures) == 1);
  CHECK(cell.transitions(BreakerReason::ejection_over) == 1);
}

TEST_CASE("breaker cell: open-until is read back across the wrap of its 38 bits", "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  BreakerCell cell(service);
  const BreakerPolicy p = policy(1);
  const std::uint64_t now = (std::uint64_t{1} << 38) - 5'000;  // open-until wraps past 2^38
  cell.failed(now, p, false, kNoCap);
  CHECK(cell.load(now).open_until_ms() == now + 10'000);
  CHECK(cell.load(now + 20'000).open_until_ms() == now + 10'000);  // read after it passed
  CHECK_FALSE(cell.admits(now + 9'999, p));
  CHECK(cell.admits(now + 10'000, p));
  // Far later (a year): still the past, not a time ahead.
  CHECK(cell.admits(now + 365ull * 24 * 3600 * 1000, p));
}

TEST_CASE("breaker cell: fields saturate at their bounds", "[proxy][resilience][breaker_cell]") {
  tg::config::Outlier o;
  o.consecutive_failures = 1'000'000;
  o.half_open_probes = 1'000;
  const BreakerPolicy from = BreakerPolicy::from(o);
  CHECK(from.consecutive_failures == BreakerPolicy::kMaxConsecutiveFailures);
  CHECK(from.half_open_probes == BreakerPolicy::kMaxHalfOpenProbes);

  auto service = std::make_shared<ServiceBreakers>();
  BreakerCell cell(service);
  BreakerPolicy p = policy(1, 1, 1);
  p.max_ejection_ms = 100'000;
  std::uint64_t now = 0;
  // 300 ejections in a row: the count stops at 255, so does the time's growth.
  cell.failed(now, p, false, kNoCap);
  for (int i = 0; i < 300; ++i) {
    now = cell.load(now).open_until_ms();
    REQUIRE(cell.try_started(now, p).probe);
    cell.failed(now, p, true, kNoCap);
  }
  CHECK(cell.load(now).ejections() == BreakerCell::kEjectionsMax);
  CHECK(cell.load(now).open_until_ms() == now + 256);  // 255 read back, one more counted
}

TEST_CASE("breaker cell: two threads' failures are all counted", "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  BreakerCell cell(service);
  const BreakerPolicy p = policy(BreakerPolicy::kMaxConsecutiveFailures);
  on_two_threads([&](int) {
    for (int i = 0; i < 500; ++i) cell.failed(0, p, false, kNoCap);
  });
  CHECK(cell.load(0).failures() == 1000);
  CHECK(cell.state() == BreakerState::closed);
}

TEST_CASE("breaker cell: one ejection per threshold crossing, from two threads", "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  BreakerCell cell(service);
  const BreakerPolicy p = policy(100);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> opened{0};
    // 2 x 100 failures: the 100th opens it, the others find it open.
    on_two_threads([&](int) {
      for (int i = 0; i < 100; ++i)
        if (cell.failed(0, p, false, kNoCap).transition.happened()) ++opened;
    });
    REQUIRE(opened.load() == 1);
    REQUIRE(cell.state() == BreakerState::open);
    REQUIRE(service->ejected() == 1);
    REQUIRE(cell.close_on_health().transition.happened());
    REQUIRE(service->ejected() == 0);
  }
  CHECK(cell.transitions(BreakerReason::consecutive_failures) == 50);
  CHECK(cell.transitions(BreakerReason::health_recovered) == 50);
}

TEST_CASE("breaker cell: half_open_probes probes per proxy, whichever thread asks",
          "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  BreakerCell cell(service);
  const BreakerPolicy p = policy(1, 3);
  for (int round = 0; round < 50; ++round) {
    const std::uint64_t at = static_cast<std::uint64_t>(round) * 100'000;
    REQUIRE(cell.failed(at, p, false, kNoCap).transition.to == BreakerState::open);
    std::atomic<int> probes{0};
    std::atomic<std::uint32_t> most{0};
    on_two_threads([&](int) {
      for (int i = 0; i < 200; ++i) {
        if (cell.try_started(at + 50'000, p).probe) ++probes;
        const std::uint32_t now = cell.load(at + 50'000).probes();
        std::uint32_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
      }
    });
    REQUIRE(probes.load() == 3);
    REQUIRE(most.load() == 3);
    // One probe succeeds: closed for every thread.
    REQUIRE(cell.succeeded(at + 50'000, true).transition.to == BreakerState::closed);
  }
  CHECK(cell.transitions(BreakerReason::ejection_over) == 50);
}

TEST_CASE("breaker cell: two threads ejecting at once never pass the service's cap",
          "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  std::vector<std::unique_ptr<BreakerCell>> cells;
  for (int i = 0; i < 10; ++i) cells.push_back(std::make_unique<BreakerCell>(service));
  const BreakerPolicy p = policy(1);
  const EjectionCap cap{10, 30};  // three of ten
  for (int round = 0; round < 50; ++round) {
    std::atomic<std::uint32_t> most{0};
    std::atomic<int> opened{0};
    on_two_threads([&](int t) {
      for (int pass = 0; pass < 3; ++pass)
        for (std::size_t i = 0; i < cells.size(); ++i) {
          // The two threads walk the cells in opposite orders.
          BreakerCell& cell = *cells[t == 0 ? i : cells.size() - 1 - i];
          if (cell.failed(0, p, false, cap).transition.happened()) ++opened;
          const std::uint32_t now = service->ejected();
          std::uint32_t seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
        }
    });
    std::size_t open = 0;
    for (const auto& cell : cells) open += cell->state() == BreakerState::open;
    REQUIRE(open == 3);
    REQUIRE(opened.load() == 3);
    REQUIRE(service->ejected() == 3);
    REQUIRE(most.load() <= 3);
    for (const auto& cell : cells) cell->close_on_health();
    REQUIRE(service->ejected() == 0);
  }
}

TEST_CASE("breaker cell: one destroyed while not closed gives its slot back", "[proxy][resilience][breaker_cell]") {
  auto service = std::make_shared<ServiceBreakers>();
  auto cell = std::make_unique<BreakerCell>(service);
  BreakerCell other(service);
  cell->failed(0, policy(1), false, kNoCap);
  CHECK(service->ejected() == 1);
  // The cap (one of two at 10%) refuses a second one...
  CHECK_FALSE(other.failed(0, policy(1), false, {2, 10}).transition.happened());
  cell.reset();
  CHECK(service->ejected() == 0);
  // ...until the first is gone.
  CHECK(other.failed(0, policy(1), false, {2, 10}).transition.happened());
  CHECK(service->ejected() == 1);
}
