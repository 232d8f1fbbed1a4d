// Listen addresses as flags give them (common/net/listen_address), shared by
// tg-proxy's --listen/--admin and tg-control's --grpc/--http.
#include "net/listen_address.hpp"

#include <catch2/catch.hpp>

using tg::net::address_text;
using tg::net::ListenAddress;
using tg::net::parse_listen_address;

TEST_CASE("listen addresses split into IP and port", "[net][listen_address]") {
  ListenAddress a;
  REQUIRE(parse_listen_address("127.0.0.1:8080", a).empty());
  CHECK(a.ip == "127.0.0.1");
  CHECK(a.port == 8080);
  REQUIRE(parse_listen_address("[::1]:0", a).empty());
  CHECK(a.ip == "::1");
  CHECK(a.port == 0);
  REQUIRE(parse_listen_address("0.0.0.0:65535", a).empty());
  CHECK(a.port == 65535);
}

TEST_CASE("bad listen addresses say what is wrong and leave the result alone", "[net][listen_address]") {
  ListenAddress a{"keep", 7};
  CHECK(parse_listen_address("localhost", a) == "expected IP:PORT, got \"localhost\"");
  CHECK(parse_listen_address("::1:80", a) == "an IPv6 address needs brackets, e.g. [::1]:9000 in \"::1:80\"");
  CHECK(parse_listen_address("[::1]80", a) == "missing \":PORT\" after ']' in \"[::1]80\"");
  CHECK(parse_listen_address("[::1:80", a) == "missing ']' after the IPv6 address in \"[::1:80\"");
  CHECK(parse_listen_address(":80", a) == "missing IP before \":PORT\" in \":80\"");
  CHECK(parse_listen_address("1.2.3.4:65536", a) == "port \"65536\" must be a number from 0 to 65535 in \"1.2.3.4:65536\"");
  CHECK(parse_listen_address("1.2.3.4:", a) == "port \"\" must be a number from 0 to 65535 in \"1.2.3.4:\"");
  CHECK(parse_listen_address("1.2.3.4:8x", a) == "port \"8x\" must be a number from 0 to 65535 in \"1.2.3.4:8x\"");
  CHECK(a.ip == "keep");
  CHECK(a.port == 7);
}

TEST_CASE("address text brackets IPv6 only", "[net][listen_address]") {
  CHECK(address_text("10.0.0.1", 80) == "10.0.0.1:80");
  CHECK(address_text("::1", 9000) == "[::1]:9000");
}
