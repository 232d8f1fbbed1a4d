// The one retry rule (docs/life-of-a-request.md, "Retries"): after a failed
// try, what the request does next. Pure: unit-tested apart from any socket.
#pragma once

#include "config/model.hpp"
#include "pipeline/exchange.hpp"

#include <cstdint>

namespace tg::proxy {

// Whether any byte of the try may have reached the upstream.
enum class Sent : std::uint8_t {
  nothing,  // connect failure, or nothing written yet
  some,     // part or all of the request was written
};

struct TryFailure {
  ErrorKind kind;  // connect_failure, upstream_reset, timeout, bad_upstream_response
  Sent sent;
  // The try used a pooled connection that turned out closed by the upstream
  // before answering anything (a reset with no response byte).
  bool stale_pooled = false;
};

enum class RetryDecision : std::uint8_t {
  answer,          // no retry: the failure is the answer (502/504), or the response is cut
  fresh_connection,  // the same instance again on a new connection (a stale pooled one, once)
  next_instance,   // phase 5 again, avoiding the instances tried
};

// Whether the request body, if any, is still whole in the client buffer: it
// was received whole before the first try (limits.buffer_body) and nothing
// was read after that.
bool body_kept_whole(const Exchange& ex, std::uint64_t buffer_body);

// Rule: a try may be retried on another instance if (a) no byte of it
// reached the upstream, whatever the method; or (b) the method is idempotent
// and its body, if any, was kept whole — and only for the failure kinds
// `retry.on` lists, within `retry.attempts` tries. Status retries (502/503/504
// answers) are checked by the caller and come in as bad_upstream_response.
// When the answer is `answer`, `why` (if given) says which fate that is:
// attempts_exhausted or not_retryable.
RetryDecision decide_retry(const Exchange& ex, const http::RequestHead& request, const config::Retry& retry,
                           std::uint64_t buffer_body, const TryFailure& failure, Fate* why = nullptr);

}  // namespace tg::proxy
