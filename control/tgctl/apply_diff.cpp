#include "tgctl/apply_diff.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <set>

namespace tg::tgctl {

namespace {

using google::protobuf::Value;

Value parse_object(std::string_view json) {
  Value value;
  if (json.empty() ||
      !google::protobuf::util::JsonStringToMessage(std::string(json), &value).ok() ||
      value.kind_case() != Value::kStructValue) {
    value.mutable_struct_value();  // an empty object
  }
  return value;
}

// A leaf shown in a diff: strings bare, everything else as compact JSON.
std::string show(const Value& value) {
  if (value.kind_case() == Value::kStringValue) return value.string_value();
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  return json;
}

// The "name" of each element when `list` holds only objects with distinct
// string names (a tenant's credentials), else nothing.
std::vector<std::string> element_names(const google::protobuf::ListValue& list) {
  std::vector<std::string> names;
  for (const Value& element : list.values()) {
    if (element.kind_case() != Value::kStructValue) return {};
    const auto& fields = element.struct_value().fields();
    auto name = fields.find("name");
    if (name == fields.end() || name->second.kind_case() != Value::kStringValue) return {};
    if (std::find(names.begin(), names.end(), name->second.string_value()) != names.end()) return {};
    names.push_back(name->second.string_value());
  }
  return names;
}

// Every leaf of `value` under `path` into `leaves` (objects are walked, and
// lists of named objects element by element as PATH[NAME]; the rest is a
// leaf).
void flatten(const Value& value, const std::string& path, bool include_meta,
             std::map<std::string, std::string>& leaves, std::set<std::string>& elements) {
  if (value.kind_case() == Value::kStructValue) {
    for (const auto& [key, child] : value.struct_value().fields()) {
      if (path.empty() && key == "meta" && !include_meta) continue;
      flatten(child, path.empty() ? key : path + "." + key, include_meta, leaves, elements);
    }
    return;
  }
  if (value.kind_case() == Value::kListValue && value.list_value().values_size() > 0) {
    const std::vector<std::string> names = element_names(value.list_value());
    if (!names.empty()) {
      for (int i = 0; i < value.list_value().values_size(); ++i) {
        const std::string element = path + "[" + names[static_cast<std::size_t>(i)] + "]";
        elements.insert(element);
        flatten(value.list_value().values(i), element, include_meta, leaves, elements);
      }
      return;
    }
  }
  leaves[path] = show(value);
}

}  // namespace

std::vector<std::string> json_diff(std::string_view before_json, std::string_view after_json,
                                   bool include_meta) {
  std::map<std::string, std::string> before, after;
  std::set<std::string> before_elements, after_elements;
  flatten(parse_object(before_json), "", include_meta, before, before_elements);
  flatten(parse_object(after_json), "", include_meta, after, after_elements);
  std::map<std::string, std::pair<std::string, std::string>> changed;
  // A named element that only one side has is one line, not one per field.
  auto drop_fields = [](std::map<std::string, std::string>& leaves, const std::string& element) {
    for (auto it = leaves.lower_bound(element + "."); it != leaves.end() && it->first.starts_with(element + ".");)
      it = leaves.erase(it);
  };
  for (const std::string& element : before_elements)
    if (!after_elements.contains(element)) {
      changed[element] = {"present", "(none)"};
      drop_fields(before, element);
    }
  for (const std::string& element : after_elements)
    if (!before_elements.contains(element)) {
      changed[element] = {"(none)", "added"};
      drop_fields(after, element);
    }
  for (const auto& [path, value] : before) {
    const auto found = after.find(path);
    if (found == after.end()) {
      changed[path] = {value, "(none)"};
    } else if (found->second != value) {
      changed[path] = {value, found->second};
    }
  }
  for (const auto& [path, value] : after) {
    if (!before.contains(path)) changed[path] = {"(none)", value};
  }
  std::vector<std::string> lines;
  for (const auto& [path, values] : changed) {
    lines.push_back(path + ": " + values.first + " -> " + values.second);
  }
  return lines;
}

std::string short_diff(std::string_view before_json, std::string_view after_json,
                       std::size_t max_items) {
  std::vector<std::string> lines = json_diff(before_json, after_json);
  if (lines.empty()) {
    // Only bookkeeping changed; show the source move, not the revision/time churn.
    for (std::string& line : json_diff(before_json, after_json, true)) {
      if (line.starts_with("meta.source.")) lines.push_back(std::move(line));
    }
  }
  std::string text;
  for (std::size_t i = 0; i < lines.size() && i < max_items; ++i) {
    if (!text.empty()) text += "; ";
    text += lines[i];
  }
  if (lines.size() > max_items) text += " (+" + std::to_string(lines.size() - max_items) + " more)";
  return text;
}

}  // namespace tg::tgctl
