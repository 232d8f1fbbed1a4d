#include "config/unenforced.hpp"

#include <algorithm>
#include <string_view>
#include <tuple>

namespace tg::config {
namespace {

struct Unenforced {
  std::string_view section;  // "" = the document's top level; else each item of this list
  std::string_view key;      // dotted path inside the item or document ("retry.budget_percent")
  std::string_view reason;
};

// The list. Delete an entry when its setting starts to be enforced.
constexpr Unenforced unenforced[] = {
    {"", "retention.alert_history", "no alert engine yet: the value is kept for it"},
};

// The key node of `key` in `map` (for its position), or an invalid node.
YAML::Node key_node(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& pair : map)
    if (pair.first.IsScalar() && pair.first.Scalar() == key) return pair.first;
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node value_of(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& pair : map)
    if (pair.first.IsScalar() && pair.first.Scalar() == key) return pair.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

ConfigError warning_at(const YAML::Node& key, const std::string& file, const std::string& path,
                       std::string_view reason) {
  const YAML::Mark mark = key.Mark();
  SourceLocation where{file, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1};
  return ConfigError{where, "warning: " + path + " is accepted but not enforced yet (" + std::string(reason) + ")"};
}

// Follows a dotted path from `item`; the last key's node when every step exists.
YAML::Node find_path(YAML::Node item, std::string_view path) {
  while (true) {
    const auto dot = path.find('.');
    if (dot == std::string_view::npos) return key_node(item, path);
    item.reset(value_of(item, path.substr(0, dot)));  // rebind; operator= would write into the document
    if (!item.IsDefined()) return item;
    path.remove_prefix(dot + 1);
  }
}

}  // namespace

std::vector<ConfigError> unenforced_settings(const YAML::Node& root, const std::string& file) {
  std::vector<ConfigError> warnings;
  if (!root.IsMap()) return warnings;
  for (const Unenforced& entry : unenforced) {
    if (entry.section.empty()) {
      if (YAML::Node key = find_path(root, entry.key); key.IsDefined())
        warnings.push_back(warning_at(key, file, std::string(entry.key), entry.reason));
      continue;
    }
    const YAML::Node items = value_of(root, entry.section);
    if (!items.IsSequence()) continue;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const YAML::Node item = items[i];
      const YAML::Node key = find_path(item, entry.key);
      if (!key.IsDefined()) continue;
      const YAML::Node name = value_of(item, "name");
      const std::string label = name.IsDefined() && name.IsScalar() ? name.Scalar() : std::to_string(i);
      warnings.push_back(
          warning_at(key, file, std::string(entry.section) + "[" + label + "]." + std::string(entry.key), entry.reason));
    }
  }
  std::stable_sort(warnings.begin(), warnings.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.location.line, a.location.column) < std::tie(b.location.line, b.location.column);
  });
  return warnings;
}

}  // namespace tg::config
