// The alert lifecycle: for, keep_firing_for, flapping, pending that ends.
#include "alerts/lifecycle.hpp"

#include <catch2/catch.hpp>

namespace tg::control::alerts {
namespace {

using S = v1::Alert;

v1::AlertRule rule(std::uint64_t for_ms, std::uint64_t keep_ms) {
  v1::AlertRule r;
  r.set_name("r");
  r.set_for_ms(for_ms);
  r.set_keep_firing_for_ms(keep_ms);
  return r;
}

TEST_CASE("alert lifecycle: for = 0 fires at once, resolves at once without keep_firing_for", "[alerts]") {
  Track t;
  const auto r = rule(0, 0);
  CHECK_FALSE(step(t, r, false, 0, 1000).changed);
  Step s = step(t, r, true, 7, 2000);
  CHECK(s.changed);
  CHECK(s.from == S::STATE_UNSPECIFIED);
  CHECK(s.to == S::STATE_FIRING);
  CHECK(t.firing_since_unix_ms == 2000);
  CHECK(t.active_since_unix_ms == 2000);
  CHECK(t.value == 7);
  s = step(t, r, false, 0, 3000);
  CHECK(s.to == S::STATE_RESOLVED);
}

TEST_CASE("alert lifecycle: pending for `for`, then firing, pending that clears is resolved", "[alerts]") {
  Track t;
  const auto r = rule(10'000, 0);
  CHECK(step(t, r, true, 1, 0).to == S::STATE_PENDING);
  CHECK_FALSE(step(t, r, true, 1, 5'000).changed);
  Step s = step(t, r, true, 1, 10'000);
  CHECK(s.from == S::STATE_PENDING);
  CHECK(s.to == S::STATE_FIRING);
  CHECK(t.firing_since_unix_ms == 10'000);

  Track p;
  step(p, r, true, 1, 0);
  s = step(p, r, false, 0, 5'000);
  CHECK(s.from == S::STATE_PENDING);
  CHECK(s.to == S::STATE_RESOLVED);
  // A new episode after resolved.
  CHECK(step(p, r, true, 1, 6'000).to == S::STATE_PENDING);
  CHECK(p.active_since_unix_ms == 6'000);
  CHECK(p.firing_since_unix_ms == 0);
}

TEST_CASE("alert lifecycle: keep_firing_for holds a firing alert, flapping stays one episode", "[alerts]") {
  Track t;
  const auto r = rule(0, 30'000);
  step(t, r, true, 1, 0);
  int changes = 0;
  // The condition toggles every 5 s evaluation for two minutes.
  for (std::int64_t now = 5'000; now <= 120'000; now += 5'000) {
    const Step s = step(t, r, (now / 5'000) % 2 == 0, 1, now);
    changes += s.changed ? 1 : 0;
  }
  CHECK(changes == 0);
  CHECK(t.state == S::STATE_FIRING);
  CHECK(t.active_since_unix_ms == 0);
  // False for good from 125 s: resolved once it has been false 30 s.
  CHECK_FALSE(step(t, r, false, 0, 125'000).changed);
  CHECK(t.false_since_unix_ms == 125'000);
  CHECK_FALSE(step(t, r, false, 0, 150'000).changed);
  const Step s = step(t, r, false, 0, 155'000);
  CHECK(s.changed);
  CHECK(s.to == S::STATE_RESOLVED);
}

}  // namespace
}  // namespace tg::control::alerts
