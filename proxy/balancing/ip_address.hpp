// IP addresses and CIDR blocks for the client-address rule (ip_hash and the
// client_ip hash key) and the --trusted-proxies setting.
//
// Addresses are kept as raw bytes: 4 for IPv4, 16 for IPv6. An IPv4-mapped
// IPv6 address (::ffff:a.b.c.d) is the IPv4 address, so a client counts the
// same whether it reached a dual-stack listener or an IPv4 one, and hashes
// the same.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tg::proxy::balancing {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;

  std::size_t size() const { return v6 ? 16 : 4; }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), size()}; }
  bool operator==(const IpAddress&) const = default;
};

// Parses an IP literal as found in X-Forwarded-For: "1.2.3.4", "1.2.3.4:80",
// "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:80", surrounding blanks
// allowed. No allocation. nullopt for anything else ("unknown", names, junk).
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
  IpAddress network;
  std::uint8_t prefix = 0;  // bits; at most 32 (IPv4) or 128 (IPv6)

  bool contains(const IpAddress& address) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128 block).
// Host bits set below the prefix ("10.0.0.1/8") are an error, as are
// brackets, ports and an IPv4-mapped network. On error returns nullopt and
// sets `error` to a sentence naming the problem.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& error);

// A comma-separated list of CIDRs, as given to --trusted-proxies (blanks
// around items allowed, empty items are errors). False with `error` set on
// the first bad item.
bool parse_cidr_list(std::string_view text, std::vector<Cidr>& out, std::string& error);

bool any_contains(std::span<const Cidr> blocks, const IpAddress& address);

std::string to_string(const IpAddress& address);
std::string to_string(const Cidr& cidr);

}  // namespace tg::proxy::balancing
