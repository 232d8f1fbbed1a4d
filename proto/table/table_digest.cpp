#include "table/table_digest.hpp"

#include <xxhash.h>

#include <cstdio>

namespace tg::table {
namespace {

// A base-128 varint at `at`; false when it runs past the end or over 10 bytes.
bool read_varint(std::string_view bytes, std::size_t& at, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 70 && at < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::uint64_t element_digest(std::string_view element) { return XXH64(element.data(), element.size(), 0); }

std::optional<std::uint64_t> table_digest(std::string_view table) {
  std::uint64_t sum = 0;
  std::size_t at = 0;
  while (at < table.size()) {
    const std::size_t start = at;
    std::uint64_t tag = 0, length = 0;
    if (!read_varint(table, at, tag) || (tag & 7) != 2 || !read_varint(table, at, length) ||
        length > table.size() - at)
      return std::nullopt;
    at += length;
    sum += element_digest(table.substr(start, at - start));
  }
  return sum;
}

std::string digest_text(std::uint64_t digest) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(digest));
  return text;
}

}  // namespace tg::table
