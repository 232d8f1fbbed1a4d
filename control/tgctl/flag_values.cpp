#include "tgctl/flag_values.hpp"

#include "tgctl/command.hpp"

#include "config/value_parsers.hpp"
#include "text/quoted.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace tg::tgctl {

namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads `count` digits at `pos` into `out`; false when they are not digits.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// "YYYY-MM-DDTHH:MM:SS[.fff...]Z" → Unix ms; false on anything else.
bool parse_rfc3339_utc(std::string_view text, std::int64_t& out) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !read_digits(text, 11, 2, hour) || text[13] != ':' ||
      !read_digits(text, 14, 2, minute) || text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::size_t pos = 19;
  int millis = 0;
  if (text[pos] == '.') {
    ++pos;
    int scale = 100;
    const std::size_t first = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == first) return false;
  }
  if (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z')) return false;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  out = static_cast<std::int64_t>(::timegm(&tm)) * 1000 + millis;
  return true;
}

}  // namespace

std::pair<std::string, std::string> parse_key_value(std::string_view text, std::string_view flag) {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    throw UsageError(std::string(flag) + ": expected KEY=VALUE, got " + quoted(text));
  }
  return {std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

std::uint64_t parse_duration_ms(std::string_view text, std::string_view flag) {
  config::Duration duration{};
  const std::string problem = config::try_parse_duration(text, duration);
  if (!problem.empty()) {
    throw UsageError(std::string(flag) + ": bad duration " + quoted(text) + ": " + problem);
  }
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
}

std::uint64_t parse_size_bytes(std::string_view text, std::string_view flag) {
  std::uint64_t size = 0;
  const std::string problem = config::try_parse_size(text, size);
  if (!problem.empty()) {
    throw UsageError(std::string(flag) + ": bad size " + quoted(text) + ": " + problem);
  }
  return size;
}

int parse_enum(const google::protobuf::EnumDescriptor& type, std::string_view prefix,
               std::string_view text, std::string_view flag) {
  const std::string wanted = upper(text);
  std::string accepted;
  for (int i = 0; i < type.value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor& value = *type.value(i);
    if (value.number() == 0) continue;  // UNSPECIFIED
    const std::string& name = value.name();
    if (!wanted.empty() && (wanted == name || std::string(prefix) + wanted == name)) {
      return value.number();
    }
    if (!accepted.empty()) accepted += ", ";
    accepted += enum_short_name(type, prefix, value.number());
  }
  throw UsageError(std::string(flag) + ": unknown value " + quoted(text) + " (one of: " + accepted +
                   ")");
}

std::string enum_short_name(const google::protobuf::EnumDescriptor& type, std::string_view prefix,
                            int value) {
  if (value == 0) return "-";
  const google::protobuf::EnumValueDescriptor* descriptor = type.FindValueByNumber(value);
  if (descriptor == nullptr) return std::to_string(value);
  std::string_view name = descriptor->name();
  if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  return lower(name);
}

std::int64_t parse_time_unix_ms(std::string_view text, std::int64_t now_unix_ms,
                                std::string_view flag) {
  std::int64_t value = 0;
  if (config::parse_integer(text, value) && value >= 0) return value;
  if (parse_rfc3339_utc(text, value)) return value;
  config::Duration ago{};
  if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back())) &&
      config::try_parse_duration(text, ago).empty()) {
    return now_unix_ms - std::chrono::duration_cast<std::chrono::milliseconds>(ago).count();
  }
  throw UsageError(std::string(flag) + ": bad time " + quoted(text) +
                   " (RFC 3339 UTC like 2026-11-22T06:00:00Z, Unix milliseconds, or a duration "
                   "before now like 15m)");
}

std::string format_time_unix_ms(std::int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buffer;
}

std::string format_duration_ms(std::uint64_t ms) {
  if (ms == 0) return "0";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace tg::tgctl
