#include "tgctl/command_flags.hpp"

#include "tgctl/flag_values.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace tg::tgctl {

void add_text_flag(CLI::App& verb, TextFlag& flag, const std::string& name,
                   const std::string& description) {
  flag.option = verb.add_option(name, flag.value, description);
}

namespace {

template <class T>
T parse_unsigned(const std::string& text, std::string_view flag) {
  T value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) {
    throw UsageError(std::string(flag) + ": expected a whole number 0.." +
                     std::to_string(std::numeric_limits<T>::max()) + ", got \"" + text + "\"");
  }
  return value;
}

}  // namespace

std::uint32_t parse_uint32(const std::string& text, std::string_view flag) {
  return parse_unsigned<std::uint32_t>(text, flag);
}

std::uint64_t parse_uint64(const std::string& text, std::string_view flag) {
  return parse_unsigned<std::uint64_t>(text, flag);
}

void set_labels(const std::vector<std::string>& pairs,
                google::protobuf::Map<std::string, std::string>& labels) {
  for (const std::string& pair : pairs) {
    auto [key, value] = parse_key_value(pair, "--label");
    labels[key] = value;
  }
}

void add_mask_path(std::vector<std::string>& paths, const std::string& path) {
  if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
}

void set_update_mask(std::vector<std::string> paths, const std::vector<std::string>& clear,
                     google::protobuf::FieldMask& mask) {
  for (const std::string& path : clear) add_mask_path(paths, path);
  if (paths.empty()) throw UsageError("nothing to change: give a field flag, --json or --clear");
  for (const std::string& path : paths) mask.add_paths(path);
}

Command make_command(const CLI::App& verb, const Rpc& rpc,
                     std::unique_ptr<google::protobuf::Message> request, std::string subject) {
  Command command;
  command.label = command_label(verb);
  command.rpc = &rpc;
  command.request = std::move(request);
  command.subject = std::move(subject);
  return command;
}

std::string subject_of(std::string_view kind, std::string_view name) {
  return std::string(kind) + " \"" + std::string(name) + "\"";
}

std::string command_label(const CLI::App& verb) {
  const CLI::App* noun = verb.get_parent();
  if (noun == nullptr || noun->get_parent() == nullptr) return verb.get_name();
  return noun->get_name() + " " + verb.get_name();
}

}  // namespace tg::tgctl
