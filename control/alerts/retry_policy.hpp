// What the dispatcher does after one attempt (docs/alerting.md, "Delivery"):
// the answer's class, the next attempt's time (exponential backoff with full
// jitter, capped, a Retry-After within the cap), and when retries give up.
// Pure: the clock reading and the random draw are arguments, so tests pin them.
#pragma once

#include "alerts/dispatcher.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tg::control::alerts {

enum class AnswerClass {
  delivered,  // 2xx
  final,      // a 4xx other than 408/429: the receiver refuses this body; sending it again cannot help
  retry,      // 5xx, 408, 429, 1xx/3xx, no answer (connect error, timeout, reset)
};

// `http_status` 0 = no answer.
AnswerClass classify(int http_status);

// The Retry-After header as a delay: delta-seconds only ("120"); an HTTP-date
// or anything else is ignored (nullopt).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

// The delay before the next attempt once `attempts_done` attempts failed (1
// after the first): uniform in [0, min(max_backoff, initial_backoff * 2^(attempts_done-1))]
// with `uniform01` in [0, 1); a Retry-After replaces it, capped at max_backoff.
std::chrono::milliseconds retry_delay(std::uint32_t attempts_done, const DispatcherOptions& options, double uniform01,
                                      std::optional<std::chrono::milliseconds> retry_after);

// The status after an attempt and, while PENDING, the next attempt's time.
struct RetryDecision {
  v1::Delivery::Status status = v1::Delivery::STATUS_PENDING;
  std::int64_t next_attempt_unix_ms = 0;
  std::string reason;  // why FAILED ("receiver refused: http 400", "gave up after ...")
};

// `attempts_done` counts the attempt just made; `now_unix_ms` is when it ended.
RetryDecision decide(int http_status, std::uint32_t attempts_done, std::int64_t created_unix_ms,
                     std::int64_t now_unix_ms, const DispatcherOptions& options, double uniform01,
                     std::optional<std::chrono::milliseconds> retry_after);

}  // namespace tg::control::alerts
