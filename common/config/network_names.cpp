// Host names, IP literals and "host:port" addresses.
//
// IP literals are checked with inet_pton, which accepts only the canonical
// forms (dotted quad for IPv4, no zone id for IPv6). A host made only of digits
// and dots is taken to be an IPv4 literal, never a DNS name, so "10.0.0.256"
// is an error rather than a name that can never resolve.
#include "config/loader.hpp"
#include "config/value_parsers.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <utility>

namespace tg::config {
namespace {

bool is_ipv4_literal(std::string_view text) {
  const std::string copy(text);
  in_addr addr{};
  return inet_pton(AF_INET, copy.c_str(), &addr) == 1;
}

bool is_ipv6_literal(std::string_view text) {
  const std::string copy(text);
  in6_addr addr{};
  return inet_pton(AF_INET6, copy.c_str(), &addr) == 1;
}

bool looks_like_ipv4(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// An IPv4 literal or a DNS name (with a trailing dot allowed or not).
std::string plain_host_problem(std::string_view host, bool allow_trailing_dot) {
  if (looks_like_ipv4(host)) {
    return is_ipv4_literal(host) ? std::string{} : "\"" + std::string(host) + "\" is not a valid IPv4 address";
  }
  return dns_name_problem(host, allow_trailing_dot);
}

std::string port_problem(std::string_view text, std::uint16_t& port) {
  if (text.empty()) return "missing port after ':'";
  if (text.find_first_not_of("0123456789") != std::string_view::npos || text.size() > 5) {
    return "port \"" + std::string(text) + "\" must be a number from 1 to 65535";
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < 1 || value > 65535) {
    return "port \"" + std::string(text) + "\" must be a number from 1 to 65535";
  }
  port = static_cast<std::uint16_t>(value);
  return {};
}

}  // namespace

std::string dns_name_problem(std::string_view name, bool allow_trailing_dot) {
  if (name.empty()) return "empty host name";
  std::string_view rest = name;
  if (rest.back() == '.') {
    if (!allow_trailing_dot) return "host name \"" + std::string(name) + "\" must not end with '.'";
    rest.remove_suffix(1);
  }
  if (rest.size() > 253) return "host name is longer than 253 characters";
  const std::string quoted = "host name \"" + std::string(name) + "\"";
  while (true) {
    const std::size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty()) return quoted + " has an empty label";
    if (label.size() > 63) return quoted + " has a label longer than 63 characters";
    for (char c : label) {
      if (!is_label_char(c)) {
        return quoted + " contains '" + std::string(1, c) +
               "' (allowed: letters, digits, '-', '_' and '.' between labels)";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return quoted + " has a label that starts or ends with '-'";
    }
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return {};
}

std::string try_parse_address(std::string_view text, std::string& host, std::uint16_t& port) {
  if (text.empty()) return "empty address";
  std::string_view host_text;
  std::string_view port_text;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host_text = text.substr(1, close - 1);
    if (!is_ipv6_literal(host_text)) {
      return "\"" + std::string(host_text) + "\" is not a valid IPv6 address";
    }
    const std::string_view after = text.substr(close + 1);
    if (after.empty() || after.front() != ':') return "missing \":port\" after \"]\"";
    port_text = after.substr(1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "missing \":port\" (expected host:port or [ipv6]:port)";
    host_text = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host_text.find(':') != std::string_view::npos) {
      return "an IPv6 address needs brackets, e.g. [::1]:8080";
    }
    if (host_text.empty()) return "missing host before \":port\"";
    if (std::string problem = plain_host_problem(host_text, true); !problem.empty()) return problem;
  }
  std::uint16_t port_value = 0;
  if (std::string problem = port_problem(port_text, port_value); !problem.empty()) return problem;
  host.assign(host_text);
  port = port_value;
  return {};
}

bool parse_address(std::string_view text, std::string& host, std::uint16_t& port) {
  std::string host_value;
  std::uint16_t port_value = 0;
  if (!try_parse_address(text, host_value, port_value).empty()) return false;
  host = std::move(host_value);
  port = port_value;
  return true;
}

std::string route_host_problem(std::string_view host) {
  if (host.empty()) return "empty host (omit the key to match any host)";
  if (host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    if (close + 1 != host.size()) {
      return "a port is not allowed in host (routes match the host without its port)";
    }
    const std::string_view literal = host.substr(1, close - 1);
    if (!is_ipv6_literal(literal)) return "\"" + std::string(literal) + "\" is not a valid IPv6 address";
    return {};
  }
  if (host.find(':') != std::string_view::npos) {
    return "a port is not allowed in host (routes match the host without its port)";
  }
  if (host.starts_with("*.")) {
    const std::string_view suffix = host.substr(2);
    if (suffix.find('*') != std::string_view::npos) {
      return "a wildcard is only allowed as a leading \"*.\"";
    }
    if (looks_like_ipv4(suffix)) return "a wildcard host must end in a DNS name, not an IP address";
    return dns_name_problem(suffix, false);
  }
  if (host.find('*') != std::string_view::npos) {
    return "a wildcard is only allowed as a leading \"*.\" (e.g. \"*.example.com\")";
  }
  return plain_host_problem(host, false);
}

}  // namespace tg::config
