// Typed reading of YAML values; see yaml_reader.hpp for the contract.
#include "config/yaml_reader.hpp"

#include "config/value_parsers.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <vector>

namespace tg::config {
namespace {

std::string child_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + '.' + std::string(key);
}

// An empty value has no useful mark of its own (yaml-cpp puts it on the next
// token), so errors about it point at its key.
SourceLocation value_location(Diagnostics& diagnostics, const YAML::Node& key, const YAML::Node& value) {
  return diagnostics.locate(value.IsNull() ? key.Mark() : value.Mark());
}

// Scalar text, or a report that the value is not a scalar (or not UTF-8).
std::optional<std::string> scalar_text(Diagnostics& diagnostics, const Value& value, std::string_view expected) {
  if (!value.node.IsScalar()) {
    report(diagnostics, value, "expected " + std::string(expected) + ", got " + describe(value.node));
    return std::nullopt;
  }
  if (!is_valid_utf8(value.node.Scalar())) {
    report(diagnostics, value, "is not valid UTF-8");
    return std::nullopt;
  }
  return value.node.Scalar();
}

}  // namespace

void report(Diagnostics& diagnostics, const Value& value, std::string_view problem) {
  std::string message = value.path.empty() ? std::string{} : value.path + ": ";
  message += problem;
  diagnostics.error(value.location, std::move(message));
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return '"' + node.Scalar() + '"';
  return "an empty value";
}

std::string unknown_choice(std::string_view what, std::string_view got, const std::vector<std::string>& allowed,
                           std::string_view allowed_label) {
  std::string message = "unknown " + std::string(what) + " \"" + std::string(got) + '"';
  if (auto guess = closest_match(got, allowed)) message += " (did you mean \"" + *guess + "\"?)";
  message += "; " + std::string(allowed_label) + ": ";
  for (std::size_t i = 0; i < allowed.size(); ++i) message += (i ? ", " : "") + allowed[i];
  return message;
}

bool read_mapping(Diagnostics& diagnostics, const Value& value, std::initializer_list<Field> fields) {
  if (!value.node.IsNull() && !value.node.IsMap()) {
    report(diagnostics, value, "expected a mapping, got " + describe(value.node));
    return false;
  }
  std::set<std::string> seen;
  if (value.node.IsMap()) {
    for (const auto& pair : value.node) {
      if (!pair.first.IsScalar()) continue;
      const std::string& key = pair.first.Scalar();
      if (!seen.insert(key).second) continue;
      const auto field = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == key; });
      if (field == fields.end()) {
        std::vector<std::string> allowed;
        for (const auto& f : fields) allowed.emplace_back(f.key);
        std::string message = value.path.empty() ? std::string{} : value.path + ": ";
        message += unknown_choice(value.path.empty() ? "top-level key" : "key", key, allowed, "allowed keys");
        diagnostics.error(diagnostics.locate(pair.first.Mark()), std::move(message));
        continue;
      }
      field->read(Value{pair.second, value_location(diagnostics, pair.first, pair.second),
                        child_path(value.path, key)});
    }
  }
  for (const auto& field : fields) {
    if (field.presence == Presence::required && !seen.contains(std::string(field.key))) {
      report(diagnostics, value, "missing required key \"" + std::string(field.key) + '"');
    }
  }
  return true;
}

bool read_sequence(Diagnostics& diagnostics, const Value& value,
                   const std::function<void(const Value& item)>& read_item) {
  if (value.node.IsNull()) return true;
  if (!value.node.IsSequence()) {
    report(diagnostics, value, "expected a list, got " + describe(value.node));
    return false;
  }
  std::size_t index = 0;
  for (const auto& item : value.node) {
    const SourceLocation at = item.IsNull() ? value.location : diagnostics.locate(item.Mark());
    read_item(Value{item, at, value.path + '[' + std::to_string(index++) + ']'});
  }
  return true;
}

std::optional<std::string> read_string(Diagnostics& diagnostics, const Value& value) {
  return scalar_text(diagnostics, value, "a string");
}

