// --json arguments and input files.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

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

}  // namespace tg::tgctl
