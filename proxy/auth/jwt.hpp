// A compact JWS (RFC 7515 §7.1) taken apart, and the registered claims
// phase 4 checks (RFC 7519 §4.1): iss, aud, exp, nbf. Parsing does no crypto;
// AuthIndex (auth_index.hpp) picks the key and checks the signature.
#pragma once

#include "auth/failure.hpp"
#include "auth/keys.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::proxy::auth {

// Clock skew allowed on exp and nbf.
inline constexpr std::int64_t kClockSkewSeconds = 60;
// Longer tokens are refused unread.
inline constexpr std::size_t kMaxTokenBytes = 8192;

struct ParsedJwt {
  std::string_view signing_input;  // header.payload, as received
  std::string signature;           // decoded
  std::string alg;
  std::optional<std::string> kid;
  std::string iss;
  std::vector<std::string> aud;
  std::int64_t exp = 0;
  std::optional<std::int64_t> nbf;
};

// Whether `token` has the shape of a compact JWS (three base64url parts), as
// opposed to an API key sent as a bearer token.
bool looks_like_jwt(std::string_view token);

// Takes `token` apart: bad_token when it is not a compact JWS with a JSON
// header naming `alg` (and no `crit`), and a JSON payload with a string iss,
// a numeric exp and, when present, a string-or-array aud and a numeric nbf.
// A token without exp is refused (it would never expire).
AuthFailure parse_jwt(std::string_view token, ParsedJwt& out);

// exp and nbf against `now` (Unix seconds) with kClockSkewSeconds.
AuthFailure check_times(const ParsedJwt& jwt, std::int64_t now);

// Whether aud names one of `audiences`.
bool audience_matches(const ParsedJwt& jwt, const std::vector<std::string>& audiences);

}  // namespace tg::proxy::auth
