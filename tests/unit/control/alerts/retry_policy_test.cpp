// The retry policy with pinned clock readings and random draws: which answers
// are final, the capped exponential backoff with full jitter, Retry-After, and
// giving up.
#include "alerts/retry_policy.hpp"

#include <catch2/catch.hpp>

namespace tg::control::alerts {
namespace {

using namespace std::chrono_literals;

DispatcherOptions options() {
  DispatcherOptions o;
  o.initial_backoff = 1s;
  o.max_backoff = 5min;
  o.give_up_after = 2h;
  return o;
}

TEST_CASE("retry policy: 2xx delivered, 4xx but 408/429 final, the rest retried", "[alerts][retry]") {
  CHECK(classify(200) == AnswerClass::delivered);
  CHECK(classify(202) == AnswerClass::delivered);
  CHECK(classify(299) == AnswerClass::delivered);
  CHECK(classify(400) == AnswerClass::final);
  CHECK(classify(401) == AnswerClass::final);
  CHECK(classify(404) == AnswerClass::final);
  CHECK(classify(422) == AnswerClass::final);
  CHECK(classify(408) == AnswerClass::retry);
  CHECK(classify(429) == AnswerClass::retry);
  CHECK(classify(500) == AnswerClass::retry);
  CHECK(classify(503) == AnswerClass::retry);
  CHECK(classify(0) == AnswerClass::retry);    // no answer
  CHECK(classify(302) == AnswerClass::retry);  // redirects are not followed
}

TEST_CASE("retry policy: exponential backoff with full jitter, capped", "[alerts][retry]") {
  const auto o = options();
  // The top of the draw doubles per attempt: 1 s, 2 s, 4 s, ...
  CHECK(retry_delay(1, o, 0.999999, std::nullopt) == 999ms);
  CHECK(retry_delay(2, o, 0.5, std::nullopt) == 1000ms);
  CHECK(retry_delay(3, o, 0.5, std::nullopt) == 2000ms);
  CHECK(retry_delay(4, o, 0.25, std::nullopt) == 2000ms);
  // Full jitter: anywhere from 0.
  CHECK(retry_delay(5, o, 0.0, std::nullopt) == 0ms);
  // Capped at max_backoff, also after very many attempts (no overflow).
  CHECK(retry_delay(20, o, 0.5, std::nullopt) == 150s);
  CHECK(retry_delay(1000, o, 0.999999, std::nullopt) <= 5min);
  CHECK(retry_delay(1000, o, 0.999999, std::nullopt) > 299s);
}

TEST_CASE("retry policy: Retry-After in seconds replaces the draw, within the cap", "[alerts][retry]") {
  const auto o = options();
  CHECK(parse_retry_after("120") == std::optional(std::chrono::milliseconds(120s)));
  CHECK(parse_retry_after(" 7 ") == std::optional(std::chrono::milliseconds(7s)));
  CHECK_FALSE(parse_retry_after("").has_value());
  CHECK_FALSE(parse_retry_after("-1").has_value());
  CHECK_FALSE(parse_retry_after("1.5").has_value());
  CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  CHECK(retry_delay(1, o, 0.0, 120s) == 120s);
  CHECK(retry_delay(1, o, 0.0, 1h) == 5min);
}

TEST_CASE("retry policy: decisions over a delivery's life", "[alerts][retry]") {
  const auto o = options();
  const std::int64_t created = 1'700'000'000'000;
  const auto delivered = decide(204, 1, created, created + 10, o, 0.5, std::nullopt);
  CHECK(delivered.status == v1::Delivery::STATUS_DELIVERED);
  CHECK(delivered.next_attempt_unix_ms == 0);

  const auto refused = decide(400, 1, created, created + 10, o, 0.5, std::nullopt);
  CHECK(refused.status == v1::Delivery::STATUS_FAILED);
  CHECK(refused.reason.find("400") != std::string::npos);

  const auto retried = decide(503, 3, created, created + 10'000, o, 0.5, std::nullopt);
  CHECK(retried.status == v1::Delivery::STATUS_PENDING);
  CHECK(retried.next_attempt_unix_ms == created + 10'000 + 2'000);

  const auto throttled = decide(429, 1, created, created + 10, o, 0.5, 30s);
  CHECK(throttled.status == v1::Delivery::STATUS_PENDING);
  CHECK(throttled.next_attempt_unix_ms == created + 10 + 30'000);

  // Still retrying just before give_up_after, failed for good at it.
  CHECK(decide(0, 40, created, created + 2 * 3'600'000 - 1, o, 0.5, std::nullopt).status ==
        v1::Delivery::STATUS_PENDING);
  const auto gave_up = decide(0, 41, created, created + 2 * 3'600'000, o, 0.5, std::nullopt);
  CHECK(gave_up.status == v1::Delivery::STATUS_FAILED);
  CHECK(gave_up.reason.find("gave up after 41 attempts") != std::string::npos);
  // A final answer is final whenever it comes.
  CHECK(decide(200, 41, created, created + 3 * 3'600'000, o, 0.5, std::nullopt).status ==
        v1::Delivery::STATUS_DELIVERED);
}

}  // namespace
}  // namespace tg::control::alerts
