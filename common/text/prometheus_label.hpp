// A Prometheus label value, escaped per the text exposition format
// (backslash, double quote and newline). Label values may hold anything the
// configuration allowed; both binaries' /metrics pages escape through this.
#pragma once

#include <string>
#include <string_view>

namespace tg::text {

inline std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
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

}  // namespace tg::text
