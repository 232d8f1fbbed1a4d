#include "table/table_digest.hpp"

#include "table/wire.hpp"

#include <xxhash.h>

#include <cstdio>

namespace tg::table {

std::uint64_t element_digest(std::string_view element) { return XXH64(element.data(), element.size(), 0); }

std::optional<std::uint64_t> table_digest(std::string_view table) {
  std::uint64_t sum = 0;
  std::size_t at = 0;
  while (at < table.size()) {
    const std::size_t start = at;
    std::uint64_t field = 0;
    std::string_view payload;
    if (!wire::read_element(table, at, field, payload)) return std::nullopt;
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
