// Durations, sizes and integers as written in the YAML configuration.
//
// All arithmetic is exact integer arithmetic: "1.5s" is 1500ms, and a value
// that is not a whole number of milliseconds ("1.5ms") is rejected rather than
// rounded, so what the operator wrote is what the gateway does.
#include "config/loader.hpp"
#include "config/value_parsers.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace tg::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view take_digits(std::string_view& text) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  std::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

std::string_view strip_leading_zeros(std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  return digits;
}

std::uint64_t digits_value(std::string_view digits) {  // caller bounds the length
  std::uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> duration_units{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> size_units{{
    {"", 1},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
}};

constexpr std::string_view duration_form =
    "expected a number followed by a unit: ms, s, m, h or d (e.g. 250ms, 1.5s, 2m)";

}  // namespace

std::string try_parse_duration(std::string_view text, Duration& out) {
  if (text.empty()) return "empty value";
  if (text.front() == '-') return "must not be negative";
  std::string_view rest = text;
  std::string_view whole = strip_leading_zeros(take_digits(rest));
  if (whole.empty()) return std::string(duration_form);
  std::string_view fraction;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    fraction = take_digits(rest);
    if (fraction.empty()) return std::string(duration_form);
    while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  }
  const std::string_view unit_text = rest;
  const bool is_zero = whole == "0" && fraction.empty();
  if (unit_text.empty()) {
    if (is_zero) {
      out = Duration{0};
      return {};
    }
    return "missing unit (ms, s, m, h or d)";
  }
  std::uint64_t unit_ms = 0;
  for (const auto& [name, ms] : duration_units) {
    if (name == unit_text) unit_ms = ms;
  }
  if (unit_ms == 0) return "unknown unit \"" + std::string(unit_text) + "\" (use ms, s, m, h or d)";

  const auto limit = static_cast<std::uint64_t>(max_duration.count());
  constexpr std::string_view too_large = "too large (at most 365d)";
  if (whole.size() > 11) return std::string(too_large);  // keeps whole * unit_ms in range
  std::uint64_t total = digits_value(whole) * unit_ms;
  if (!fraction.empty()) {
    if (fraction.size() > 9) return "not a whole number of milliseconds";
    std::uint64_t scale = 1;
    for (std::size_t i = 0; i < fraction.size(); ++i) scale *= 10;
    const std::uint64_t scaled = digits_value(fraction) * unit_ms;  // < 10^9 * 8.64e7
    if (scaled % scale != 0) return "not a whole number of milliseconds";
    total += scaled / scale;
  }
  if (total > limit) return std::string(too_large);
  out = Duration{static_cast<Duration::rep>(total)};
  return {};
}

std::string try_parse_size(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return "empty value";
  if (text.front() == '-') return "must not be negative";
  std::string_view rest = text;
  std::string_view digits = strip_leading_zeros(take_digits(rest));
  if (digits.empty()) return "expected a byte count, optionally followed by KiB, MiB or GiB (e.g. 512, 64KiB)";
  if (!rest.empty() && rest.front() == '.') {
    return "must be a whole number (write 512KiB rather than 0.5MiB)";
  }
  std::uint64_t multiplier = 0;
  for (const auto& [name, factor] : size_units) {
    if (name == rest) multiplier = factor;
  }
  if (multiplier == 0) {
    return "unknown unit \"" + std::string(rest) + "\" (use KiB, MiB or GiB; sizes are powers of 1024)";
  }
  constexpr std::string_view too_large = "too large";
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::string(too_large);
  if (value > UINT64_MAX / multiplier) return std::string(too_large);
  out = value * multiplier;
  return {};
}

bool parse_integer(std::string_view text, std::int64_t& out) {
  if (text.empty()) return false;
  const std::string_view digits = text.front() == '-' ? text.substr(1) : text;
  if (digits.empty()) return false;
  for (char c : digits) {
    if (!is_digit(c)) return false;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return false;
  out = value;
  return true;
}

bool parse_duration(std::string_view text, Duration& out) {
  Duration value{};
  if (!try_parse_duration(text, value).empty()) return false;
  out = value;
  return true;
}

bool parse_size(std::string_view text, std::uint64_t& out) {
  std::uint64_t value = 0;
  if (!try_parse_size(text, value).empty()) return false;
  out = value;
  return true;
}

}  // namespace tg::config
