#include "tgctl/json_input.hpp"

#include "tgctl/command.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
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

namespace {

std::string json_text(std::string_view argument, std::string_view flag) {
  if (argument.starts_with("@")) return read_input_file(std::string(argument.substr(1)), flag);
  return std::string(argument);
}

void parse_json_into(const std::string& text, google::protobuf::Message& message, std::string_view flag) {
  message.Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    throw UsageError(std::string(flag) + ": not a " + message.GetDescriptor()->name() +
                     " in protobuf JSON: " + std::string(status.message()));
  }
}

const google::protobuf::FieldDescriptor* field_named(const google::protobuf::Descriptor& type,
                                                     const std::string& key) {
  if (const google::protobuf::FieldDescriptor* field = type.FindFieldByName(key)) return field;
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == key) return type.field(i);
  }
  return nullptr;
}

// The document parsed into `message` already, so every key names a field.
void collect_paths(const google::protobuf::Struct& object, const google::protobuf::Descriptor& type,
                   const std::string& prefix, const std::set<std::string>& ignored,
                   std::vector<std::string>& paths) {
  for (const auto& [key, value] : object.fields()) {
    const google::protobuf::FieldDescriptor* field = field_named(type, key);
    if (field == nullptr) continue;
    if (prefix.empty() && ignored.contains(field->name())) continue;
    const std::string path = prefix + field->name();
    const bool object_value = value.kind_case() == google::protobuf::Value::kStructValue;
    if (field->is_map() && object_value) {
      for (const auto& entry : value.struct_value().fields()) paths.push_back(path + "." + entry.first);
    } else if (object_value && !field->is_repeated() &&
               field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      collect_paths(value.struct_value(), *field->message_type(), path + ".", ignored, paths);
    } else {
      paths.push_back(path);
    }
  }
}

}  // namespace

void read_json_into(std::string_view argument, google::protobuf::Message& message,
                    std::string_view flag) {
  parse_json_into(json_text(argument, flag), message, flag);
}

std::vector<std::string> read_json_with_paths(std::string_view argument, google::protobuf::Message& message,
                                              std::string_view flag, const std::set<std::string>& ignored) {
  const std::string text = json_text(argument, flag);
  parse_json_into(text, message, flag);
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(text, &object).ok()) return {};  // not an object: no fields
  std::vector<std::string> paths;
  collect_paths(object, *message.GetDescriptor(), "", ignored, paths);
  std::sort(paths.begin(), paths.end());  // a Struct's keys come in no fixed order
  return paths;
}

}  // namespace tg::tgctl
