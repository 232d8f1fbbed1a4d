// Addresses, DNS names and route hosts (common/config/network_names.cpp).
#include "config/loader.hpp"
#include "config/value_parsers.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

struct Parsed {
  std::string host;
  std::uint16_t port = 0;
};

Parsed address_of(std::string_view text) {
  Parsed parsed;
  INFO(text);
  REQUIRE(tg::config::parse_address(text, parsed.host, parsed.port));
  return parsed;
}

std::string address_problem(std::string_view text) {
  std::string host;
  std::uint16_t port = 0;
  return tg::config::try_parse_address(text, host, port);
}

}  // namespace

TEST_CASE("addresses: IPv4, IPv6 in brackets, DNS names", "[config][address]") {
  auto v4 = address_of("127.0.0.1:9001");
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == 9001);

  auto v6 = address_of("[::1]:8080");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 8080);
  CHECK(address_of("[2001:db8::7]:443").host == "2001:db8::7");
  CHECK(address_of("[::ffff:10.0.0.1]:80").host == "::ffff:10.0.0.1");

  CHECK(address_of("localhost:80").host == "localhost");
  CHECK(address_of("acme-sim.default.svc.cluster.local:8080").host == "acme-sim.default.svc.cluster.local");
  CHECK(address_of("project_web_1:5000").host == "project_web_1");
  CHECK(address_of("example.com.:80").host == "example.com.");
  CHECK(address_of("1.2.3.4a:80").host == "1.2.3.4a");  // has a letter: a DNS name
}

TEST_CASE("addresses: port range is 1..65535", "[config][address]") {
  CHECK(address_of("h:1").port == 1);
  CHECK(address_of("h:65535").port == 65535);
  CHECK(address_of("h:080").port == 80);
  CHECK(address_problem("h:0") == "port \"0\" must be a number from 1 to 65535");
  CHECK(address_problem("h:65536") == "port \"65536\" must be a number from 1 to 65535");
  CHECK(address_problem("h:123456") == "port \"123456\" must be a number from 1 to 65535");
  CHECK(address_problem("h:-1") == "port \"-1\" must be a number from 1 to 65535");
  CHECK(address_problem("h:http") == "port \"http\" must be a number from 1 to 65535");
  CHECK(address_problem("h:") == "missing port after ':'");
  CHECK(address_problem("[::1]:") == "missing port after ':'");
}

TEST_CASE("addresses: malformed hosts say why", "[config][address]") {
  CHECK(address_problem("") == "empty address");
  CHECK(address_problem("localhost") == "missing \":port\" (expected host:port or [ipv6]:port)");
  CHECK(address_problem(":80") == "missing host before \":port\"");
  CHECK(address_problem("::1:80") == "an IPv6 address needs brackets, e.g. [::1]:8080");
  CHECK(address_problem("[::1]") == "missing \":port\" after \"]\"");
  CHECK(address_problem("[::1]80") == "missing \":port\" after \"]\"");
  CHECK(address_problem("[::1:80") == "missing ']' after the IPv6 address");
  CHECK(address_problem("[1.2.3.4]:80") == "\"1.2.3.4\" is not a valid IPv6 address");
  CHECK(address_problem("[fe80::1%eth0]:80") == "\"fe80::1%eth0\" is not a valid IPv6 address");
  CHECK(address_problem("999.1.1.1:80") == "\"999.1.1.1\" is not a valid IPv4 address");
  CHECK(address_problem("1.2.3:80") == "\"1.2.3\" is not a valid IPv4 address");
  CHECK(address_problem("bad host:80") ==
        "host name \"bad host\" contains ' ' (allowed: letters, digits, '-', '_' and '.' between labels)");
  CHECK(address_problem("-a.com:80") == "host name \"-a.com\" has a label that starts or ends with '-'");
  CHECK(address_problem("a..com:80") == "host name \"a..com\" has an empty label");
  CHECK(address_problem(".a.com:80") == "host name \".a.com\" has an empty label");
}

TEST_CASE("DNS names: label and total lengths", "[config][address]") {
  const std::string label63(63, 'a');
  CHECK(tg::config::dns_name_problem(label63 + ".com", false).empty());
  CHECK(tg::config::dns_name_problem(label63 + "a.com", false) ==
        "host name \"" + label63 + "a.com\" has a label longer than 63 characters");
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  REQUIRE(name253.size() == 253);
  CHECK(tg::config::dns_name_problem(name253, false).empty());
  CHECK(tg::config::dns_name_problem(name253 + "b", false) == "host name is longer than 253 characters");
  CHECK(tg::config::dns_name_problem(name253 + ".", true).empty());
  CHECK(tg::config::dns_name_problem("a.com.", false) == "host name \"a.com.\" must not end with '.'");
  CHECK(tg::config::dns_name_problem("", true) == "empty host name");
}

TEST_CASE("route hosts: exact, wildcard, IP literals, no port", "[config][host]") {
  using tg::config::route_host_problem;
  CHECK(route_host_problem("acme.example.com").empty());
  CHECK(route_host_problem("localhost").empty());
  CHECK(route_host_problem("*.example.com").empty());
  CHECK(route_host_problem("*.com").empty());
  CHECK(route_host_problem("10.1.2.3").empty());
  CHECK(route_host_problem("[::1]").empty());

  const std::string port = "a port is not allowed in host (routes match the host without its port)";
  CHECK(route_host_problem("acme.example.com:8080") == port);
  CHECK(route_host_problem("[::1]:8080") == port);
  CHECK(route_host_problem("*.example.com:80") == port);

  CHECK(route_host_problem("") == "empty host (omit the key to match any host)");
  CHECK(route_host_problem("*") == "a wildcard is only allowed as a leading \"*.\" (e.g. \"*.example.com\")");
  CHECK(route_host_problem("*example.com") ==
        "a wildcard is only allowed as a leading \"*.\" (e.g. \"*.example.com\")");
  CHECK(route_host_problem("a.*.com") == "a wildcard is only allowed as a leading \"*.\" (e.g. \"*.example.com\")");
  CHECK(route_host_problem("*.*.com") == "a wildcard is only allowed as a leading \"*.\"");
  CHECK(route_host_problem("*.") == "empty host name");
  CHECK(route_host_problem("*.10.0.0.1") == "a wildcard host must end in a DNS name, not an IP address");
  CHECK(route_host_problem("example.com.") == "host name \"example.com.\" must not end with '.'");
  CHECK(route_host_problem("300.1.1.1") == "\"300.1.1.1\" is not a valid IPv4 address");
  CHECK(route_host_problem("[::g]") == "\"::g\" is not a valid IPv6 address");
  CHECK(route_host_problem("[::1") == "missing ']' after the IPv6 address");
}
