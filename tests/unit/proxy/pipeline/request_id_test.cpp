// Whose X-Request-Id is kept (proxy/pipeline/request_id.cpp).
#include "pipeline/request_id.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using tg::proxy::balancing::Cidr;
using tg::proxy::balancing::IpAddress;
using tg::proxy::balancing::parse_cidr_list;
using tg::proxy::balancing::parse_ip;
using tg::proxy::keep_client_request_id;

namespace {
IpAddress ip(const char* text) {
  auto address = parse_ip(text);
  REQUIRE(address);
  return *address;
}
std::vector<Cidr> cidrs(const char* text) {
  std::vector<Cidr> out;
  std::string error;
  REQUIRE(parse_cidr_list(text, out, error));
  return out;
}
}  // namespace

TEST_CASE("by default only a trusted proxy's X-Request-Id is kept", "[proxy][http][request_id]") {
  const auto trusted = cidrs("10.0.0.0/8,2001:db8::/32");
  CHECK(keep_client_request_id(false, trusted, ip("10.1.2.3")));
  CHECK(keep_client_request_id(false, trusted, ip("2001:db8::7")));
  CHECK(keep_client_request_id(false, trusted, ip("::ffff:10.0.0.1")));  // IPv4-mapped is the IPv4 address
  CHECK_FALSE(keep_client_request_id(false, trusted, ip("192.168.1.1")));
  CHECK_FALSE(keep_client_request_id(false, trusted, ip("2001:db9::1")));
  CHECK_FALSE(keep_client_request_id(false, {}, ip("127.0.0.1")));  // no trusted proxies: nobody
}

TEST_CASE("with --trust-request-id it is kept from any peer", "[proxy][http][request_id]") {
  CHECK(keep_client_request_id(true, {}, ip("203.0.113.9")));
  CHECK(keep_client_request_id(true, cidrs("10.0.0.0/8"), ip("203.0.113.9")));
}
