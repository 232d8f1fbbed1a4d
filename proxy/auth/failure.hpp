// Why phase 4 refused a request on a route with `auth: required`: the
// `reason` label of tg_auth_failures_total and the access log's detail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tg::proxy::auth {

enum class AuthFailure : std::uint8_t {
  none,
  missing,         // no X-Api-Key and no Authorization: Bearer (401 without error=)
  unknown_key,     // an API key no tenant has (or an ingest credential)
  bad_token,       // a JWT that does not parse, names a refused algorithm, or whose signature fails
  expired,         // exp (+60 s skew) passed
  not_yet_valid,   // nbf (-60 s skew) not reached
  wrong_audience,  // aud names none of the tenant's audiences
  unknown_issuer,  // iss is no tenant's issuer
  unknown_kid,     // the tenant's key set has no key with the token's kid
  forbidden,       // a good credential of another tenant than the route's (403)
  throttled,       // the client address failed too often: refused without checking
};
inline constexpr std::size_t kAuthFailures = 11;

std::string_view to_string(AuthFailure failure);

}  // namespace tg::proxy::auth
