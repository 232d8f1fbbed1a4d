// A Prometheus label value, escaped per the text format (backslash, double
// quote and newline). Label values may hold anything the config allowed.
#pragma once

#include <string>
#include <string_view>

namespace tg::proxy::admin {

inline std::string label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace tg::proxy::admin
