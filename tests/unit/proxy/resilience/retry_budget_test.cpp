// The retry budget (proxy/resilience/retry_budget.hpp), with a fake clock.
#include "resilience/retry_budget.hpp"

#include <catch2/catch.hpp>

using tg::proxy::resilience::RetryBudget;

TEST_CASE("retry budget: retries under way stay within the percentage of requests under way",
          "[proxy][resilience][budget]") {
  RetryBudget b;
  for (int i = 0; i < 10; ++i) b.request_started();
  // 20% of 10: two retries; no per-second minimum.
  CHECK(b.allow(0, 20, 0, false));
  CHECK(b.allow(0, 20, 0, false));
  CHECK_FALSE(b.allow(0, 20, 0, false));
  CHECK(b.active_retries() == 2);
  // A request already retrying may retry again: it is counted already.
  CHECK(b.allow(0, 20, 0, true));
  CHECK(b.active_retries() == 2);
  // One of them ends: one retry under way of 9 requests, 20% of 9 is 1.8.
  b.request_ended(true);
  CHECK(b.active_requests() == 9);
  CHECK(b.active_retries() == 1);
  CHECK_FALSE(b.allow(0, 20, 0, false));
  // A tenth request: room for a second retry.
  b.request_started();
  CHECK(b.allow(0, 20, 0, false));
}

TEST_CASE("retry budget: a single request under way gets no retry at 20% without a minimum",
          "[proxy][resilience][budget]") {
  RetryBudget b;
  b.request_started();
  CHECK_FALSE(b.allow(0, 20, 0, false));
  CHECK(b.allow(0, 100, 0, false));
}

TEST_CASE("retry budget: min_retries_per_second allowed whatever the ratio, per one-second window",
          "[proxy][resilience][budget]") {
  RetryBudget b;
  b.request_started();
  CHECK(b.allow(0, 0, 2, false));
  CHECK(b.allow(10, 0, 2, false));
  CHECK_FALSE(b.allow(999, 0, 2, false));
  CHECK(b.allow(1000, 0, 2, false));  // a new window
  CHECK(b.allow(1500, 0, 2, false));
  CHECK_FALSE(b.allow(1999, 0, 2, false));
}
