// Typed reading of YAML values with located, path-qualified errors.
//
// Each read_* function either returns the checked value or reports why not
// (as "PATH: problem" at the value's position) and returns nothing, so a
// section reader can go on to the next field after a bad one.
#pragma once

#include "config/rules.hpp"
#include "config/yaml_errors.hpp"
#include "text/closest_match.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

// One YAML value being read, where to point when it is wrong, and its path in
// the document for messages ("services[0].retry.attempts").
struct Value {
  YAML::Node node;
  SourceLocation location;
  std::string path;
};

enum class Presence { optional, required };

struct Field {
  std::string_view key;
  std::function<void(const Value&)> read;
  Presence presence = Presence::optional;
};

// Reports `problem` at the value, prefixed with its path.
void report(Diagnostics& diagnostics, const Value& value, std::string_view problem);

// "a mapping", "a list", "an empty value" or the quoted scalar text.
std::string describe(const YAML::Node& node);

// The candidate closest to `word`, if it is a likely typo (common/text).
using text::closest_match;

// `unknown WHAT "GOT" (did you mean "X"?); ALLOWED_LABEL: A, B, C`
std::string unknown_choice(std::string_view what, std::string_view got, const std::vector<std::string>& allowed,
                           std::string_view allowed_label = "allowed");

// Reads a mapping whose keys must all be among `fields`, calling each field's
// reader with its value. An empty (null) value reads as an empty mapping.
// Reports unknown keys (listing the allowed ones) and missing required keys.
// Repeated keys are skipped here; check_duplicate_keys reports them.
// Returns false when the value is not a mapping.
bool read_mapping(Diagnostics& diagnostics, const Value& value, std::initializer_list<Field> fields);

// Calls `read_item` for each item of a list. An empty (null) value reads as
// an empty list. Returns false when the value is not a list.
bool read_sequence(Diagnostics& diagnostics, const Value& value,
                   const std::function<void(const Value& item)>& read_item);

std::optional<std::string> read_string(Diagnostics& diagnostics, const Value& value);
// A string that passes name_problem (names and ids of objects).
std::optional<std::string> read_name(Diagnostics& diagnostics, const Value& value);
// An integer within `range` (config/rules.hpp).
std::optional<std::int64_t> read_integer(Diagnostics& diagnostics, const Value& value, IntegerRange range);
// A duration that keeps check_duration (config/rules.hpp).
std::optional<Duration> read_duration(Diagnostics& diagnostics, const Value& value, ZeroDuration zero);
std::optional<std::uint64_t> read_size(Diagnostics& diagnostics, const Value& value);
// A mapping of label name to string value.
std::optional<std::map<std::string, std::string>> read_labels(Diagnostics& diagnostics,
                                                              const Value& value);
// A switch that can only be turned on: "true", or an empty value.
bool read_true_flag(Diagnostics& diagnostics, const Value& value);
// "true" or "false".
std::optional<bool> read_bool(Diagnostics& diagnostics, const Value& value);

}  // namespace tg::config
