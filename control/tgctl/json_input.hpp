// --json arguments and input files.
#pragma once

#include <google/protobuf/message.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tg::tgctl {

// The whole of file `path` ("-" = standard input). Throws UsageError naming
// `flag` and the path when it cannot be read.
std::string read_input_file(const std::string& path, std::string_view flag);

// `argument` is protobuf JSON ('{"name": "r1", ...}') or "@FILE" / "@-";
// parsed into `message` (cleared first). Field names may be snake_case or
// lowerCamelCase, enums by name or number; unknown fields are refused, so a
// typo is not silently dropped. Throws UsageError naming `flag`.
void read_json_into(std::string_view argument, google::protobuf::Message& message,
                    std::string_view flag);

// read_json_into, and the field-mask paths of what the document holds: a
// key whose value is an object inside a message field goes on into it
// ("timeouts.connect_ms"), a map's keys become "labels.KEY", anything else
// (null included: it clears) is a path of its own. Top-level keys in
// `ignored` (output-only or naming fields, e.g. "meta") give no path, so the
// output of `get -o json` can be fed back.
std::vector<std::string> read_json_with_paths(std::string_view argument, google::protobuf::Message& message,
                                              std::string_view flag, const std::set<std::string>& ignored);

}  // namespace tg::tgctl
