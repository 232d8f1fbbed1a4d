#include "pipeline/retry_rule.hpp"

namespace tg::proxy {

bool body_kept_whole(const Exchange& ex, std::uint64_t buffer_body) {
  if (ex.body.kind == BodyKind::none) return true;
  return buffer_body > 0 && ex.body.done && !ex.body.streamed && ex.body.in_head_buffer <= buffer_body;
}

RetryDecision decide_retry(const Exchange& ex, const http::RequestHead& request, const config::Retry& retry,
                           std::uint64_t buffer_body, const TryFailure& failure, Fate* why) {
  Fate unused;
  Fate& fate = why ? *why : unused;
  fate = Fate::not_retryable;
  if (ex.response.started) return RetryDecision::answer;
  const bool replayable =
      failure.sent == Sent::nothing || (request.idempotent() && body_kept_whole(ex, buffer_body));
  // A pooled connection the upstream had already closed: once more on a
  // fresh connection to the same instance before moving on.
  if (failure.stale_pooled && replayable && !ex.stale_retry_used) return RetryDecision::fresh_connection;
  if (ex.attempts >= retry.attempts) {
    fate = Fate::attempts_exhausted;
    return RetryDecision::answer;
  }
  std::uint32_t flag = 0;
  switch (failure.kind) {
    case ErrorKind::connect_failure: flag = config::retry_connect_failure; break;
    case ErrorKind::upstream_reset: flag = config::retry_reset; break;
    case ErrorKind::timeout: flag = config::retry_timeout; break;
    case ErrorKind::bad_upstream_response: flag = ~0u; break;  // status retries: checked by the caller
    default: return RetryDecision::answer;
  }
  if (!(retry.on & flag)) return RetryDecision::answer;
  return replayable ? RetryDecision::next_instance : RetryDecision::answer;
}

}  // namespace tg::proxy
