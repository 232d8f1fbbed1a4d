// Output of a response: table (for people), json (protobuf JSON, field names
// as in the .proto), yaml (the same data). json and yaml print the response
// message as it is (a list call prints {"tenants": [...]}, a get the object).
#pragma once

#include "tgctl/command.hpp"

#include <google/protobuf/message.h>

#include <ostream>
#include <string>

namespace tg::tgctl {

void render(const Command& command, const google::protobuf::Message& response,
            OutputFormat format, std::ostream& out);

// Indented protobuf JSON with .proto field names, ending in a newline.
std::string to_json(const google::protobuf::Message& message);

// The table form of each response type (render_tables.cpp). A response type
// without one is printed as YAML.
void render_table(const Command& command, const google::protobuf::Message& response,
                  std::ostream& out);
// The alerting responses' tables (render_alerts.cpp); false for other types.
bool render_alerting_table(const Command& command, const google::protobuf::Message& response, std::ostream& out);

}  // namespace tg::tgctl
