#include "support/body_pattern.hpp"

#include <array>
#include <cstring>

namespace tg::itest {

namespace {

constexpr std::size_t period = 65521;  // largest prime below 64 KiB

// The table twice over, so any slice of up to `period` bytes is contiguous.
const std::array<char, 2 * period>& table() {
  static const std::array<char, 2 * period> bytes = [] {
    std::array<char, 2 * period> out{};
    std::uint32_t state = 2463534242u;
    for (std::size_t i = 0; i < period; ++i) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      out[i] = out[i + period] = static_cast<char>(state >> 24);
    }
    return out;
  }();
  return bytes;
}

}  // namespace

void fill_pattern(std::uint64_t offset, char* out, std::size_t size) {
  const auto& bytes = table();
  while (size > 0) {
    const std::size_t start = static_cast<std::size_t>(offset % period);
    const std::size_t now = size < period ? size : period;
    std::memcpy(out, bytes.data() + start, now);
    out += now;
    offset += now;
    size -= now;
  }
}

bool PatternChecker::update(std::string_view data) {
  const auto& bytes = table();
  while (ok_ && !data.empty()) {
    const std::size_t start = static_cast<std::size_t>(offset_ % period);
    const std::size_t now = data.size() < period ? data.size() : period;
    if (std::memcmp(data.data(), bytes.data() + start, now) != 0) {
      for (std::size_t i = 0; i < now; ++i) {
        if (data[i] != bytes[start + i]) {
          mismatch_ = offset_ + i;
          break;
        }
      }
      ok_ = false;
      break;
    }
    offset_ += now;
    data.remove_prefix(now);
  }
  if (!ok_) offset_ += data.size();
  return ok_;
}

std::string Fnv1a::hex() const {
  static const char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  std::uint64_t value = hash_;
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[value & 0xf];
    value >>= 4;
  }
  return out;
}

}  // namespace tg::itest
