// Large bodies generated and checked on the fly, never held in memory: byte i
// of every generated body is pattern_byte(i) (a pseudo-random table with a
// prime period, so a dropped, repeated or reordered block is caught).
// Plus FNV-1a, a cheap streaming hash to compare bodies on both sides.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::itest {

// Writes bytes [offset, offset + size) of the pattern into `out`.
void fill_pattern(std::uint64_t offset, char* out, std::size_t size);
inline std::string pattern_string(std::uint64_t offset, std::size_t size) {
  std::string out(size, '\0');
  fill_pattern(offset, out.data(), size);
  return out;
}

// Checks consecutive slices of a body against the pattern.
class PatternChecker {
 public:
  // False (and stays false) from the first wrong byte on.
  bool update(std::string_view data);
  bool ok() const { return ok_; }
  std::uint64_t size() const { return offset_; }
  // Offset of the first wrong byte, when !ok().
  std::uint64_t first_mismatch() const { return mismatch_; }

 private:
  std::uint64_t offset_ = 0;
  std::uint64_t mismatch_ = 0;
  bool ok_ = true;
};

class Fnv1a {
 public:
  void update(std::string_view data) {
    for (const char c : data) {
      hash_ ^= static_cast<unsigned char>(c);
      hash_ *= 1099511628211ull;
    }
  }
  std::uint64_t value() const { return hash_; }
  std::string hex() const;  // 16 lower-case hex digits

 private:
  std::uint64_t hash_ = 14695981039346656037ull;
};

inline std::string fnv1a_hex(std::string_view data) {
  Fnv1a hash;
  hash.update(data);
  return hash.hex();
}

}  // namespace tg::itest
