// Helpers shared by the commands_*.cpp files: flags that remember whether
// they were given, and the few conversions every noun uses.
#pragma once

#include "tgctl/command.hpp"

#include <CLI/CLI.hpp>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/map.h>

#include <memory>
#include <string>
#include <vector>

namespace tg::tgctl {

// A flag kept as text and converted after the parse, so that the message of
// a bad value names the flag, and so that a value given on purpose (even "")
// is told apart from a flag left out: a given empty value clears a field.
struct TextFlag {
  std::string value;
  CLI::Option* option = nullptr;
  bool given() const { return option != nullptr && option->count() > 0; }
};

// Adds `--name` bound to `flag`.
void add_text_flag(CLI::App& verb, TextFlag& flag, const std::string& name,
                   const std::string& description);

// "123" → 123 for a uint32 / uint64 field; UsageError naming `flag` otherwise.
std::uint32_t parse_uint32(const std::string& text, std::string_view flag);
std::uint64_t parse_uint64(const std::string& text, std::string_view flag);

// Each "k=v" of `pairs` (flag --label) set in `labels`, replacing a value of
// the same key; an entry "k=" is kept as an empty value.
void set_labels(const std::vector<std::string>& pairs,
                google::protobuf::Map<std::string, std::string>& labels);

// Appends `path` to a field mask unless it is there already.
void add_mask_path(std::vector<std::string>& paths, const std::string& path);

// The mask of a patch/update: `paths` plus each --clear path; UsageError when
// it is empty (nothing would change).
void set_update_mask(std::vector<std::string> paths, const std::vector<std::string>& clear,
                     google::protobuf::FieldMask& mask);

Command make_command(const CLI::App& verb, const Rpc& rpc,
                     std::unique_ptr<google::protobuf::Message> request, std::string subject = {});

// `kind "name"`, for messages and delete output.
std::string subject_of(std::string_view kind, std::string_view name);

// "routes create": the noun and verb of a leaf subcommand (just "apply" for
// apply).
std::string command_label(const CLI::App& verb);

}  // namespace tg::tgctl
