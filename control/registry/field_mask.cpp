#include "registry/field_mask.hpp"

#include "text/closest_match.hpp"

#include <algorithm>
#include <memory>

namespace tg::control {
namespace {

namespace pb = google::protobuf;

constexpr std::string_view labels_prefix = "labels.";

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t dot = path.find('.', begin);
    parts.push_back(path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    if (dot == std::string::npos) return parts;
    begin = dot + 1;
  }
}

std::string known_paths(const std::vector<std::string>& maskable) {
  std::string text;
  for (const std::string& field : maskable) text += (text.empty() ? "" : ", ") + field;
  if (std::find(maskable.begin(), maskable.end(), "labels") != maskable.end()) text += ", labels.KEY";
  return text;
}

// The fields `path` goes through, last one included. False when the path
// names no maskable field; `why` then may say more.
bool resolve(const std::string& path, const pb::Descriptor& root, const std::vector<std::string>& maskable,
             std::vector<const pb::FieldDescriptor*>& fields, std::string& why) {
  const std::vector<std::string> parts = split(path);
  if (std::find(maskable.begin(), maskable.end(), parts.front()) == maskable.end()) return false;
  const pb::Descriptor* type = &root;
  for (const std::string& part : parts) {
    if (type == nullptr) {
      why = " (\"" + fields.back()->name() + "\" has no fields)";
      return false;
    }
    const pb::FieldDescriptor* field = type->FindFieldByName(part);
    if (field == nullptr) return false;
    fields.push_back(field);
    const bool singular_message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated();
    type = singular_message ? field->message_type() : nullptr;
  }
  return true;
}

}  // namespace

Status apply_field_mask(const pb::FieldMask& mask, const pb::Message& from, pb::Message& to,
                        const std::vector<std::string>& maskable, std::vector<std::string>* label_keys) {
  if (mask.paths_size() == 0)
    return Status::invalid("update_mask", "empty; list the fields to change, e.g. \"" + maskable.front() + "\"");
  const bool has_labels = std::find(maskable.begin(), maskable.end(), "labels") != maskable.end();
  std::vector<std::vector<const pb::FieldDescriptor*>> plan;
  std::vector<std::string> keys;
  for (const std::string& path : mask.paths()) {
    if (has_labels && path.starts_with(labels_prefix)) {
      if (path.size() == labels_prefix.size()) return Status::invalid("update_mask", "\"labels.\" needs a KEY");
      keys.push_back(path.substr(labels_prefix.size()));  // a key may hold dots itself
      continue;
    }
    std::vector<const pb::FieldDescriptor*> fields;
    std::string why;
    if (!resolve(path, *to.GetDescriptor(), maskable, fields, why)) {
      if (auto guess = text::closest_match(path, maskable)) why += " (did you mean \"" + *guess + "\"?)";
      return Status::invalid("update_mask", "unknown path \"" + path + "\"" + why + "; known: " +
                                                known_paths(maskable) + " (and fields inside the message ones)");
    }
    plan.push_back(std::move(fields));
  }
  for (const auto& fields : plan) {
    const pb::Message* source = &from;
    pb::Message* target = &to;
    for (std::size_t i = 0; i + 1 < fields.size(); ++i) {
      source = &source->GetReflection()->GetMessage(*source, fields[i]);  // a default instance when unset
      target = target->GetReflection()->MutableMessage(target, fields[i]);
    }
    // SwapFields with a copy moves the field over whatever its kind, and
    // carries "unset" too (an unset message field clears the target's).
    std::unique_ptr<pb::Message> copy(source->New());
    copy->CopyFrom(*source);
    target->GetReflection()->SwapFields(target, copy.get(), {fields.back()});
  }
  if (label_keys != nullptr) *label_keys = std::move(keys);
  return {};
}

}  // namespace tg::control
