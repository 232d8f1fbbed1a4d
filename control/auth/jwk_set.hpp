// The shape tg-control requires of a JWK Set (RFC 7517) before it pushes it
// to the proxies: what is read from a tenant's jwks_file or fetched from its
// jwks_url. The proxies verify signatures; this check only keeps a file or a
// response that is no key set at all (an HTML error page, a truncated
// download, an empty list) from replacing keys that work.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tg::control::auth {

// Bounds of a JWK Set: its size in bytes and its number of keys.
inline constexpr std::size_t max_jwk_set_bytes = 1024 * 1024;
inline constexpr std::size_t max_jwk_set_keys = 100;

struct JwkSetCheck {
  std::string problem;     // empty: a usable set
  std::size_t usable = 0;  // RSA and EC (P-256) keys with their parameters
};

// A JSON object with a "keys" array of at most max_jwk_set_keys objects, each
// with a string "kty"; "RSA" keys need "n" and "e", "EC" keys "crv", "x" and
// "y" (strings). RSA and P-256 keys count as usable; other key types and
// curves are passed on but do not count.
// At least one usable key. The problem names what is wrong:
// "not JSON (...)", "keys[2]: an RSA key needs \"n\"", ...
JwkSetCheck check_jwk_set(std::string_view json);

}  // namespace tg::control::auth
