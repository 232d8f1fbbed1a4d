// Names that proxies and registries give themselves (node ids, registry ids):
// 1-128 characters of [A-Za-z0-9_.:-], so they are safe in logs, metric
// labels and tables as they are.
#pragma once

#include <string_view>

namespace tg {

inline bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace tg
