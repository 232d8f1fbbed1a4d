// A name in double quotes, as error messages and logs show names: "acme".
// No escaping: callers quote names that are already restricted to safe
// characters, or free text they want shown as given.
#pragma once

#include <string>
#include <string_view>

namespace tg {

// Overloads for std::string and const char* so that an unqualified call with a
// std::string never picks std::quoted (a template, found by argument-dependent
// lookup where <iomanip> is included).
inline std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}
inline std::string quoted(const std::string& text) { return quoted(std::string_view(text)); }
inline std::string quoted(const char* text) { return quoted(std::string_view(text)); }

}  // namespace tg
