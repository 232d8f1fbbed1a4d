#include "server/auth.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace tg::control {

bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::admin: return "admin";
    case Role::proxy: return "proxy";
    case Role::viewer: return "viewer";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role role : {Role::admin, Role::proxy, Role::viewer})
    if (text == role_name(role)) return role;
  return std::nullopt;
}

Status authorize(const Principal& principal, Access access, std::string_view what) {
  const Role role = principal.role;
  const bool allowed = role == Role::admin || (access == Access::read && role == Role::viewer) ||
                       (access == Access::stream && role == Role::proxy);
  if (allowed) return Status{};
  std::string message = "token '" + principal.name + "' has role " + std::string(role_name(role)) + ": ";
  if (access == Access::stream) {
    message += std::string(what) + " needs role proxy or admin";
  } else if (role == Role::proxy) {
    message += "Admin calls need admin (writes) or viewer (reads); " + std::string(what) + " needs " +
               (access == Access::write ? "admin" : "viewer or admin");
  } else {
    message += std::string(what) + " may change the registry and needs role admin";
  }
  return Status{Code::permission_denied, std::move(message)};
}

TokenSet TokenSet::parse(std::string_view text, const std::string& file_name) {
  TokenSet set;
  set.enabled_ = true;
  std::set<std::string> seen;
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream fields(line);
    std::vector<std::string> words;
    for (std::string word; fields >> word;) words.push_back(word);
    if (words.empty() || words[0][0] == '#') continue;
    auto fail = [&](const std::string& problem) {
      return std::runtime_error(file_name + ":" + std::to_string(number) + ": " + problem);
    };
    if (words.size() > 3)
      throw fail("expected \"TOKEN\", \"NAME TOKEN\" or \"NAME TOKEN ROLE\", got " + std::to_string(words.size()) +
                 " fields");
    Token token;
    token.principal.name = words.size() == 1 ? "admin" : words[0];
    token.secret = words.size() == 1 ? words[0] : words[1];
    // "TOKEN ROLE" would otherwise be read as NAME TOKEN with role admin:
    // a token "proxy" granting admin.
    if (words.size() == 2 && parse_role(words[1]))
      throw fail("2 fields are NAME TOKEN, but the token \"" + words[1] +
                 "\" is a role name; write NAME TOKEN ROLE");
    if (words.size() == 3) {
      const auto role = parse_role(words[2]);
      if (!role) throw fail("unknown role \"" + words[2] + "\" (one of: admin, proxy, viewer)");
      token.principal.role = *role;
    }
    token.principal.actor = token.principal.name + "/" + std::string(role_name(token.principal.role));
    if (!seen.insert(token.secret).second) throw fail("this token is listed twice");
    set.tokens_.push_back(std::move(token));
  }
  if (set.tokens_.empty()) throw std::runtime_error(file_name + ": no tokens (every Admin call would be refused)");
  return set;
}

TokenSet TokenSet::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read the token file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

std::optional<Principal> TokenSet::authenticate(std::optional<std::string_view> authorization) const {
  if (!enabled_) return Principal{"anonymous", Role::admin, "anonymous"};
  if (!authorization) return std::nullopt;
  constexpr std::string_view scheme = "Bearer ";
  if (authorization->size() <= scheme.size() || authorization->substr(0, scheme.size()) != scheme) return std::nullopt;
  const std::string_view presented = authorization->substr(scheme.size());
  const Token* match = nullptr;
  for (const Token& token : tokens_)  // no early exit
    if (constant_time_equal(presented, token.secret) && !match) match = &token;
  if (!match) return std::nullopt;
  return match->principal;
}

}  // namespace tg::control
