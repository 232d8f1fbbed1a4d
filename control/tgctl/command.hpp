// What a parsed command line asks for: one Admin call (the Rpc and its
// request) plus what the output needs to know about it.
#pragma once

#include "tgctl/rpc.hpp"

#include <google/protobuf/message.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace tg::tgctl {

enum class OutputFormat { table, json, yaml };

// Options that apply to every command (flags before or after the noun/verb).
struct GlobalOptions {
  std::string server = "127.0.0.1:7000";  // --server, else $TG_SERVER
  std::string token_file;                 // --token-file, else $TG_TOKEN_FILE; empty = none
  OutputFormat output = OutputFormat::table;
  std::chrono::milliseconds timeout{10'000};  // deadline of the call
};

struct Command {
  std::string label;  // "routes create": names the command in messages
  const Rpc* rpc = nullptr;
  std::unique_ptr<google::protobuf::Message> request;
  // What a delete or heartbeat is about, for table output: `route "r1"`.
  std::string subject;
};

// A command line, flag value, --json document or input file tgctl refuses
// before anything is sent (exit code 2). what() is the message without the
// "tgctl: " lead-in.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tg::tgctl
