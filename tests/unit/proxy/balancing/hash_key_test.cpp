// The request key of the hash policies (proxy/balancing/hash_key.*) and the
// address / CIDR parsing behind --trusted-proxies (ip_address.*).
#include "balancing/hash_key.hpp"
#include "balancing/ip_address.hpp"

#include "../http/parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using tg::config::HashKey;
using tg::config::LbPolicy;
using tg::proxy::balancing::Cidr;
using tg::proxy::balancing::client_address;
using tg::proxy::balancing::cookie_value;
using tg::proxy::balancing::header_value;
using tg::proxy::balancing::IpAddress;
using tg::proxy::balancing::parse_cidr;
using tg::proxy::balancing::parse_cidr_list;
using tg::proxy::balancing::parse_ip;
using tg::proxy::balancing::request_key_hash;
using tg::proxy::balancing::to_string;
using tg::proxy::http::test::ParsedRequest;

namespace {

IpAddress ip(const char* text) {
  auto parsed = parse_ip(text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::vector<Cidr> cidrs(const char* list) {
  std::vector<Cidr> out;
  std::string error;
  INFO(error);
  REQUIRE(parse_cidr_list(list, out, error));
  return out;
}

std::string request(const std::string& headers) { return "GET / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n"; }

std::string client_of(const char* peer, const std::string& headers, const char* trusted) {
  const ParsedRequest r(request(headers));
  REQUIRE(r.status == tg::proxy::http::ParseStatus::complete);
  return to_string(client_address(ip(peer), r.head, r.base(), cidrs(trusted)));
}

}  // namespace

TEST_CASE("IP literals as X-Forwarded-For writes them", "[proxy][balancing][client_ip]") {
  CHECK(to_string(ip("192.0.2.7")) == "192.0.2.7");
  CHECK(to_string(ip(" 192.0.2.7:5555 ")) == "192.0.2.7");
  CHECK(to_string(ip("2001:db8::1")) == "2001:db8::1");
  CHECK(to_string(ip("[2001:db8::1]")) == "2001:db8::1");
  CHECK(to_string(ip("[2001:db8::1]:443")) == "2001:db8::1");
  CHECK(ip("::ffff:192.0.2.7") == ip("192.0.2.7"));  // mapped = IPv4
  CHECK_FALSE(ip("192.0.2.7").v6);
  for (const char* bad : {"", "unknown", "192.0.2", "192.0.2.7:", "192.0.2.7:x", "[192.0.2.7]", "[::1", "[::1]x",
                          "example.com", "_hidden", "1.2.3.4.5"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_ip(bad).has_value());
  }
}

TEST_CASE("CIDR blocks: IPv4, IPv6, bare addresses, and clear errors", "[proxy][balancing][client_ip]") {
  std::string error;
  auto v4 = parse_cidr("10.0.0.0/8", error);
  REQUIRE(v4);
  CHECK(v4->contains(ip("10.200.1.1")));
  CHECK_FALSE(v4->contains(ip("11.0.0.1")));
  CHECK_FALSE(v4->contains(ip("::ffff:11.0.0.1")));
  CHECK(v4->contains(ip("::ffff:10.0.0.1")));
  auto v6 = parse_cidr("2001:db8::/32", error);
  REQUIRE(v6);
  CHECK(v6->contains(ip("2001:db8:ffff::1")));
  CHECK_FALSE(v6->contains(ip("2001:db9::1")));
  CHECK_FALSE(v6->contains(ip("10.0.0.1")));
  auto odd = parse_cidr("192.168.4.0/22", error);
  REQUIRE(odd);
  CHECK(odd->contains(ip("192.168.7.255")));
  CHECK_FALSE(odd->contains(ip("192.168.8.0")));
  auto host = parse_cidr("127.0.0.1", error);
  REQUIRE(host);
  CHECK(host->prefix == 32);
  auto all = parse_cidr("0.0.0.0/0", error);
  REQUIRE(all);
  CHECK(all->contains(ip("203.0.113.9")));

  const std::vector<std::pair<const char*, const char*>> bad = {
      {"10.0.0.1/8", "host bits are set below /8 (did you mean 10.0.0.0/8?)"},
      {"10.0.0.0/33", "bad prefix length '33' (0 to 32)"},
      {"2001:db8::/129", "bad prefix length '129' (0 to 128)"},
      {"10.0.0.0/", "bad prefix length '' (0 to 32)"},
      {"10.0.0.0/+8", "bad prefix length '+8' (0 to 32)"},
      {"10.0.0/8", "'10.0.0' is not an IPv4 or IPv6 address"},
      {"[::1]/128", "is not a CIDR block"},
      {"::ffff:10.0.0.0/104", "write an IPv4-mapped block as IPv4"},
      {"localhost", "'localhost' is not an IPv4 or IPv6 address"},
  };
  for (const auto& [text, message] : bad) {
    INFO(text);
    error.clear();
    CHECK_FALSE(parse_cidr(text, error).has_value());
    CHECK_THAT(error, Catch::Contains(message));
  }
}

TEST_CASE("CIDR lists for --trusted-proxies", "[proxy][balancing][client_ip]") {
  std::vector<Cidr> out;
  std::string error;
  CHECK(parse_cidr_list("10.0.0.0/8, 192.168.0.0/16,::1", out, error));
  CHECK(out.size() == 3);
  out.clear();
  CHECK_FALSE(parse_cidr_list("10.0.0.0/8,,::1", out, error));
  CHECK_THAT(error, Catch::Contains("empty item"));
  CHECK_FALSE(parse_cidr_list("10.0.0.0/8,bogus", out, error));
  CHECK_THAT(error, Catch::Contains("'bogus'"));
}

TEST_CASE("the client address: the peer unless the peer is trusted", "[proxy][balancing][client_ip]") {
  const std::string xff = "X-Forwarded-For: 203.0.113.5, 10.0.0.2\r\n";
  SECTION("no trusted proxies: X-Forwarded-For is ignored") {
    CHECK(client_of("10.0.0.1", xff, "192.0.2.0/24") == "10.0.0.1");
  }
  SECTION("untrusted peer: its X-Forwarded-For is ignored") {
    CHECK(client_of("198.51.100.1", xff, "10.0.0.0/8") == "198.51.100.1");
  }
  SECTION("trusted peer: the first untrusted address from the right") {
    CHECK(client_of("10.0.0.1", xff, "10.0.0.0/8") == "203.0.113.5");
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: 1.1.1.1, 203.0.113.5, 10.0.0.2\r\n", "10.0.0.0/8") ==
          "203.0.113.5");  // a spoofed 1.1.1.1 further left is not believed
  }
  SECTION("several X-Forwarded-For lines form one list, in order") {
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: 203.0.113.5\r\nX-Other: 1\r\nx-forwarded-for: 10.0.0.7\r\n",
                    "10.0.0.0/8") == "203.0.113.5");
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-For: 203.0.113.6, 10.0.0.7\r\n",
                    "10.0.0.0/8") == "203.0.113.6");
  }
  SECTION("every address trusted: the leftmost") {
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: 10.1.1.1, 10.0.0.2\r\n", "10.0.0.0/8") == "10.1.1.1");
  }
  SECTION("no X-Forwarded-For: the peer") { CHECK(client_of("10.0.0.1", "", "10.0.0.0/8") == "10.0.0.1"); }
  SECTION("junk where an address is read: the header is ignored") {
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: 203.0.113.5, unknown\r\n", "10.0.0.0/8") == "10.0.0.1");
    // junk left of the client is never read
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: junk, 203.0.113.5\r\n", "10.0.0.0/8") == "203.0.113.5");
  }
  SECTION("ports, brackets, IPv6 and empty items") {
    CHECK(client_of("10.0.0.1", "X-Forwarded-For: [2001:db8::5]:1234, 10.0.0.3:80,\r\n", "10.0.0.0/8") ==
          "2001:db8::5");
    CHECK(client_of("::1", "X-Forwarded-For: 203.0.113.5\r\n", "::1/128") == "203.0.113.5");
  }
}

