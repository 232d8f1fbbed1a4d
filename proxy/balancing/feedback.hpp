// What an upstream response head teaches the peak_ewma policy (phase 6,
// where the final response head arrives; docs/configuration.md, lb peak_ewma).
//
// Called once per try that gets a final (non-1xx) response head, for
// services with policy peak_ewma only. Writes worker-local InstanceRuntime
// state, so it survives table swaps with the instance.
#pragma once

#include "http/message_head.hpp"
#include "upstream/upstream.hpp"

#include <cstdint>
#include <optional>

namespace tg::proxy::balancing {

// `rtt_ns`: from the request head's write to this response head.
// `base`: the buffer the response head's spans point into.
// A 503 or 429 is a penalty: the instance is avoided for its Retry-After
// (retry_after_ms, else kDefaultPenaltyMs) and its estimate takes a kPenaltyRttMs sample instead
// of the (fast) real one. Any other status is a plain RTT sample.
// The response's Retry-After in ms (parse_retry_after_ms: delay-seconds, or
// an HTTP-date against the wall clock, read only then); nullopt when the
// header is absent or malformed. Breakers back off by it, peak_ewma avoids
// the instance for it.
std::optional<std::uint64_t> retry_after_ms(const http::ResponseHead& head, const char* base);

void observe_response_head(InstanceRuntime& instance, const http::ResponseHead& head, const char* base,
                           std::uint64_t rtt_ns, std::uint64_t now_ms);

}  // namespace tg::proxy::balancing
