// The route key reject_encoded_slashes (common/config/route_section.cpp):
// default, values, errors at FILE:LINE:COLUMN, and the not-yet-enforced warning.
#include "load_helpers.hpp"

#include <string>

using namespace tg::config;
using tg::config::test::errors_of;
using tg::config::test::load_ok;
using tg::config::test::single_error;

namespace {
std::string route_with(const std::string& line) {
  return "services: [{ name: s }]\n"
         "routes:\n"
         "  - name: r\n"
         "    service: s\n" +
         line;
}
}  // namespace

TEST_CASE("reject_encoded_slashes is off unless a route says true", "[config][routes]") {
  CHECK_FALSE(load_ok(route_with("")).routes[0].reject_encoded_slashes);
  CHECK(load_ok(route_with("    reject_encoded_slashes: true\n")).routes[0].reject_encoded_slashes);
  CHECK_FALSE(load_ok(route_with("    reject_encoded_slashes: false\n")).routes[0].reject_encoded_slashes);
  for (Reader reader : {Reader::proxy, Reader::control})
    CHECK(load_ok(route_with("    reject_encoded_slashes: true\n"), reader).routes[0].reject_encoded_slashes);
}

TEST_CASE("reject_encoded_slashes takes only true or false", "[config][routes][errors]") {
  CHECK(single_error(route_with("    reject_encoded_slashes: yes\n")) ==
        "t.yaml:5:29: routes[0].reject_encoded_slashes: expected true or false, got \"yes\"");
  CHECK(single_error(route_with("    reject_encoded_slashes: 1\n")) ==
        "t.yaml:5:29: routes[0].reject_encoded_slashes: expected true or false, got \"1\"");
  CHECK(single_error(route_with("    reject_encoded_slashes:\n")) ==
        "t.yaml:5:5: routes[0].reject_encoded_slashes: expected true or false, got an empty value");
  CHECK(single_error(route_with("    reject_encoded_slashes: [true]\n")) ==
        "t.yaml:5:29: routes[0].reject_encoded_slashes: expected true or false, got a list");
  // A misspelling gets the unknown-key message with its suggestion.
  CHECK(single_error(route_with("    reject_encoded_slash: true\n")) ==
        "t.yaml:5:5: routes[0]: unknown key \"reject_encoded_slash\" (did you mean \"reject_encoded_slashes\"?); "
        "allowed keys: name, match, service, rewrite, reject_encoded_slashes, auth, auth_forward, rate_limit");
}
