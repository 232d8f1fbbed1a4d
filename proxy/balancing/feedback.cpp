#include "balancing/feedback.hpp"

#include "upstream/peak_ewma.hpp"

#include <chrono>

namespace tg::proxy::balancing {

namespace {

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<std::uint64_t> retry_after_ms(const http::ResponseHead& head, const char* base) {
  std::string_view value;
  for (std::uint16_t i = 0; i < head.header_count; ++i) {
    const http::HeaderField& field = head.headers[i];
    if (field.name.length == 11 && http::iequals(field.name.view(base), "retry-after")) {
      value = field.value.view(base);
      break;
    }
  }
  if (value.empty()) return std::nullopt;
  // The wall clock is read only for an HTTP-date (delay-seconds is the usual form).
  const bool is_date = !(value.front() >= '0' && value.front() <= '9');
  return parse_retry_after_ms(value, is_date ? unix_now_s() : 0);
}

void observe_response_head(InstanceRuntime& instance, const http::ResponseHead& head, const char* base,
                           std::uint64_t rtt_ns, std::uint64_t now_ms) {
  if (head.status != 503 && head.status != 429) {
    instance.ewma.observe(static_cast<double>(rtt_ns) / 1e6, now_ms);
    return;
  }
  const std::uint64_t window = retry_after_ms(head, base).value_or(kDefaultPenaltyMs);
  instance.avoid_until_ms = std::max(instance.avoid_until_ms, now_ms + window);
  instance.ewma.observe(kPenaltyRttMs, now_ms);
}

}  // namespace tg::proxy::balancing
