#include "limits/request_limits.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tg::proxy::limits {

std::size_t format_refusal_headers(const Refusal& refusal, char* out, std::size_t capacity) {
  if (refusal.kind == LimitKind::tenant_concurrency) {
    const auto end = fmt::format_to_n(out, capacity, "Retry-After: {}\r\n", refusal.retry_after_s);
    return std::min(end.size, capacity);
  }
  // The policy's name says which bucket refused: "route" or "tenant".
  const std::string_view name = refusal.kind == LimitKind::route_rate ? "route" : "tenant";
  const auto end = fmt::format_to_n(out, capacity,
                                    "Retry-After: {0}\r\nRateLimit-Policy: \"{1}\";q={2};w={3}\r\n"
                                    "RateLimit: \"{1}\";r=0;t={0}\r\n",
                                    refusal.retry_after_s, name, refusal.policy.quota, refusal.policy.window_s);
  return std::min(end.size, capacity);
}

}  // namespace tg::proxy::limits
