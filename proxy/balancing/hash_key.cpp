#include "balancing/hash_key.hpp"

#include "hashing/stable_hash.hpp"

namespace tg::proxy::balancing {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Seeds keep a header value equal to the 4 bytes of an address from hashing
// like that address.
constexpr std::uint64_t kAddressSeed = 0x6970;  // "ip"
constexpr std::uint64_t kValueSeed = 0x6b6579;  // "key"

std::uint64_t address_hash(const IpAddress& address) { return hashing::stable_hash(address.view(), kAddressSeed); }

}  // namespace

IpAddress client_address(const IpAddress& peer, const http::RequestHead& head, const char* base,
                         std::span<const Cidr> trusted) {
  if (trusted.empty() || head.x_forwarded_for < 0 || !any_contains(trusted, peer)) return peer;
  IpAddress client = peer;
  // Lines from the last to the first, items of a line from the right.
  for (int i = head.header_count - 1; i >= head.x_forwarded_for; --i) {
    const http::HeaderField& field = head.headers[i];
    if (field.kind != http::HeaderKind::x_forwarded_for) continue;
    std::string_view list = field.value.view(base);
    for (;;) {
      const auto comma = list.rfind(',');
      const std::string_view item = trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      if (!item.empty()) {
        const auto address = parse_ip(item);
        if (!address) return peer;
        client = *address;
        if (!any_contains(trusted, client)) return client;
      }
      if (comma == std::string_view::npos) break;
      list = list.substr(0, comma);
    }
  }
  return client;  // every address was trusted: the leftmost one
}

std::optional<std::string_view> header_value(const http::RequestHead& head, const char* base,
                                             std::string_view lower_name) {
  for (std::uint16_t i = 0; i < head.header_count; ++i) {
    const http::HeaderField& field = head.headers[i];
    if (field.name.length != lower_name.size() || !http::iequals(field.name.view(base), lower_name)) continue;
    if (field.value.empty()) return std::nullopt;
    return field.value.view(base);
  }
  return std::nullopt;
}

std::optional<std::string_view> cookie_value(const http::RequestHead& head, const char* base,
                                             std::string_view name) {
  for (std::uint16_t i = 0; i < head.header_count; ++i) {
    const http::HeaderField& field = head.headers[i];
    if (field.name.length != 6 || !http::iequals(field.name.view(base), "cookie")) continue;
    std::string_view rest = field.value.view(base);
    while (!rest.empty()) {
      const auto semicolon = rest.find(';');
      const std::string_view pair = trim(rest.substr(0, semicolon));
      rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
      const auto equals = pair.find('=');
      if (equals == std::string_view::npos || trim(pair.substr(0, equals)) != name) continue;
      std::string_view value = trim(pair.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      if (value.empty()) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

std::uint64_t request_key_hash(config::LbPolicy policy, const config::HashKey& key, const http::RequestHead& head,
                               const char* base, const IpAddress& peer, std::span<const Cidr> trusted) {
  if (policy != config::LbPolicy::ip_hash) {
    std::optional<std::string_view> value;
    if (key.kind == config::HashKey::Kind::header) value = header_value(head, base, key.name);
    else if (key.kind == config::HashKey::Kind::cookie) value = cookie_value(head, base, key.name);
    if (value) return hashing::stable_hash(*value, kValueSeed);
  }
  return address_hash(client_address(peer, head, base, trusted));
}

}  // namespace tg::proxy::balancing
