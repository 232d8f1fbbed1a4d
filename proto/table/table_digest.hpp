// The digest of a balancer table (discovery.proto, StreamTableResponse.digest):
// the wrapping sum of XXH64 (seed 0) over each element of the serialized
// `tenantgate.v1.Table` — field tag, length and message bytes of one tenant,
// service, instance or route. A sum is independent of the order of the
// elements and is updated per object (subtract the old element, add the new
// one), so tg-control keeps it current for every version at no cost, and a
// proxy checks a full table with one pass over its bytes.
//
// Not a cryptographic hash: it tells tables apart (equal version labels with
// different content after a database restore, damage in transit), it does not
// authenticate them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg::table {

// The digest term of one element (tag, length, message).
std::uint64_t element_digest(std::string_view element);

// The digest of a serialized Table: the sum of element_digest over its
// top-level elements. nullopt when `table` is not a sequence of
// length-delimited fields (a damaged payload).
std::optional<std::uint64_t> table_digest(std::string_view table);

// "0123456789abcdef", as logs and tgctl show digests.
std::string digest_text(std::uint64_t digest);

}  // namespace tg::table
