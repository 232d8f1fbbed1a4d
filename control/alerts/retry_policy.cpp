#include "alerts/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace tg::control::alerts {

AnswerClass classify(int http_status) {
  if (http_status >= 200 && http_status < 300) return AnswerClass::delivered;
  if (http_status >= 400 && http_status < 500 && http_status != 408 && http_status != 429) return AnswerClass::final;
  return AnswerClass::retry;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;  // more than 11 days is no hint
  std::uint32_t seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return std::chrono::seconds(seconds);
}

std::chrono::milliseconds retry_delay(std::uint32_t attempts_done, const DispatcherOptions& options, double uniform01,
                                      std::optional<std::chrono::milliseconds> retry_after) {
  const std::chrono::milliseconds cap = options.max_backoff;
  if (retry_after) return std::clamp(*retry_after, std::chrono::milliseconds(0), cap);
  // initial * 2^(n-1), computed in double so a long outage cannot overflow.
  const double exponent = std::min<double>(attempts_done == 0 ? 0 : attempts_done - 1, 62);
  const double ceiling =
      std::min(static_cast<double>(cap.count()), static_cast<double>(options.initial_backoff.count()) * std::exp2(exponent));
  const double draw = std::clamp(uniform01, 0.0, 1.0) * ceiling;
  return std::chrono::milliseconds(static_cast<std::int64_t>(draw));
}

RetryDecision decide(int http_status, std::uint32_t attempts_done, std::int64_t created_unix_ms,
                     std::int64_t now_unix_ms, const DispatcherOptions& options, double uniform01,
                     std::optional<std::chrono::milliseconds> retry_after) {
  RetryDecision decision;
  switch (classify(http_status)) {
    case AnswerClass::delivered:
      decision.status = v1::Delivery::STATUS_DELIVERED;
      return decision;
    case AnswerClass::final:
      decision.status = v1::Delivery::STATUS_FAILED;
      decision.reason = "refused by the receiver (http " + std::to_string(http_status) + "): not retried";
      return decision;
    case AnswerClass::retry:
      break;
  }
  if (now_unix_ms - created_unix_ms >= options.give_up_after.count()) {
    decision.status = v1::Delivery::STATUS_FAILED;
    decision.reason = "gave up after " + std::to_string(attempts_done) + " attempts over " +
                      std::to_string((now_unix_ms - created_unix_ms) / 1000) + " s";
    return decision;
  }
  decision.status = v1::Delivery::STATUS_PENDING;
  decision.next_attempt_unix_ms = now_unix_ms + retry_delay(attempts_done, options, uniform01, retry_after).count();
  return decision;
}

}  // namespace tg::control::alerts