TEST_CASE("header and cookie values", "[proxy][balancing][hash]") {
  const ParsedRequest r(request("X-User-ID: u-17\r\nX-Empty:\r\nCookie: a=1; session=\"s-9\"; b=\r\nCookie: c=3\r\n"));
  REQUIRE(r.status == tg::proxy::http::ParseStatus::complete);
  CHECK(header_value(r.head, r.base(), "x-user-id") == "u-17");
  CHECK_FALSE(header_value(r.head, r.base(), "x-empty"));
  CHECK_FALSE(header_value(r.head, r.base(), "x-none"));
  CHECK(cookie_value(r.head, r.base(), "a") == "1");
  CHECK(cookie_value(r.head, r.base(), "session") == "s-9");
  CHECK(cookie_value(r.head, r.base(), "c") == "3");
  CHECK_FALSE(cookie_value(r.head, r.base(), "b"));        // empty
  CHECK_FALSE(cookie_value(r.head, r.base(), "Session"));  // names are case-sensitive
  CHECK_FALSE(cookie_value(r.head, r.base(), "x"));
}

TEST_CASE("the key hash: header or cookie, else the client address", "[proxy][balancing][hash]") {
  const HashKey by_header{HashKey::Kind::header, "x-user-id"};
  const HashKey by_cookie{HashKey::Kind::cookie, "sid"};
  const HashKey by_ip{};
  const IpAddress peer = ip("192.0.2.1");
  const auto hash = [&](LbPolicy policy, const HashKey& key, const std::string& headers, const char* from = "192.0.2.1",
                        const char* trusted = "10.0.0.0/8") {
    const ParsedRequest r(request(headers));
    REQUIRE(r.status == tg::proxy::http::ParseStatus::complete);
    return request_key_hash(policy, key, r.head, r.base(), ip(from), cidrs(trusted));
  };
  const std::uint64_t user_a = hash(LbPolicy::ring_hash, by_header, "X-User-ID: a\r\n");
  CHECK(user_a == hash(LbPolicy::maglev, by_header, "x-user-id: a\r\n", "192.0.2.99"));  // the key, not the peer
  CHECK(user_a != hash(LbPolicy::ring_hash, by_header, "X-User-ID: b\r\n"));
  CHECK(user_a == hash(LbPolicy::ring_hash, by_cookie, "Cookie: sid=a\r\n"));  // the value is the key
  const std::uint64_t peer_hash = hash(LbPolicy::ring_hash, by_ip, "X-User-ID: a\r\n");
  CHECK(peer_hash != user_a);
  // Absent header or cookie: the client address.
  CHECK(hash(LbPolicy::ring_hash, by_header, "") == peer_hash);
  CHECK(hash(LbPolicy::ring_hash, by_cookie, "Cookie: other=1\r\n") == peer_hash);
  // ip_hash ignores hash_key.
  CHECK(hash(LbPolicy::ip_hash, by_header, "X-User-ID: a\r\n") == peer_hash);
  // The client address rule applies to the fallback too.
  CHECK(hash(LbPolicy::ring_hash, by_ip, "X-Forwarded-For: 192.0.2.1\r\n", "10.0.0.1") == peer_hash);
  CHECK(hash(LbPolicy::ip_hash, by_ip, "X-Forwarded-For: 192.0.2.1\r\n", "10.0.0.1", "192.168.0.0/16") != peer_hash);
  (void)peer;
}
