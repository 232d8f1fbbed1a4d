// The value rules of the configuration model (config/rules.hpp).
#include "config/rules.hpp"

#include "config/value_parsers.hpp"

namespace tg::config {
namespace {

std::optional<std::string> problem_or_none(std::string problem) {
  if (problem.empty()) return std::nullopt;
  return problem;
}

}  // namespace

std::string duration_text(Duration value) { return std::to_string(value.count()) + "ms"; }

std::string range_text(IntegerRange range) {
  if (range.max == range::unbounded || range.max == std::numeric_limits<std::int64_t>::max()) {
    return "at least " + std::to_string(range.min);
  }
  return "from " + std::to_string(range.min) + " to " + std::to_string(range.max);
}

std::optional<std::string> check_integer(std::int64_t value, IntegerRange range) {
  if (value >= range.min && value <= range.max) return std::nullopt;
  return "must be " + range_text(range) + ", got " + std::to_string(value);
}

std::optional<std::string> check_duration(Duration value, ZeroDuration zero) {
  if (value.count() < 0) return "must not be negative";
  if (value.count() == 0 && zero == ZeroDuration::rejected) return "must be greater than 0";
  if (value > max_duration) return "too large (at most 365d)";
  return std::nullopt;
}

std::optional<std::string> check_text(std::string_view text) {
  if (!is_valid_utf8(text)) return "is not valid UTF-8";
  return std::nullopt;
}

std::optional<std::string> check_name(std::string_view name) {
  if (auto problem = check_text(name)) return problem;
  return problem_or_none(name_problem(name));
}

std::optional<std::string> check_token(std::string_view text, std::string_view what) {
  if (is_http_token(text)) return std::nullopt;
  return '"' + std::string(text) + "\" is not a valid " + std::string(what) + " (letters, digits and !#$%&'*+-.^_`|~)";
}

std::optional<std::string> check_header_value(std::string_view value) {
  if (auto problem = check_text(value)) return problem;
  return problem_or_none(header_value_problem(value));
}

std::optional<std::string> check_method(std::string_view method) {
  if (is_http_token(method)) return std::nullopt;
  return '"' + std::string(method) + "\" is not a valid HTTP method (a token such as GET or POST)";
}

std::optional<std::string> check_route_host(std::string_view host) { return problem_or_none(route_host_problem(host)); }

std::optional<std::string> check_path(std::string_view path, bool allow_query) {
  if (auto problem = check_text(path)) return problem;
  return problem_or_none(path_problem(path, allow_query));
}

std::optional<std::string> check_status_range(const StatusRange& range) {
  if (range.min < 100 || range.min > 599 || range.max < 100 || range.max > 599)
    return "a status must be from 100 to 599, got " + std::to_string(range.min < 100 || range.min > 599 ? range.min : range.max);
  if (range.min > range.max)
    return "range " + std::to_string(range.min) + "-" + std::to_string(range.max) + " ends before it starts";
  return std::nullopt;
}

std::optional<std::string> parse_status_range(std::string_view text, StatusRange& out) {
  auto number = [](std::string_view digits, int& value) {
    if (digits.empty() || digits.size() > 3) return false;
    value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    return true;
  };
  const auto dash = text.find('-');
  StatusRange range;
  const bool ok = dash == std::string_view::npos
                      ? number(text, range.min) && number(text, range.max)
                      : number(text.substr(0, dash), range.min) && number(text.substr(dash + 1), range.max);
  if (!ok) return "must be a status (200) or a range of statuses (200-399), got \"" + std::string(text) + "\"";
  if (auto problem = check_status_range(range)) return problem;
  out = range;
  return std::nullopt;
}

std::optional<std::string> check_health_host(std::string_view host) {
  if (host.empty()) return "must not be empty";
  if (auto problem = check_text(host)) return problem;
  if (host.find('*') != std::string_view::npos) return "must be a host name or an IP address, without a wildcard";
  const bool bracketed = host.front() == '[';
  const auto colon = host.rfind(':');
  const bool has_port = bracketed ? host.find("]:") != std::string_view::npos
                                  : colon != std::string_view::npos && host.find(':') == colon;
  if (has_port) return check_address(host);
  if (bracketed || host.find(':') != std::string_view::npos) return "an IPv6 address needs brackets and a port ([::1]:80)";
  return check_route_host(host);
}

std::optional<std::string> check_address(std::string_view address) {
  std::string host;
  std::uint16_t port = 0;
  return problem_or_none(try_parse_address(address, host, port));
}

std::optional<std::string> check_retry_on(std::uint32_t conditions) {
  std::uint32_t known = 0;
  for (RetryOn condition : all_retry_conditions) known |= condition;
  if ((conditions & ~known) == 0) return std::nullopt;
  return "unknown retry condition bits " + std::to_string(conditions & ~known);
}

std::optional<Duration> duration_from_ms(std::uint64_t milliseconds) {
  const auto ms = fitting<Duration::rep>(milliseconds);
  if (!ms) return std::nullopt;
  return Duration{*ms};
}

}  // namespace tg::config
