// Bearer tokens of the Admin API (--token-file).
//
// File format, one token per line: "TOKEN" or "NAME TOKEN" (separated by
// spaces or tabs). NAME becomes the actor in the audit log; a line with only
// a token acts as "admin". Blank lines and lines starting with '#' are
// ignored. Tokens must be unique. Without --token-file every call is allowed
// and the actor is "anonymous".
//
// Thread-safe after construction (read-only): gRPC threads call authenticate().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::control {

class TokenSet {
 public:
  TokenSet() = default;  // disabled: everyone is "anonymous"

  // Throws std::runtime_error "FILE:LINE: problem".
  static TokenSet parse(std::string_view text, const std::string& file_name);
  static TokenSet load_file(const std::string& path);

  bool enabled() const { return enabled_; }
  std::size_t size() const { return tokens_.size(); }

  // The actor for the value of the `authorization` metadata (nullopt when
  // missing); nullopt when refused. Compares against every token in constant
  // time per token, so timing does not tell how much of a guess was right.
  std::optional<std::string> authenticate(std::optional<std::string_view> authorization) const;

 private:
  struct Token {
    std::string actor;
    std::string secret;
  };
  bool enabled_ = false;
  std::vector<Token> tokens_;
};

// Equal strings, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tg::control