std::optional<std::string> read_name(Diagnostics& diagnostics, const Value& value) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  if (auto problem = check_name(*text)) {
    report(diagnostics, value, *problem);
    return std::nullopt;
  }
  return text;
}

std::optional<std::int64_t> read_integer(Diagnostics& diagnostics, const Value& value, IntegerRange range) {
  const std::string expected = "an integer " + range_text(range);
  auto text = scalar_text(diagnostics, value, expected);
  if (!text) return std::nullopt;
  std::int64_t number = 0;
  if (!parse_integer(*text, number)) {
    report(diagnostics, value, "expected " + expected + ", got \"" + *text + '"');
    return std::nullopt;
  }
  if (auto problem = check_integer(number, range)) {
    report(diagnostics, value, *problem);
    return std::nullopt;
  }
  return number;
}

std::optional<Duration> read_duration(Diagnostics& diagnostics, const Value& value, ZeroDuration zero) {
  auto text = scalar_text(diagnostics, value, "a duration (e.g. 250ms, 1.5s, 2m)");
  if (!text) return std::nullopt;
  Duration duration{};
  if (std::string problem = try_parse_duration(*text, duration); !problem.empty()) {
    report(diagnostics, value, "bad duration \"" + *text + "\": " + problem);
    return std::nullopt;
  }
  if (auto problem = check_duration(duration, zero)) {
    report(diagnostics, value, "bad duration \"" + *text + "\": " + *problem);
    return std::nullopt;
  }
  return duration;
}

std::optional<std::uint64_t> read_size(Diagnostics& diagnostics, const Value& value) {
  auto text = scalar_text(diagnostics, value, "a size (e.g. 512, 64KiB, 10MiB)");
  if (!text) return std::nullopt;
  std::uint64_t size = 0;
  if (std::string problem = try_parse_size(*text, size); !problem.empty()) {
    report(diagnostics, value, "bad size \"" + *text + "\": " + problem);
    return std::nullopt;
  }
  return size;
}

std::optional<std::map<std::string, std::string>> read_labels(Diagnostics& diagnostics, const Value& value) {
  if (!value.node.IsNull() && !value.node.IsMap()) {
    report(diagnostics, value, "expected a mapping of label names to values, got " + describe(value.node));
    return std::nullopt;
  }
  std::map<std::string, std::string> labels;
  std::set<std::string> seen;
  bool ok = true;
  if (value.node.IsMap()) {
    for (const auto& pair : value.node) {
      if (!pair.first.IsScalar()) continue;  // reported by check_duplicate_keys
      const std::string& key = pair.first.Scalar();
      if (!seen.insert(key).second) continue;  // likewise
      if (auto problem = check_name(key)) {
        report(diagnostics, Value{pair.first, diagnostics.locate(pair.first.Mark()), value.path},
               "label name \"" + key + "\" " + *problem);
        ok = false;
        continue;
      }
      const Value label{pair.second, value_location(diagnostics, pair.first, pair.second),
                        child_path(value.path, key)};
      auto text = read_string(diagnostics, label);
      if (!text) {
        ok = false;
        continue;
      }
      labels.emplace(key, std::move(*text));
    }
  }
  if (!ok) return std::nullopt;
  return labels;
}

bool read_true_flag(Diagnostics& diagnostics, const Value& value) {
  if (value.node.IsNull()) return true;
  if (value.node.IsScalar() && value.node.Scalar() == "true") return true;
  report(diagnostics, value, "expected true (or no value), got " + describe(value.node));
  return false;
}

std::optional<bool> read_bool(Diagnostics& diagnostics, const Value& value) {
  if (value.node.IsScalar()) {
    const std::string& text = value.node.Scalar();
    if (text == "true") return true;
    if (text == "false") return false;
  }
  report(diagnostics, value, "expected true or false, got " + describe(value.node));
  return std::nullopt;
}

}  // namespace tg::config
