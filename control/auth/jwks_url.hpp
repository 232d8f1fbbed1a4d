// A tenant's jwt.jwks_url as tg-control fetches it: https, or plain http to a
// loopback address only (a test server), never anything that needs a proxy,
// credentials or a redirect.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::control::auth {

// At most this many bytes (as the registry's other URLs and paths).
inline constexpr std::size_t max_jwks_url_bytes = 2048;

struct JwksUrl {
  bool tls = true;
  std::string host;        // a name or an address (IPv6 without brackets)
  std::uint16_t port = 0;  // 443 / 80 when the URL names none
  std::string target;      // path and query, "/" at least
};

// Parses `text` into `out`; returns the problem ("" when good):
// "https://HOST[:PORT][/PATH][?QUERY]", or "http://" with HOST a loopback
// address (127.0.0.0/8, ::1). No user info, no fragment, no spaces or
// control characters.
std::string parse_jwks_url(std::string_view text, JwksUrl& out);

// True for 127.0.0.0/8 and ::1 written as addresses.
bool is_loopback_literal(std::string_view host);

}  // namespace tg::control::auth
