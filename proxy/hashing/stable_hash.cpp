#include "hashing/stable_hash.hpp"

#include <xxhash.h>

namespace tg::proxy::hashing {

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

}  // namespace tg::proxy::hashing
