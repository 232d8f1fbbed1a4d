// Registry objects as JSON for the audit log and apply diffs: protobuf's JSON
// mapping with the .proto field names (as in YAML: "path_prefix"), compact.
#pragma once

#include <string>

namespace google::protobuf {
class Message;
}

namespace tg::control {

std::string to_json(const google::protobuf::Message& message);

}  // namespace tg::control
