// A request's part in the limits (phase 4, pipeline/limit_gate.hpp): whether
// they were decided, the tenant concurrency slot it holds, and what a
// refusal tells the client (the 429's Retry-After and RateLimit fields).
//
// The slot is given back exactly once: by end(), which phase 7 (record)
// calls when the request ends, whatever its fate, and failing that by
// reset() or the destructor (the exchange is reset for the next request on
// the connection, or destroyed with its context).
#pragma once

#include "limits/worker_limits.hpp"

#include <cstddef>
#include <cstdint>

namespace tg::proxy::limits {

// A refusal's answer (429 rate_limited).
struct Refusal {
  LimitKind kind = LimitKind::route_rate;
  Policy policy;                   // the bucket's (rates only)
  std::uint64_t retry_after_s = 1;  // >= 1
};

struct RequestLimits {
  // The request's limits were applied (a request resumed after a suspension
  // is not counted again, and keeps its slot).
  bool decided = false;
  // A shadow limit would have refused the request (for the access log).
  bool shadow_refused = false;
  LimitKind shadow_kind = LimitKind::route_rate;
  Refusal refusal;
  // The tenant's in-flight count this request holds one of, and the
  // generation that keeps its cell alive.
  ConcurrencyCell* slot = nullptr;
  LocalPtr<Generation> holder;

  RequestLimits() = default;
  RequestLimits(const RequestLimits&) = delete;
  RequestLimits& operator=(const RequestLimits&) = delete;
  ~RequestLimits() { end(); }

  void hold(ConcurrencyCell& cell, Generation& generation) {
    slot = &cell;
    holder.reset(&generation);
  }
  // The request ended: its slot goes back.
  void end() {
    if (slot) {
      slot->release();
      slot = nullptr;
    }
    holder.reset();
  }
  void reset() {
    end();
    decided = false;
    shadow_refused = false;
  }
};

// Writes the header lines of a 429 for `refusal` into out[0, capacity):
// Retry-After, and for a rate RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers-10). Returns the length.
std::size_t format_refusal_headers(const Refusal& refusal, char* out, std::size_t capacity);

}  // namespace tg::proxy::limits
