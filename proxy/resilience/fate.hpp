// How a request ended, as far as resilience goes: one fate per request, in
// the access log ("fate") and in tg_request_fates_total. A user asking "why
// did this request fail and not retry" finds the answer here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tg::proxy::resilience {

enum class Fate : std::uint8_t {
  unset,                   // decided at record: ok, retried_ok or client_closed
  ok,                      // answered on its first try (or locally, without a try)
  retried_ok,              // answered by a later try
  retry_budget_exhausted,  // a retry was allowed by the rule but not by the service's retry budget
  not_retryable,           // the retry rule refused: bytes sent and the method not idempotent or the body
                           // not kept whole, the failure not in retry.on, or the response already begun
  attempts_exhausted,      // retry.attempts tries, or no untried instance left
  ejected_all,             // every instance ejected: 503 at once
  pending_timeout,
  held_timeout,
  auth_failed,
  rate_limited,
  client_closed,
};
inline constexpr std::size_t kFates = 12;
std::string_view to_string(Fate fate);

}  // namespace tg::proxy::resilience
