// The group key of a reported event without a fingerprint of its own: the
// message with what varies between occurrences of "the same" error masked,
// so "order 12345 failed" and "order 987 failed" land in one group.
#pragma once

#include <string>
#include <string_view>

namespace tg::control::ingest {

// Masks, in this order of precedence:
//  * UUIDs (8-4-4-4-12 hex digits)          -> "<uuid>"
//  * 0x-prefixed hex numbers                -> "<hex>"
//  * words of 8+ hex digits holding a digit -> "<hex>"  (ids, hashes, trace ids)
//  * every other run of decimal digits      -> "#"      ("v2", "12.5" -> "v#", "#.#")
// Everything else is kept as is. The result is cut to max_fingerprint_bytes.
std::string normalise_message(std::string_view message);

inline constexpr std::size_t max_fingerprint_bytes = 256;

}  // namespace tg::control::ingest
