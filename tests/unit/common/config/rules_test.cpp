// The value rules of the configuration model (common/config/rules.hpp), one
// by one, and that the YAML loader applies the same rule with its location.
#include "config/rules.hpp"

#include "load_helpers.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

namespace tg::config {
namespace {

using namespace std::chrono_literals;
using test::single_error;

// A service with one setting, as YAML.
std::string service_with(const std::string& block) {
  return "services:\n  - name: s\n    " + block + "\n    instances: [{ address: 127.0.0.1:80 }]\n";
}

TEST_CASE("rules: integer ranges, at both ends", "[config][rules]") {
  CHECK_FALSE(check_integer(1, range::retry_attempts));
  CHECK_FALSE(check_integer(10, range::retry_attempts));
  CHECK(check_integer(0, range::retry_attempts) == "must be from 1 to 10, got 0");
  CHECK(check_integer(11, range::retry_attempts) == "must be from 1 to 10, got 11");
  CHECK_FALSE(check_integer(0, range::percent));
  CHECK_FALSE(check_integer(100, range::percent));
  CHECK(check_integer(101, range::percent) == "must be from 0 to 100, got 101");
  CHECK(check_integer(-1, range::percent) == "must be from 0 to 100, got -1");
  CHECK_FALSE(check_integer(10000, range::weight));
  CHECK(check_integer(10001, range::weight) == "must be from 1 to 10000, got 10001");
  CHECK(check_integer(0, range::weight) == "must be from 1 to 10000, got 0");
  CHECK_FALSE(check_integer(range::unbounded, range::at_least_one));
  CHECK(check_integer(0, range::at_least_one) == "must be at least 1, got 0");
  CHECK(check_integer(range::unbounded + 1, range::at_least_one) == "must be at least 1, got 2147483648");
  CHECK_FALSE(check_integer(0, range::max_pending_per_instance));
  CHECK(check_integer(0, range::max_connections_per_instance) == "must be from 1 to 1000000, got 0");
  CHECK(check_integer(1'000'001, range::max_pending_per_instance) == "must be from 0 to 1000000, got 1000001");
}

TEST_CASE("rules: durations are 0..365d, zero only where it means no limit", "[config][rules]") {
  CHECK_FALSE(check_duration(1ms, ZeroDuration::rejected));
  CHECK_FALSE(check_duration(max_duration, ZeroDuration::rejected));
  CHECK(check_duration(max_duration + 1ms, ZeroDuration::rejected) == "too large (at most 365d)");
  CHECK(check_duration(max_duration + 1ms, ZeroDuration::allowed) == "too large (at most 365d)");
  CHECK(check_duration(0ms, ZeroDuration::rejected) == "must be greater than 0");
  CHECK_FALSE(check_duration(0ms, ZeroDuration::allowed));
  CHECK(check_duration(-1ms, ZeroDuration::allowed) == "must not be negative");
  CHECK(check_duration(Duration{std::numeric_limits<Duration::rep>::min()}, ZeroDuration::rejected) ==
        "must not be negative");
}

TEST_CASE("rules: the YAML loader reports the same rule at the value", "[config][rules]") {
  CHECK(single_error(service_with("retry: { attempts: 11 }")) ==
        "t.yaml:3:24: services[0].retry.attempts: must be from 1 to 10, got 11");
  CHECK(single_error(service_with("timeouts: { connect: 0ms }")) ==
        "t.yaml:3:26: services[0].timeouts.connect: bad duration \"0ms\": must be greater than 0");
  CHECK(single_error(service_with("limits: { max_pending_per_instance: 1000001 }")) ==
        "t.yaml:3:41: services[0].limits.max_pending_per_instance: must be from 0 to 1000000, got 1000001");
}

TEST_CASE("rules: names and ids", "[config][rules]") {
  CHECK_FALSE(check_name("acme-sim/127.0.0.1:80"));
  CHECK_FALSE(check_name(std::string(128, 'n')));
  CHECK(check_name("") == "must not be empty");
  CHECK(check_name(std::string(129, 'n')) == "must be at most 128 characters long");
  CHECK(check_name("a b") == "must not contain a space");
  CHECK(check_name("a\r\nb") == "must not contain control character 0x0d");
  CHECK(check_name(std::string("a\0b", 3)) == "must not contain control character 0x00");
  CHECK(check_name("\xc3\x28") == "is not valid UTF-8");
  CHECK_FALSE(check_text("caf\xc3\xa9"));
  CHECK(check_text("\xed\xa0\x80") == "is not valid UTF-8");  // a surrogate
}

TEST_CASE("rules: header names and methods are tokens, header values have no CR, LF or NUL", "[config][rules]") {
  CHECK_FALSE(check_token("x-tenant-id", "header name"));
  CHECK(check_token("x-a\r\nx-evil", "header name") ==
        "\"x-a\r\nx-evil\" is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)");
  CHECK(check_token("", "cookie name") == "\"\" is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~)");
  CHECK(check_token("a:b", "header name").has_value());
  CHECK_FALSE(check_method("PURGE"));
  CHECK(check_method("GET /") == "\"GET /\" is not a valid HTTP method (a token such as GET or POST)");
  CHECK_FALSE(check_header_value("acme\tcorp"));
  CHECK(check_header_value("a\r\nb") == "must not contain control character 0x0d");
  CHECK(check_header_value("a\nb") == "must not contain control character 0x0a");
  CHECK(check_header_value(std::string("a\0b", 3)) == "must not contain control character 0x00");
  CHECK(check_header_value(" acme").has_value());
}

TEST_CASE("rules: route hosts, paths and addresses", "[config][rules]") {
  CHECK_FALSE(check_route_host("api.example.com"));
  CHECK_FALSE(check_route_host("*.tenant.test"));
  CHECK_FALSE(check_route_host("[::1]"));
  CHECK(check_route_host("*") == "a wildcard is only allowed as a leading \"*.\" (e.g. \"*.example.com\")");
  CHECK(check_route_host("api.example.com:80") ==
        "a port is not allowed in host (routes match the host without its port)");
  CHECK(check_route_host("").has_value());
  CHECK_FALSE(check_path("/api/", false));
  CHECK_FALSE(check_path("/healthz?full=1", true));
  CHECK(check_path("api/", false) == "must start with '/', got \"api/\"");
  CHECK(check_path("/a?b", false) == "must not contain '?' (paths are matched without the query string)");
  CHECK(check_path("/a\r\n", false) == "must not contain control character 0x0d");
  CHECK_FALSE(check_address("127.0.0.1:80"));
  CHECK_FALSE(check_address("[::1]:65535"));
  CHECK_FALSE(check_address("backend.internal:8080"));
  CHECK(check_address("127.0.0.1:0") == "port \"0\" must be a number from 1 to 65535");
  CHECK(check_address("127.0.0.1") == "missing \":port\" (expected host:port or [ipv6]:port)");
}

TEST_CASE("rules: retry conditions are RetryOn bits", "[config][rules]") {
  CHECK_FALSE(check_retry_on(0));
  CHECK_FALSE(check_retry_on(retry_connect_failure | retry_504));
  CHECK(check_retry_on(1u << 6) == "unknown retry condition bits 64");
}

TEST_CASE("rules: wire values fit their model field or are refused", "[config][rules]") {
  CHECK(duration_from_ms(1500) == Duration{1500});
  CHECK(duration_from_ms(std::numeric_limits<std::int64_t>::max()) ==
        Duration{std::numeric_limits<std::int64_t>::max()});
  CHECK_FALSE(duration_from_ms(std::uint64_t{1} << 63));
  CHECK_FALSE(duration_from_ms(std::numeric_limits<std::uint64_t>::max()));
  CHECK(fitting<int>(std::uint32_t{2147483647}) == 2147483647);
  CHECK_FALSE(fitting<int>(std::uint32_t{2147483648u}));
  CHECK(fitting<std::uint32_t>(std::uint64_t{4294967295u}) == 4294967295u);
  CHECK_FALSE(fitting<std::uint32_t>(std::uint64_t{4294967296u}));
}

}  // namespace
}  // namespace tg::config
