// Character classes of RFC 9110 §5.6 used by the HTTP parsers.
#pragma once

#include <array>
#include <cstdint>

namespace tg::proxy::http {

namespace detail {
constexpr std::array<bool, 256> make_tchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'})
    t[static_cast<unsigned char>(c)] = true;
  return t;
}
// field-vchar / SP / HTAB / obs-text
constexpr std::array<bool, 256> make_field_char() {
  std::array<bool, 256> t{};
  t['\t'] = true;
  for (int c = 0x20; c <= 0x7e; ++c) t[c] = true;
  for (int c = 0x80; c <= 0xff; ++c) t[c] = true;
  return t;
}
// Request-target characters: visible US-ASCII only.
constexpr std::array<bool, 256> make_target_char() {
  std::array<bool, 256> t{};
  for (int c = 0x21; c <= 0x7e; ++c) t[c] = true;
  return t;
}
}  // namespace detail

inline constexpr std::array<bool, 256> kTokenChar = detail::make_tchar();
inline constexpr std::array<bool, 256> kFieldChar = detail::make_field_char();
inline constexpr std::array<bool, 256> kTargetChar = detail::make_target_char();

inline bool is_token_char(unsigned char c) { return kTokenChar[c]; }
inline char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace tg::proxy::http
