// The request body's framing, accounted as bytes arrive. A fixed-length body
// is forwarded as received; a chunked one in canonical form (sizes in
// lower-case hex without leading zeros, no extensions), rewritten in place,
// so an upstream that reads sizes differently cannot be desynchronised.
#pragma once

#include "pipeline/exchange.hpp"

#include <cstddef>
#include <cstdint>

namespace tg::proxy {

enum class BodyScan : std::uint8_t { ok, bad_framing, too_large };

// Accounts for the bytes at data[0, size): `take` is how many belong to the
// body (fewer when the body ends inside them, or one fewer when a chunk-size
// line of zeros so far ends them: that byte must come again with the next
// bytes); data[0, send) is what to forward for them (send <= take; chunked
// framing rewritten in place). Updates body.remaining, body.chunks and
// body.done. bad_framing: a malformed chunked body (400); too_large: chunk
// data beyond `max_body` (413).
// Inline for a fixed-length body (a compare and a subtraction); chunked
// framing and the rest are scan_request_body_framed's.
BodyScan scan_request_body_framed(RequestBody& body, char* data, std::size_t size, std::size_t& take,
                                  std::size_t& send, std::uint64_t max_body);
inline BodyScan scan_request_body(RequestBody& body, char* data, std::size_t size, std::size_t& take,
                                  std::size_t& send, std::uint64_t max_body) {
  if (body.kind == BodyKind::fixed) {
    take = send = static_cast<std::size_t>(size < body.remaining ? size : body.remaining);
    body.remaining -= take;
    body.done = body.remaining == 0;
    return BodyScan::ok;
  }
  return scan_request_body_framed(body, data, size, take, send, max_body);
}

}  // namespace tg::proxy
