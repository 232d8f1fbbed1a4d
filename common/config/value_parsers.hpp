// Parsers and syntax checks for the scalar values of the configuration
// (durations, sizes, addresses, names, HTTP syntax). No YAML here: the loader
// calls these with the scalar text and turns a reason into a located error.
//
// Each try_* parser and each *_problem check returns an empty string when the
// value is good, otherwise the reason it is not, phrased to follow a lead-in
// such as `bad duration "1x": `. The bool parsers in loader.hpp wrap these.
#pragma once

#include "config/model.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::config {

// Longest duration accepted anywhere; beyond it a value is surely a typo.
inline constexpr Duration max_duration = std::chrono::hours(24 * 365);

// "<number><unit>", unit one of ms s m h d, the number may have a fraction
// ("1.5s") as long as the result is a whole number of milliseconds. A bare "0"
// is accepted as zero; whether zero is allowed is the caller's business.
std::string try_parse_duration(std::string_view text, Duration& out);

// "<digits>" bytes, or "<digits>KiB|MiB|GiB" (powers of 1024).
std::string try_parse_size(std::string_view text, std::uint64_t& out);

// "host:port" or "[ipv6]:port"; port 1..65535; host an IPv4 literal or a DNS
// name. `host` is returned without brackets.
std::string try_parse_address(std::string_view text, std::string& host, std::uint16_t& port);

// Plain decimal integer with an optional leading '-'. False on anything else
// ("1e3", "+1", "0x10", "1_000") and on int64 overflow.
bool parse_integer(std::string_view text, std::int64_t& out);

// A host name: dot-separated labels of letters, digits, '-' and '_' (container
// runtimes use '_'), 1..63 characters each, no label starting or ending in '-',
// 253 characters at most. One trailing dot is accepted when allow_trailing_dot.
std::string dns_name_problem(std::string_view name, bool allow_trailing_dot);

// The host of a route match, already lower-cased: a DNS name, an IPv4 literal,
// a bracketed IPv6 literal, or "*." followed by a DNS name. No port.
std::string route_host_problem(std::string_view host);

// RFC 9110 token: 1*tchar. Methods and header names are tokens.
bool is_http_token(std::string_view text);

// A header value that a request could carry after parsing: no control
// characters other than tab, no leading or trailing whitespace.
std::string header_value_problem(std::string_view value);

// A request path as matched or rewritten: starts with '/', no whitespace or
// control characters, no '#'; '?' only when allow_query.
std::string path_problem(std::string_view path, bool allow_query);

// Names and ids (tenants, services, routes, instances, label keys): 1..128
// characters, none of them whitespace or control characters.
std::string name_problem(std::string_view name);

// Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
// Every string in the configuration must be: names end up in JSON and logs.
bool is_valid_utf8(std::string_view text);

std::string to_lower_ascii(std::string_view text);
std::string to_upper_ascii(std::string_view text);

}  // namespace tg::config
