// The request body's framing, accounted as bytes arrive (no decoding: the
// body is forwarded as received, or in canonical chunked form).
#pragma once

#include "pipeline/exchange.hpp"

#include <cstddef>
#include <cstdint>

namespace tg::proxy {

enum class BodyScan : std::uint8_t { ok, bad_framing, too_large };

// Accounts for the bytes at data[0, size): `take` is how many belong to the
// body (fewer when the body ends inside them). Updates body.remaining,
// body.chunks and body.done. bad_framing: a malformed chunked body (400);
// too_large: chunk data beyond `max_body` (413).
BodyScan scan_request_body(RequestBody& body, const char* data, std::size_t size, std::size_t& take,
                           std::uint64_t max_body);

}  // namespace tg::proxy
