#include "tgctl/render.hpp"

#include "tgctl/yaml_output.hpp"

#include <google/protobuf/util/json_util.h>

namespace tg::tgctl {

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) json = "{}";  // only for messages that cannot be JSON; ours all can
  if (json.empty() || json.back() != '\n') json += '\n';
  return json;
}

void render(const Command& command, const google::protobuf::Message& response,
            OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::json:
      out << to_json(response);
      break;
    case OutputFormat::yaml:
      out << to_yaml(response);
      break;
    case OutputFormat::table:
      render_table(command, response, out);
      break;
  }
}

}  // namespace tg::tgctl
