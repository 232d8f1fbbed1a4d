#include "balancing/feedback.hpp"

#include "upstream/peak_ewma.hpp"

#include <chrono>

namespace tg::proxy::balancing {

namespace {

std::string_view retry_after(const http::ResponseHead& head, const char* base) {
  for (std::uint16_t i = 0; i < head.header_count; ++i) {
    const http::HeaderField& field = head.headers[i];
    if (field.name.length == 11 && http::iequals(field.name.view(base), "retry-after")) return field.value.view(base);
  }
  return {};
}

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void observe_response_head(InstanceRuntime& instance, const http::ResponseHead& head, const char* base,
                           std::uint64_t rtt_ns, std::uint64_t now_ms) {
  if (head.status != 503 && head.status != 429) {
    instance.ewma.observe(static_cast<double>(rtt_ns) / 1e6, now_ms);
    return;
  }
  const std::string_view value = retry_after(head, base);
  // The wall clock is read only for an HTTP-date (delay-seconds is the usual form).
  const bool is_date = !value.empty() && !(value.front() >= '0' && value.front() <= '9');
  const std::uint64_t window = penalty_window_ms(value, is_date ? unix_now_s() : 0);
  instance.avoid_until_ms = std::max(instance.avoid_until_ms, now_ms + window);
  instance.ewma.observe(kPenaltyRttMs, now_ms);
}

}  // namespace tg::proxy::balancing
