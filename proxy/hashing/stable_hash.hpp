// The one hash function of the hash policies: XXH3 64-bit (xxHash 0.8).
//
// XXH3's output is specified and identical on every platform and endianness
// since xxHash 0.8.0, so two tg-proxy processes (or builds) with the same
// table place every key on the same instance. Do not replace it with
// std::hash, whose values are implementation-defined.
#pragma once

#include <cstdint>
#include <string_view>

namespace tg::proxy::hashing {

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed = 0);

}  // namespace tg::proxy::hashing
