#include "tgctl/yaml_output.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <vector>

namespace tg::tgctl {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Would a plain scalar with this text read back as something other than this
// string? Then it must be quoted.
bool needs_quotes(const std::string& text) {
  if (text.empty()) return true;
  try {
    const YAML::Node node = YAML::Load(text);
    if (!node.IsScalar()) return true;
    if (node.Tag() != "?") return true;  // explicit tag
    if (node.as<std::string>() != text) return true;
    // Plain scalars that YAML 1.1/1.2 resolvers treat as non-strings.
    bool boolean = false;
    if (YAML::convert<bool>::decode(node, boolean)) return true;
    double number = 0;
    if (YAML::convert<double>::decode(node, number)) return true;
    static const std::vector<std::string> nulls{"~", "null", "Null", "NULL"};
    if (std::find(nulls.begin(), nulls.end(), text) != nulls.end()) return true;
  } catch (const YAML::Exception&) {
    return true;
  }
  return false;
}

void emit_string(YAML::Emitter& out, const std::string& text) {
  if (needs_quotes(text)) out << YAML::DoubleQuoted;
  out << text;
}

void emit_message(YAML::Emitter& out, const Message& message);

// One value of `field` (index into a repeated field, or -1 for a singular one).
void emit_value(YAML::Emitter& out, const Message& message, const FieldDescriptor& field, int index) {
  const Reflection& r = *message.GetReflection();
  const bool repeated = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out << (repeated ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out << (repeated ? r.GetRepeatedInt64(message, &field, index) : r.GetInt64(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << (repeated ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out << (repeated ? r.GetRepeatedUInt64(message, &field, index) : r.GetUInt64(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << (repeated ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out << (repeated ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << (repeated ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          repeated ? r.GetRepeatedEnumValue(message, &field, index) : r.GetEnumValue(message, &field);
      const auto* value = field.enum_type()->FindValueByNumber(number);
      if (value != nullptr) {
        out << value->name();
      } else {
        out << number;
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      emit_string(out, repeated ? r.GetRepeatedString(message, &field, index)
                                : r.GetString(message, &field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      emit_message(out, repeated ? r.GetRepeatedMessage(message, &field, index)
                                 : r.GetMessage(message, &field));
      break;
  }
}

// A map field as a YAML map ordered by key (protobuf keeps no order).
void emit_map(YAML::Emitter& out, const Message& message, const FieldDescriptor& field) {
  const Reflection& r = *message.GetReflection();
  const int size = r.FieldSize(message, &field);
  std::vector<const Message*> entries;
  for (int i = 0; i < size; ++i) entries.push_back(&r.GetRepeatedMessage(message, &field, i));
  const FieldDescriptor& key = *field.message_type()->map_key();
  const FieldDescriptor& value = *field.message_type()->map_value();
  const auto key_text = [&](const Message* entry) {
    const Reflection& er = *entry->GetReflection();
    return key.cpp_type() == FieldDescriptor::CPPTYPE_STRING ? er.GetString(*entry, &key)
                                                             : std::to_string(er.GetInt64(*entry, &key));
  };
  std::sort(entries.begin(), entries.end(),
            [&](const Message* a, const Message* b) { return key_text(a) < key_text(b); });
  out << YAML::BeginMap;
  for (const Message* entry : entries) {
    out << YAML::Key;
    emit_string(out, key_text(entry));
    out << YAML::Value;
    emit_value(out, *entry, value, -1);
  }
  out << YAML::EndMap;
}

void emit_message(YAML::Emitter& out, const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);  // set fields, by number
  if (fields.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    return;
  }
  out << YAML::BeginMap;
  for (const FieldDescriptor* field : fields) {
    out << YAML::Key << field->name() << YAML::Value;
    if (field->is_map()) {
      emit_map(out, message, *field);
    } else if (field->is_repeated()) {
      out << YAML::BeginSeq;
      const int size = message.GetReflection()->FieldSize(message, field);
      for (int i = 0; i < size; ++i) emit_value(out, message, *field, i);
      out << YAML::EndSeq;
    } else {
      emit_value(out, message, *field, -1);
    }
  }
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const Message& message) {
  YAML::Emitter out;
  emit_message(out, message);
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace tg::tgctl
