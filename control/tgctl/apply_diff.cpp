#include "tgctl/apply_diff.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <map>

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

// Every leaf of `value` under `path` into `leaves` (objects are walked, the
// rest is a leaf).
void flatten(const Value& value, const std::string& path, bool include_meta,
             std::map<std::string, std::string>& leaves) {
  if (value.kind_case() == Value::kStructValue) {
    for (const auto& [key, child] : value.struct_value().fields()) {
      if (path.empty() && key == "meta" && !include_meta) continue;
      flatten(child, path.empty() ? key : path + "." + key, include_meta, leaves);
    }
    return;
  }
  leaves[path] = show(value);
}

}  // namespace

std::vector<std::string> json_diff(std::string_view before_json, std::string_view after_json,
                                   bool include_meta) {
  std::map<std::string, std::string> before, after;
  flatten(parse_object(before_json), "", include_meta, before);
  flatten(parse_object(after_json), "", include_meta, after);
  std::map<std::string, std::pair<std::string, std::string>> changed;
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
