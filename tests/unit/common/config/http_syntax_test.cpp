// HTTP tokens, header values, paths and names (common/config/http_syntax.cpp).
#include "config/value_parsers.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::string_literals;

TEST_CASE("HTTP tokens", "[config][http]") {
  using tg::config::is_http_token;
  for (std::string_view good : {"GET", "PURGE", "X-Tenant-ID", "x_y", "a!#$%&'*+-.^_`|~9"}) {
    INFO(good);
    CHECK(is_http_token(good));
  }
  for (std::string_view bad : {"", "GE T", "X:Y", "a/b", "a(b)", "a\"b", "\xc3\xa9", "a\tb", "a,b", "[a]"}) {
    INFO(bad);
    CHECK_FALSE(is_http_token(bad));
  }
}

TEST_CASE("header values a request can carry", "[config][http]") {
  using tg::config::header_value_problem;
  CHECK(header_value_problem("acme").empty());
  CHECK(header_value_problem("").empty());
  CHECK(header_value_problem("a b\tc").empty());
  CHECK(header_value_problem("caf\xc3\xa9").empty());
  const std::string edges = "must not start or end with whitespace (HTTP strips it, so it could never match)";
  CHECK(header_value_problem(" a") == edges);
  CHECK(header_value_problem("a\t") == edges);
  CHECK(header_value_problem("a\r\nb") == "must not contain control character 0x0d");
  CHECK(header_value_problem("a\x7f") == "must not contain control character 0x7f");
  CHECK(header_value_problem("a\0b"s) == "must not contain control character 0x00");
}

TEST_CASE("request paths", "[config][http]") {
  using tg::config::path_problem;
  CHECK(path_problem("/", false).empty());
  CHECK(path_problem("/api/v1/", false).empty());
  CHECK(path_problem("/a%20b", false).empty());
  CHECK(path_problem("", false) == "must start with '/', got \"\"");
  CHECK(path_problem("api", false) == "must start with '/', got \"api\"");
  CHECK(path_problem("*", false) == "must start with '/', got \"*\"");
  CHECK(path_problem("/a b", false) == "must not contain a space");
  CHECK(path_problem("/a\tb", false) == "must not contain a tab");
  CHECK(path_problem("/a#b", true) == "must not contain '#' (fragments are never sent to a server)");
  CHECK(path_problem("/a?b=1", false) == "must not contain '?' (paths are matched without the query string)");
  CHECK(path_problem("/healthz?full=1", true).empty());
}

TEST_CASE("names and ids", "[config][http]") {
  using tg::config::name_problem;
  CHECK(name_problem("acme").empty());
  CHECK(name_problem("acme-sim/127.0.0.1:9001").empty());
  CHECK(name_problem(std::string(128, 'n')).empty());
  CHECK(name_problem(std::string(129, 'n')) == "must be at most 128 characters long");
  CHECK(name_problem("") == "must not be empty");
  CHECK(name_problem("a b") == "must not contain a space");
  CHECK(name_problem("a\nb") == "must not contain control character 0x0a");
}

TEST_CASE("UTF-8 validation", "[config][http]") {
  using tg::config::is_valid_utf8;
  for (std::string_view good : {"", "acme", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"}) {
    INFO(good);
    CHECK(is_valid_utf8(good));
  }
  for (std::string_view bad : {"\xff", "\x80", "caf\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                               "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xc3\x28"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_utf8(bad));
  }
}

TEST_CASE("ASCII case mapping leaves other bytes alone", "[config][http]") {
  CHECK(tg::config::to_lower_ascii("X-Tenant-ID\xc3\x89") == "x-tenant-id\xc3\x89");
  CHECK(tg::config::to_upper_ascii("get-Ok_1") == "GET-OK_1");
}
