#include "tgctl/alert_flags.hpp"

#include "tgctl/command.hpp"
#include "tgctl/flag_values.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace tg::tgctl {

namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

std::string parse_alert_op(std::string_view text, std::string_view flag) {
  const std::string_view op = trim(text);
  for (const char* known : {">", ">=", "<", "<=", "==", "!="})
    if (op == known) return std::string(op);
  throw UsageError(std::string(flag) + ": " + quote(text) + " is not one of > >= < <= == !=");
}

double parse_double(std::string_view text, std::string_view flag) {
  const std::string value(trim(text));
  char* end = nullptr;
  const double number = value.empty() ? 0 : std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(number))
    throw UsageError(std::string(flag) + ": " + quote(text) + " is not a number (0.05, 250, 1e3)");
  return number;
}

std::uint64_t parse_alert_id(std::string_view text) {
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id == 0)
    throw UsageError("ID: " + quote(text) + " is not an alert id (a positive number, as alerts list shows)");
  return id;
}

tenantgate::v1::Matcher parse_matcher(std::string_view text, std::string_view flag) {
  using tenantgate::v1::Matcher;
  // The first operator character decides: "!=", "!~", "=~" or "=".
  const auto at = text.find_first_of("=!");
  Matcher matcher;
  std::size_t op_length = 0;
  if (at != std::string_view::npos) {
    const std::string_view rest = text.substr(at);
    if (rest.starts_with("!=")) {
      matcher.set_op(Matcher::OP_NOT_EQUAL);
      op_length = 2;
    } else if (rest.starts_with("!~")) {
      matcher.set_op(Matcher::OP_NOT_REGEX);
      op_length = 2;
    } else if (rest.starts_with("=~")) {
      matcher.set_op(Matcher::OP_REGEX);
      op_length = 2;
    } else if (rest.starts_with("=")) {
      matcher.set_op(Matcher::OP_EQUAL);
      op_length = 1;
    }
  }
  const std::string_view name = op_length == 0 ? std::string_view{} : trim(text.substr(0, at));
  if (op_length == 0 || name.empty())
    throw UsageError(std::string(flag) + ": " + quote(text) +
                     ": expected LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEX or LABEL!~REGEX");
  matcher.set_name(std::string(name));
  matcher.set_value(std::string(text.substr(at + op_length)));
  return matcher;
}

std::string matcher_text(const tenantgate::v1::Matcher& matcher) {
  using tenantgate::v1::Matcher;
  const char* op = "=";
  switch (matcher.op()) {
    case Matcher::OP_NOT_EQUAL: op = "!="; break;
    case Matcher::OP_REGEX: op = "=~"; break;
    case Matcher::OP_NOT_REGEX: op = "!~"; break;
    default: break;
  }
  return matcher.name() + op + matcher.value();
}

std::int64_t parse_absolute_time_unix_ms(std::string_view text, std::string_view flag) {
  const std::string_view value = trim(text);
  if (!value.empty() && (value.back() == 'm' || value.back() == 'h' || value.back() == 'd' || value.back() == 's'))
    throw UsageError(std::string(flag) + ": " + quote(text) +
                     ": give a time (2026-11-22T06:00:00Z or Unix ms), not a duration");
  return parse_time_unix_ms(value, 0, flag);
}

}  // namespace tg::tgctl
