// HTTP syntax and names: what a route can match on, and what an object may be
// called.
//
// Route values are checked against what a request can actually carry after
// parsing (RFC 9110), so a route that could never match is an error at load
// time instead of a silent 404 at run time.
#include "config/value_parsers.hpp"

#include <cstdint>
#include <cstdio>

namespace tg::config {
namespace {

bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
  return specials.find(c) != std::string_view::npos;
}

// How to show one offending character in a message.
std::string describe_char(char c) {
  if (c == ' ') return "a space";
  if (c == '\t') return "a tab";
  if (is_control(c)) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "control character 0x%02x",
                  static_cast<unsigned>(static_cast<unsigned char>(c)));
    return buffer;
  }
  return "'" + std::string(1, c) + "'";
}

}  // namespace

bool is_http_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

std::string header_value_problem(std::string_view value) {
  for (char c : value) {
    if (c != '\t' && is_control(c)) return "must not contain " + describe_char(c);
  }
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t')) {
    return "must not start or end with whitespace (HTTP strips it, so it could never match)";
  }
  return {};
}

std::string path_problem(std::string_view path, bool allow_query) {
  if (path.empty() || path.front() != '/') {
    return "must start with '/', got \"" + std::string(path) + "\"";
  }
  for (char c : path) {
    if (c == ' ' || is_control(c)) return "must not contain " + describe_char(c);
    if (c == '#') return "must not contain '#' (fragments are never sent to a server)";
    if (c == '?' && !allow_query) {
      return "must not contain '?' (paths are matched without the query string)";
    }
  }
  return {};
}

std::string name_problem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 128) return "must be at most 128 characters long";
  for (char c : name) {
    if (c == ' ' || is_control(c)) return "must not contain " + describe_char(c);
  }
  return {};
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t min_code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2, code = lead & 0x1f, min_code = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, code = lead & 0x0f, min_code = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, code = lead & 0x07, min_code = 0x10000;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min_code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

std::string to_lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string to_upper_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace tg::config
