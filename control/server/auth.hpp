// Bearer tokens of the Admin API and the table stream (--token-file), and the
// role each token has.
//
// File format, one token per line: "TOKEN", "NAME TOKEN" or "NAME TOKEN ROLE"
// (separated by spaces or tabs). ROLE is admin (the default), proxy or viewer:
//   admin   every Admin call, and Discovery.StreamTable (so a single-token
//           setup keeps working)
//   viewer  the Admin reads (List*, Get*, DiscoverInstances, ListAudit, ListEvents,
//           ListProxies, GetRegistry) and Apply with dry_run
//   proxy   Discovery.StreamTable only
// A 2-field line is always NAME TOKEN (role admin), as before roles existed; a
// line with only a token is named "admin". NAME/ROLE ("ops/admin") becomes the
// actor in the audit log. Blank lines and lines starting with '#' are
// ignored. Tokens must be unique. Without --token-file every call is allowed
// and the actor is "anonymous".
//
// Thread-safe after construction (read-only): gRPC threads call authenticate().
#pragma once

#include "status.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::control {

enum class Role { admin, proxy, viewer };

std::string_view role_name(Role role);
// nullopt for anything but "admin", "proxy", "viewer".
std::optional<Role> parse_role(std::string_view text);

// Who presented a token.
struct Principal {
  std::string name;  // the token's NAME; "anonymous" without --token-file
  Role role = Role::admin;
  std::string actor;  // for the audit log: "NAME/ROLE", or "anonymous"
};

// What a call needs.
enum class Access {
  read,    // an Admin read (viewer or admin)
  write,   // an Admin call that may change state (admin)
  stream,  // Discovery.StreamTable (proxy or admin)
};

// OK, or PERMISSION_DENIED naming the token, its role, `what` (the method,
// e.g. "CreateTenant") and the role it needs.
Status authorize(const Principal& principal, Access access, std::string_view what);

class TokenSet {
 public:
  TokenSet() = default;  // disabled: everyone is "anonymous" with role admin

  // Throws std::runtime_error "FILE:LINE: problem".
  static TokenSet parse(std::string_view text, const std::string& file_name);
  static TokenSet load_file(const std::string& path);

  bool enabled() const { return enabled_; }
  std::size_t size() const { return tokens_.size(); }

  // Who holds the token in the value of the `authorization` metadata
  // (nullopt when missing); nullopt when refused. Compares against every
  // token in constant time per token, so timing does not tell how much of a
  // guess was right.
  std::optional<Principal> authenticate(std::optional<std::string_view> authorization) const;

 private:
  struct Token {
    Principal principal;
    std::string secret;
  };
  bool enabled_ = false;
  std::vector<Token> tokens_;
};

// Equal strings, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tg::control
