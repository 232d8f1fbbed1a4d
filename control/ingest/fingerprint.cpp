#include "ingest/fingerprint.hpp"

namespace tg::control::ingest {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool is_uuid_at(std::string_view text, std::size_t at) {
  static constexpr std::size_t groups[] = {8, 4, 4, 4, 12};
  std::size_t i = at;
  for (std::size_t g = 0; g < 5; ++g) {
    for (std::size_t k = 0; k < groups[g]; ++k, ++i)
      if (i >= text.size() || !is_hex(text[i])) return false;
    if (g < 4) {
      if (i >= text.size() || text[i] != '-') return false;
      ++i;
    }
  }
  return i == text.size() || !is_word(text[i]);
}

}  // namespace

std::string normalise_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size() && out.size() < max_fingerprint_bytes) {
    const bool word_start = i == 0 || !is_word(text[i - 1]);
    if (word_start && is_uuid_at(text, i)) {
      out += "<uuid>";
      i += 36;
      continue;
    }
    if (word_start && text[i] == '0' && i + 2 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X') &&
        is_hex(text[i + 2])) {
      i += 2;
      while (i < text.size() && is_hex(text[i])) ++i;
      out += "<hex>";
      continue;
    }
    if (word_start && is_word(text[i])) {
      std::size_t end = i;
      bool all_hex = true, has_digit = false;
      while (end < text.size() && is_word(text[end])) {
        all_hex = all_hex && is_hex(text[end]);
        has_digit = has_digit || is_digit(text[end]);
        ++end;
      }
      if (all_hex && has_digit && end - i >= 8) {
        out += "<hex>";
        i = end;
        continue;
      }
    }
    if (is_digit(text[i])) {
      while (i < text.size() && is_digit(text[i])) ++i;
      out += '#';
      continue;
    }
    out += text[i++];
  }
  if (out.size() > max_fingerprint_bytes) out.resize(max_fingerprint_bytes);
  return out;
}

}  // namespace tg::control::ingest
