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
    if (words.size() > 2) throw fail("expected \"TOKEN\" or \"NAME TOKEN\", got " + std::to_string(words.size()) + " fields");
    Token token = words.size() == 1 ? Token{"admin", words[0]} : Token{words[0], words[1]};
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

std::optional<std::string> TokenSet::authenticate(std::optional<std::string_view> authorization) const {
  if (!enabled_) return std::string("anonymous");
  if (!authorization) return std::nullopt;
  constexpr std::string_view scheme = "Bearer ";
  if (authorization->size() <= scheme.size() || authorization->substr(0, scheme.size()) != scheme) return std::nullopt;
  const std::string_view presented = authorization->substr(scheme.size());
  const Token* match = nullptr;
  for (const Token& token : tokens_)  // no early exit
    if (constant_time_equal(presented, token.secret) && !match) match = &token;
  if (!match) return std::nullopt;
  return match->actor;
}

}  // namespace tg::control
