// Lazy deadlines (proxy/core/timer_wheel.cpp). The wheel takes the time as
// an argument, so the tests drive it with a fake clock: no sleeps.
#include "core/timer_wheel.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <functional>
#include <memory>
#include <vector>

using tg::proxy::DeadlineEntry;
using tg::proxy::TimerWheel;

namespace {

constexpr std::uint64_t kTick = TimerWheel::kTickMs;
constexpr std::uint64_t kTurn = TimerWheel::kTickMs * TimerWheel::kSlots;  // 5120 ms

// Records the fake time of each firing.
struct Entry final : DeadlineEntry {
  explicit Entry(const std::uint64_t& clock) : clock_(clock) {}
  void on_deadline() override {
    fired.push_back(clock_);
    if (then) then(*this);
  }
  std::size_t count() const { return fired.size(); }

  std::vector<std::uint64_t> fired;
  std::function<void(Entry&)> then;  // runs inside on_deadline

 private:
  const std::uint64_t& clock_;
};

// The wheel plus a clock that only moves forward, one advance() per call.
struct Fixture {
  explicit Fixture(std::uint64_t start = 100'000) : now(start), wheel(start) {}
  void advance_to(std::uint64_t t) {
    REQUIRE(t >= now);
    now = t;
    wheel.advance(now);
  }
  // Steps of `step` ms up to `t`, like a worker's periodic tick.
  void step_to(std::uint64_t t, std::uint64_t step = 1) {
    while (now < t) advance_to(std::min(t, now + step));
  }
  std::uint64_t now;
  TimerWheel wheel;
};

}  // namespace

TEST_CASE("fires at its deadline and not before", "[proxy][runtime][timer]") {
  Fixture f;
  Entry e(f.now);
  const std::uint64_t deadline = f.now + 250;
  f.wheel.set(e, deadline);
  CHECK(e.deadline_ms() == deadline);
  f.step_to(deadline - 1);
  CHECK(e.count() == 0);
  f.advance_to(deadline);
  REQUIRE(e.count() == 1);
  CHECK(e.fired[0] == deadline);
  CHECK(e.deadline_ms() == 0);  // reset before on_deadline
  f.step_to(deadline + 3 * kTurn, 7);
  CHECK(e.count() == 1);  // once
}

TEST_CASE("one large advance fires what is due and nothing else", "[proxy][runtime][timer]") {
  Fixture f;
  Entry due(f.now), later(f.now), past(f.now);
  f.wheel.set(due, f.now + 1000);
  f.wheel.set(later, f.now + 1001 + kTick);
  f.wheel.set(past, f.now - 50);  // already passed: fires on the next advance
  f.advance_to(f.now + 1000);
  CHECK(due.count() == 1);
  CHECK(past.count() == 1);
  CHECK(later.count() == 0);
  f.advance_to(f.now + 1 + kTick);
  CHECK(later.count() == 1);
}

TEST_CASE("never early, at most one tick late, for unaligned deadlines and any step", "[proxy][runtime][timer]") {
  for (std::uint64_t step : {1, 3, 7, 10, 13, 250}) {
    for (std::uint64_t offset : {1, 5, 9, 10, 11, 99, 1234}) {
      INFO("step " << step << " offset " << offset);
      Fixture f(100'003);
      Entry e(f.now);
      const std::uint64_t deadline = f.now + offset;
      f.wheel.set(e, deadline);
      f.step_to(deadline + 2 * kTick + step, step);
      REQUIRE(e.count() == 1);
      CHECK(e.fired[0] >= deadline);
      CHECK(e.fired[0] < deadline + kTick + step);
    }
  }
}

// Granularity is one tick: an entry whose tick slot was already processed by
// an earlier advance (deadline inside the tick, not yet due then) is re-filed
// to the next tick — it fires late by less than kTickMs, never early.
TEST_CASE("a deadline inside an already processed tick fires within one tick", "[proxy][runtime][timer]") {
  Fixture f(100'000);
  Entry e(f.now);
  f.wheel.set(e, 100'105);
  f.advance_to(100'104);
  CHECK(e.count() == 0);
  f.advance_to(100'105 + tg::proxy::TimerWheel::kTickMs);
  CHECK(e.count() == 1);
}

TEST_CASE("moving a deadline later is lazy but fires at the new time", "[proxy][runtime][timer]") {
  Fixture f;
  Entry e(f.now);
  const std::uint64_t first = f.now + 100, second = f.now + 700;
  f.wheel.set(e, first);
  f.wheel.set(e, second);
  CHECK(e.deadline_ms() == second);
  f.step_to(second - 1, 10);
  CHECK(e.count() == 0);
  f.advance_to(second);
  REQUIRE(e.count() == 1);
  CHECK(e.fired[0] == second);
}

TEST_CASE("moving a deadline later many times, as on every read", "[proxy][runtime][timer]") {
  Fixture f;
  Entry e(f.now);
  for (int i = 0; i < 100; ++i) {
    f.wheel.set(e, f.now + 300);
    f.advance_to(f.now + 20);
  }
  CHECK(e.count() == 0);
  const std::uint64_t last = e.deadline_ms();
  f.step_to(last, 10);
  REQUIRE(e.count() == 1);
  CHECK(e.fired[0] == last);
}

TEST_CASE("moving a deadline earlier fires early", "[proxy][runtime][timer]") {
  Fixture f;
  Entry e(f.now);
  const std::uint64_t late = f.now + 3000, early = f.now + 200;
  f.wheel.set(e, late);
  f.wheel.set(e, early);
  f.step_to(early - 1, 10);
  CHECK(e.count() == 0);
  f.advance_to(early);
  REQUIRE(e.count() == 1);
  CHECK(e.fired[0] == early);
  f.step_to(late + kTurn, 10);
  CHECK(e.count() == 1);  // the old slot does not fire it again
}

TEST_CASE("clear() cancels and set() after clear() arms again", "[proxy][runtime][timer]") {
  Fixture f;
  Entry e(f.now), other(f.now);
  f.wheel.set(e, f.now + 100);
  f.wheel.set(other, f.now + 100);
  TimerWheel::clear(e);
  CHECK(e.deadline_ms() == 0);
  f.step_to(f.now + 2 * kTurn, 10);
  CHECK(e.count() == 0);
  CHECK(other.count() == 1);

  SECTION("re-armed after it was dropped") {
    const std::uint64_t again = f.now + 50;
    f.wheel.set(e, again);
    f.step_to(again, 10);
    REQUIRE(e.count() == 1);
    CHECK(e.fired[0] == again);
  }
  SECTION("re-armed while still filed") {
    Entry g(f.now);
    f.wheel.set(g, f.now + 100);
    TimerWheel::clear(g);
    const std::uint64_t again = f.now + 400;
    f.wheel.set(g, again);
    f.step_to(again - 1, 10);
    CHECK(g.count() == 0);
    f.advance_to(again);
    REQUIRE(g.count() == 1);
    CHECK(g.fired[0] == again);
  }
}

TEST_CASE("deadlines beyond one wheel turn fire at the right time", "[proxy][runtime][timer]") {
  for (std::uint64_t delay : {kTurn - kTick, kTurn, kTurn + kTick, kTurn + 1230, 3 * kTurn + 70, std::uint64_t{60'000}}) {
    INFO("delay " << delay);
    Fixture f;
    Entry e(f.now);
    const std::uint64_t deadline = f.now + delay;
    f.wheel.set(e, deadline);
    f.step_to(deadline - 1, 10);
    CHECK(e.count() == 0);
    f.advance_to(deadline);
    REQUIRE(e.count() == 1);
    CHECK(e.fired[0] == deadline);
  }
  SECTION("also with one jump past several turns") {
    Fixture f;
    Entry e(f.now), beyond(f.now);
    f.wheel.set(e, f.now + 2 * kTurn + 500);
    f.wheel.set(beyond, f.now + 4 * kTurn);
    f.advance_to(f.now + 3 * kTurn);
    CHECK(e.count() == 1);
    CHECK(beyond.count() == 0);
    f.advance_to(f.now + kTurn);
    CHECK(beyond.count() == 1);
  }
}

TEST_CASE("an entry destroyed while filed is unlinked safely", "[proxy][runtime][timer]") {
  Fixture f;
  Entry before(f.now), after(f.now);
  f.wheel.set(before, f.now + 100);
  {
    Entry doomed(f.now);
    f.wheel.set(doomed, f.now + 100);  // same slot, between the two others
    f.wheel.set(after, f.now + 100);
  }
  f.step_to(f.now + 200, 10);
  CHECK(before.count() == 1);
  CHECK(after.count() == 1);
}

TEST_CASE("entries may outlive the wheel", "[proxy][runtime][timer]") {
  // The wheel lives in a buffer we keep: after it is destroyed the buffer is
  // painted, and an entry still linked to it would write into the paint when
  // it is destroyed.
  struct Storage {
    alignas(TimerWheel) unsigned char bytes[sizeof(TimerWheel)];
  };
  auto storage = std::make_unique<Storage>();
  std::uint64_t now = 1000;
  auto e = std::make_unique<Entry>(now);
  auto* wheel = new (storage->bytes) TimerWheel(now);
  wheel->set(*e, now + 100);
  wheel->~TimerWheel();
  std::memset(storage->bytes, 0xab, sizeof storage->bytes);
  e.reset();
  std::size_t touched = 0;
  for (unsigned char b : storage->bytes) touched += b != 0xab;
  CHECK(touched == 0);
}

TEST_CASE("on_deadline may re-arm its own entry", "[proxy][runtime][timer]") {
  Fixture f;
  Entry e(f.now);
  const std::uint64_t start = f.now;
  e.then = [&](Entry& self) {
    if (self.count() < 5) f.wheel.set(self, f.now + 100);
  };
  f.wheel.set(e, start + 100);
  f.step_to(start + 1000, 10);
  CHECK(e.fired == std::vector<std::uint64_t>{start + 100, start + 200, start + 300, start + 400, start + 500});

  SECTION("re-armed in the past, it waits for the next advance instead of looping") {
    Entry again(f.now);
    again.then = [&](Entry& self) {
      if (self.count() < 3) f.wheel.set(self, f.now - 5);
    };
    const std::uint64_t t = f.now + kTick;
    f.wheel.set(again, t);
    f.advance_to(t);
    CHECK(again.count() == 1);
    f.advance_to(t + kTick);
    CHECK(again.count() == 2);
    f.advance_to(t + 2 * kTick);
    CHECK(again.count() == 3);
    f.advance_to(t + 10 * kTick);
    CHECK(again.count() == 3);
    CHECK(again.fired == std::vector<std::uint64_t>{t, t + kTick, t + 2 * kTick});
  }
}

TEST_CASE("on_deadline may destroy another entry, due or not", "[proxy][runtime][timer]") {
  Fixture f;
  auto killer = std::make_unique<Entry>(f.now);
  auto due_victim = std::make_unique<Entry>(f.now);
  auto later_victim = std::make_unique<Entry>(f.now);
  Entry survivor(f.now);
  const std::uint64_t t = f.now + 100;
  f.wheel.set(*killer, t);
  f.wheel.set(*due_victim, t);    // same slot, after the killer
  f.wheel.set(*later_victim, t + 500);
  f.wheel.set(survivor, t);
  killer->then = [&](Entry&) {
    due_victim.reset();
    later_victim.reset();
  };
  f.step_to(t + 1000, 10);
  CHECK(killer->count() == 1);
  CHECK(due_victim == nullptr);
  CHECK(later_victim == nullptr);
  CHECK(survivor.count() == 1);
}

namespace {
struct SelfDestructing final : DeadlineEntry {
  explicit SelfDestructing(int& fired) : fired_(fired) {}
  void on_deadline() override {
    ++fired_;
    delete this;
  }
  int& fired_;
};
}  // namespace

TEST_CASE("on_deadline may destroy its own entry", "[proxy][runtime][timer]") {
  Fixture f;
  int fired = 0;
  auto* self_destructing = new SelfDestructing(fired);
  Entry next(f.now);
  f.wheel.set(*self_destructing, f.now + 100);
  f.wheel.set(next, f.now + 100);
  f.step_to(f.now + 300, 10);
  CHECK(fired == 1);
  CHECK(next.count() == 1);
}

TEST_CASE("many entries fire in deadline order across ticks", "[proxy][runtime][timer]") {
  Fixture f;
  std::vector<std::unique_ptr<Entry>> entries;
  std::vector<std::uint64_t> order, deadlines;
  for (int i = 0; i < 200; ++i) {
    entries.push_back(std::make_unique<Entry>(f.now));
    const std::uint64_t deadline = f.now + 20 + static_cast<std::uint64_t>((i * 37) % 200) * kTick;
    deadlines.push_back(deadline);
    entries.back()->then = [&order, deadline](Entry&) { order.push_back(deadline); };
    f.wheel.set(*entries.back(), deadline);
  }
  f.step_to(f.now + 200 * kTick + 100, kTick);
  REQUIRE(order.size() == 200);
  CHECK(std::is_sorted(order.begin(), order.end()));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    REQUIRE(entries[i]->count() == 1);
    CHECK(entries[i]->fired[0] == deadlines[i]);
  }
}
