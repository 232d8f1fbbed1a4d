// Shared by the tgctl unit tests: parse a command line the way run() does
// and look at the request it built.
#pragma once

#include "tgctl/cli.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tg::tgctl::test {

inline Environment test_environment() {
  Environment environment;
  environment.now_unix_ms = 1'763'791'200'000;  // 2025-11-22T06:00:00Z
  return environment;
}

struct Parsed {
  ParseOutcome outcome;
  std::string out, err;
};

inline Parsed parse(const std::vector<std::string>& args, const Environment& environment = test_environment()) {
  std::ostringstream out, err;
  Parsed parsed{parse_command_line(args, environment, out, err), "", ""};
  parsed.out = out.str();
  parsed.err = err.str();
  return parsed;
}

// The invocation of a command line that must parse.
inline Invocation parse_ok(const std::vector<std::string>& args,
                           const Environment& environment = test_environment()) {
  Parsed parsed = parse(args, environment);
  INFO("stderr: " << parsed.err);
  REQUIRE(parsed.outcome.invocation.has_value());
  return std::move(*parsed.outcome.invocation);
}

// The request as text format, for readable comparisons.
inline std::string text_of(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(message, &text);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// True when `request` equals the message of type T written as text format.
template <class T>
bool request_is(const Invocation& invocation, const std::string& expected_text) {
  T expected;
  if (!google::protobuf::TextFormat::ParseFromString(expected_text, &expected)) {
    FAIL("bad expected text: " << expected_text);
  }
  const auto* actual = dynamic_cast<const T*>(invocation.command.request.get());
  if (actual == nullptr) return false;
  UNSCOPED_INFO("actual:   " << text_of(*actual));
  UNSCOPED_INFO("expected: " << text_of(expected));
  return google::protobuf::util::MessageDifferencer::Equals(expected, *actual);
}

// A file with `content` in the temp directory, removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern = (std::filesystem::temp_directory_path() / "tgctl-unit-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    path_ = pattern;
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tg::tgctl::test
