#include "tgctl/json_input.hpp"

#include "tgctl/command.hpp"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace tg::tgctl {

std::string read_input_file(const std::string& path, std::string_view flag) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw UsageError(std::string(flag) + ": cannot read " + path);
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) throw UsageError(std::string(flag) + ": cannot read " + path);
  return content.str();
}

void read_json_into(std::string_view argument, google::protobuf::Message& message,
                    std::string_view flag) {
  std::string text;
  if (argument.starts_with("@")) {
    text = read_input_file(std::string(argument.substr(1)), flag);
  } else {
    text = std::string(argument);
  }
  message.Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    throw UsageError(std::string(flag) + ": not a " + message.GetDescriptor()->name() +
                     " in protobuf JSON: " + std::string(status.message()));
  }
}

}  // namespace tg::tgctl
