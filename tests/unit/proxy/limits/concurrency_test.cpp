// A tenant's in-flight count (proxy/limits/concurrency.hpp) and the request's
// slot in it (proxy/limits/request_limits.hpp): never above the limit, even
// from two threads; given back exactly once.
#include "limits/concurrency.hpp"
#include "limits/request_limits.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace tg::proxy::limits;
using tg::proxy::LocalPtr;

TEST_CASE("concurrency: at most the limit in flight, and a release makes room", "[proxy][limits][concurrency]") {
  ConcurrencyCell cell;
  CHECK(cell.try_acquire(2));
  CHECK(cell.try_acquire(2));
  CHECK_FALSE(cell.try_acquire(2));
  CHECK(cell.in_flight() == 2);
  cell.release();
  CHECK(cell.try_acquire(2));
  CHECK_FALSE(cell.try_acquire(2));
  // Shadow: counted whatever the limit, reporting when it was already full.
  CHECK(cell.acquire_over(2));
  CHECK(cell.in_flight() == 3);
}

TEST_CASE("concurrency: two threads never hold more than the limit together", "[proxy][limits][concurrency]") {
  ConcurrencyCell cell;
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) {
        if (!cell.try_acquire(3)) continue;
        const int now = ++held;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held;
        cell.release();
      }
    });
  for (auto& thread : threads) thread.join();
  CHECK(most.load() <= 3);
  CHECK(cell.in_flight() == 0);
}

TEST_CASE("concurrency: a request's slot goes back exactly once", "[proxy][limits][concurrency]") {
  LocalPtr<Generation> generation(new Generation);
  ConcurrencyCell cell;
  SECTION("end, then reset and destruction give nothing more back") {
    {
      RequestLimits request;
      REQUIRE(cell.try_acquire(1));
      request.hold(cell, *generation);
      CHECK(generation->use_count() == 2);  // the request keeps the generation (and the cell) alive
      request.end();
      CHECK(cell.in_flight() == 0);
      CHECK(generation->use_count() == 1);
      request.end();
      request.reset();
    }
    CHECK(cell.in_flight() == 0);
  }
  SECTION("a request that never ended gives its slot back when its exchange goes") {
    {
      RequestLimits request;
      REQUIRE(cell.try_acquire(1));
      request.hold(cell, *generation);
    }
    CHECK(cell.in_flight() == 0);
  }
  SECTION("reset for the next request on the connection gives it back too") {
    RequestLimits request;
    REQUIRE(cell.try_acquire(1));
    request.hold(cell, *generation);
    request.decided = true;
    request.reset();
    CHECK(cell.in_flight() == 0);
    CHECK_FALSE(request.decided);
  }
}

TEST_CASE("refusal headers: Retry-After and the RateLimit fields", "[proxy][limits][headers]") {
  char buffer[256];
  Refusal rate{LimitKind::route_rate, Policy{100, 1}, 3};
  CHECK(std::string(buffer, format_refusal_headers(rate, buffer, sizeof buffer)) ==
        "Retry-After: 3\r\nRateLimit-Policy: \"route\";q=100;w=1\r\nRateLimit: \"route\";r=0;t=3\r\n");
  Refusal tenant{LimitKind::tenant_rate, Policy{600, 60}, 1};
  CHECK(std::string(buffer, format_refusal_headers(tenant, buffer, sizeof buffer)) ==
        "Retry-After: 1\r\nRateLimit-Policy: \"tenant\";q=600;w=60\r\nRateLimit: \"tenant\";r=0;t=1\r\n");
  Refusal concurrency{LimitKind::tenant_concurrency, {}, 1};
  CHECK(std::string(buffer, format_refusal_headers(concurrency, buffer, sizeof buffer)) == "Retry-After: 1\r\n");
  // A short buffer is never overrun.
  CHECK(format_refusal_headers(rate, buffer, 10) == 10);
}
