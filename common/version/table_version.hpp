// The version of a table within one registry: (generation, counter). The
// generation rises when a restored database is accepted (--accept-restore);
// the counter with every published change. Counter 0 means "no version" (a
// table read from YAML, or nothing served yet). Both binaries and tgctl use
// this one type.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace tg {

struct TableVersion {
  std::uint64_t generation = 0;
  std::uint64_t counter = 0;  // 0 = no version

  bool empty() const { return counter == 0; }
  auto operator<=>(const TableVersion&) const = default;
};

// "g.c", as logs, errors and tgctl show versions.
inline std::string to_string(const TableVersion& version) {
  return std::to_string(version.generation) + "." + std::to_string(version.counter);
}

}  // namespace tg
