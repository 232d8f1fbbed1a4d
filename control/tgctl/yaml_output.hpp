// A protobuf message as YAML: the same data as the JSON output (field names
// as in the .proto, enums by name, fields at their default left out), in
// block style. Strings YAML would read as another type ("true", "123", "")
// are quoted, so the output reads back as what it is.
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace tg::tgctl {

std::string to_yaml(const google::protobuf::Message& message);

}  // namespace tg::tgctl
