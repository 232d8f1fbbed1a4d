// Host rules (proxy/http/host.cpp): which Host values are accepted, and the
// form routes are matched against.
#include "http/host.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::proxy::http::normalise_host;
using tg::proxy::http::valid_host;

TEST_CASE("valid_host accepts names, addresses and numeric ports", "[proxy][http][host]") {
  for (const char* host : {"a", "acme.localhost", "acme.localhost.", "a.b:8080", "a:0", "a:65535", "a:",
                           "127.0.0.1:80", "[::1]", "[::1]:8080", "[2001:DB8::1]", "a_b-c~d", "xn--bcher-kva.example"}) {
    INFO(host);
    CHECK(valid_host(host));
  }
  CHECK(valid_host(std::string(255, 'a')));
}

TEST_CASE("valid_host refuses bad ports, stray brackets and userinfo", "[proxy][http][host]") {
  for (const char* host : {"", "name:evil", "a:1:2", "a:65536", "a:99999", "a:123456", "a:-1", "a: 80", "a:+80",
                           ":80", "[::1]x", "[::1]:x", "[]", "[::1", "a]b", "a[b", "[::g]", "user@h", "a/b", "a b",
                           "a\"b", "::1"}) {
    INFO(host);
    CHECK_FALSE(valid_host(host));
  }
  CHECK_FALSE(valid_host(std::string(256, 'a')));
}

TEST_CASE("normalise_host lower-cases, drops the port and one trailing dot", "[proxy][http][host]") {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : {
           Case{"acme.localhost", "acme.localhost"},
           Case{"Acme.LocalHost", "acme.localhost"},
           Case{"acme.localhost.", "acme.localhost"},
           Case{"Acme.Localhost.:8080", "acme.localhost"},
           Case{"acme.localhost..", "acme.localhost."},  // one dot only: ".." is not the same name
           Case{"a:", "a"},
           Case{"[::1]:8080", "[::1]"},
           Case{"[::AB]", "[::ab]"},
           Case{"127.0.0.1:80", "127.0.0.1"},
           Case{".", "."},
       }) {
    INFO(c.in);
    char buffer[256];
    CHECK(normalise_host(c.in, buffer, sizeof buffer) == c.out);
  }
}

TEST_CASE("normalise_host cuts at the capacity", "[proxy][http][host]") {
  char buffer[4];
  CHECK(normalise_host("ABCDEFG", buffer, sizeof buffer) == "abcd");
}
