// The value rules of the configuration model (docs/configuration.md), in one
// place for every way a Config is made: the YAML section readers report a
// broken rule at FILE:LINE:COLUMN, and config::validate (config/validate.hpp)
// checks a Config built some other way, such as a table pushed by tg-control.
//
// Each check_* returns nullopt when the value keeps its rule, otherwise the
// reason it does not, phrased to follow "FIELD: " ("must be from 1 to 10,
// got 11"). The syntax checks they build on are in config/value_parsers.hpp.
#pragma once

#include "config/model.hpp"
#include "config/retry_bounds.hpp"
#include "config/value_parsers.hpp"  // max_duration

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tg::config {

// The closed range an integer field must lie in.
struct IntegerRange {
  std::int64_t min = 0;
  std::int64_t max = 0;
};

namespace range {
// "At least MIN": the bound only keeps the value in an int.
inline constexpr std::int64_t unbounded = std::numeric_limits<std::int32_t>::max();

inline constexpr IntegerRange retry_attempts{kMinRetryAttempts, kMaxRetryAttempts};
inline constexpr IntegerRange percent{0, 100};  // retry.budget_percent, outlier.max_ejection_percent
// health_check thresholds, outlier.consecutive_failures and half_open_probes
inline constexpr IntegerRange at_least_one{1, unbounded};
inline constexpr IntegerRange weight{1, 10000};
inline constexpr IntegerRange max_connections_per_instance{1, 1'000'000};
inline constexpr IntegerRange max_pending_per_instance{0, 1'000'000};
inline constexpr IntegerRange min_retries_per_second{0, 1'000'000};
}  // namespace range

// Whether a duration field may be zero: only where zero means "no limit"
// (retry.per_try_timeout); an interval, a timeout or an ejection time of zero
// would mean "never" or "immediately".
enum class ZeroDuration { allowed, rejected };

// "1500ms": how messages show a duration of the model.
std::string duration_text(Duration value);

// "from 1 to 10", or "at least 1" when the maximum is range::unbounded.
std::string range_text(IntegerRange range);

// "must be from 1 to 10, got 11" / "must be at least 1, got 0".
std::optional<std::string> check_integer(std::int64_t value, IntegerRange range);

// Not negative, at most max_duration (365d), and not zero unless allowed.
std::optional<std::string> check_duration(Duration value, ZeroDuration zero);

// Names and ids of tenants, services, routes, instances, and label names:
// valid UTF-8, 1..128 characters, no whitespace or control characters.
std::optional<std::string> check_name(std::string_view name);

// A label value, or any other free text: valid UTF-8.
std::optional<std::string> check_text(std::string_view text);

// A header name (route header match, hash key header) or a cookie name: an
// RFC 9110 token.
std::optional<std::string> check_token(std::string_view text, std::string_view what);

// The value a route's header match compares with: no control characters
// other than tab (so no CR, LF or NUL), no leading or trailing whitespace.
std::optional<std::string> check_header_value(std::string_view value);

// A route's method: a token (stored upper-case).
std::optional<std::string> check_method(std::string_view method);

// A route's host, lower-case: a DNS name, an IP literal or "*.suffix"; no port.
std::optional<std::string> check_route_host(std::string_view host);

// A request path: starts with '/', no whitespace, control characters or
// '#'; '?' only when allow_query (health check paths).
std::optional<std::string> check_path(std::string_view path, bool allow_query);

// "200", "200-399": a status or an inclusive range of them, each 100..599,
// the first not above the second.
std::optional<std::string> parse_status_range(std::string_view text, StatusRange& out);
// A range of health_check.expect: 100 <= min <= max <= 599.
std::optional<std::string> check_status_range(const StatusRange& range);

// A health check's Host header: a DNS name or an IP literal, optionally
// with ":port" ("acme.internal", "10.0.0.1:8080", "[::1]:80").
std::optional<std::string> check_health_host(std::string_view host);

// An instance address: "host:port" or "[ipv6]:port", port 1..65535.
std::optional<std::string> check_address(std::string_view address);

// Retry conditions: only the bits of RetryOn.
std::optional<std::string> check_retry_on(std::uint32_t conditions);

// A wire value (unsigned, often wider) as a model field, or nullopt when it
// does not fit the field's type: nothing is truncated or wrapped on the way in.
std::optional<Duration> duration_from_ms(std::uint64_t milliseconds);
template <typename To, typename From>
std::optional<To> fitting(From value) {
  if (!std::in_range<To>(value)) return std::nullopt;
  return static_cast<To>(value);
}

}  // namespace tg::config
