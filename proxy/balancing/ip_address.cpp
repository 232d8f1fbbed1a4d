#include "balancing/ip_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tg::proxy::balancing {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// inet_pton on a bounded stack copy (it needs a terminating NUL).
std::optional<IpAddress> parse_literal(std::string_view text) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress out;
  if (::inet_pton(AF_INET, buffer, out.bytes.data()) == 1) return out;
  std::uint8_t v6[16];
  if (::inet_pton(AF_INET6, buffer, v6) != 1) return std::nullopt;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6, kMapped, sizeof kMapped) == 0) {
    std::memcpy(out.bytes.data(), v6 + 12, 4);
    return out;
  }
  std::memcpy(out.bytes.data(), v6, 16);
  out.v6 = true;
  return out;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return std::nullopt;
    auto ip = parse_literal(text.substr(1, close - 1));
    if (!ip || !ip->v6) return std::nullopt;
    return ip;
  }
  // One colon: IPv4 with a port. More: a bare IPv6 literal.
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    if (!all_digits(text.substr(colon + 1))) return std::nullopt;
    auto ip = parse_literal(text.substr(0, colon));
    if (!ip || ip->v6) return std::nullopt;
    return ip;
  }
  return parse_literal(text);
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.v6 != network.v6) return false;
  const std::uint8_t full = prefix / 8;
  if (std::memcmp(address.bytes.data(), network.bytes.data(), full) != 0) return false;
  const std::uint8_t rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (network.bytes[full] & mask);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string& error) {
  const std::string_view original = text;
  text = trim(text);
  const auto slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  if (address.empty() || address.front() == '[' || address.find_first_of(" \t") != std::string_view::npos) {
    error = "'" + std::string(original) + "' is not a CIDR block (expected e.g. 10.0.0.0/8 or 2001:db8::/32)";
    return std::nullopt;
  }
  auto ip = parse_literal(address);
  if (!ip) {
    error = "'" + std::string(original) + "': '" + std::string(address) + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  if (!ip->v6 && address.find(':') != std::string_view::npos) {
    error = "'" + std::string(original) + "': write an IPv4-mapped block as IPv4 (e.g. 10.0.0.0/8)";
    return std::nullopt;
  }
  Cidr cidr;
  cidr.network = *ip;
  const unsigned max_prefix = ip->v6 ? 128 : 32;
  cidr.prefix = static_cast<std::uint8_t>(max_prefix);
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    if (!all_digits(bits) || ec != std::errc() || end != bits.data() + bits.size() || value > max_prefix) {
      error = "'" + std::string(original) + "': bad prefix length '" + std::string(bits) + "' (0 to " +
              std::to_string(max_prefix) + ")";
      return std::nullopt;
    }
    cidr.prefix = static_cast<std::uint8_t>(value);
  }
  // Host bits below the prefix usually mean a typo in the prefix or address.
  Cidr masked = cidr;
  for (unsigned bit = cidr.prefix; bit < max_prefix; ++bit)
    masked.network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (masked.network != cidr.network) {
    error = "'" + std::string(original) + "': host bits are set below /" + std::to_string(cidr.prefix) +
            " (did you mean " + to_string(masked) + "?)";
    return std::nullopt;
  }
  return cidr;
}

bool parse_cidr_list(std::string_view text, std::vector<Cidr>& out, std::string& error) {
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (trim(item).empty()) {
      error = "empty item in '" + std::string(text) + "'";
      return false;
    }
    auto cidr = parse_cidr(item, error);
    if (!cidr) return false;
    out.push_back(*cidr);
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

bool any_contains(std::span<const Cidr> blocks, const IpAddress& address) {
  for (const Cidr& block : blocks)
    if (block.contains(address)) return true;
  return false;
}

std::string to_string(const IpAddress& address) {
  char buffer[INET6_ADDRSTRLEN];
  if (!::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), buffer, sizeof buffer)) return "?";
  return buffer;
}

std::string to_string(const Cidr& cidr) { return to_string(cidr.network) + "/" + std::to_string(cidr.prefix); }

}  // namespace tg::proxy::balancing
