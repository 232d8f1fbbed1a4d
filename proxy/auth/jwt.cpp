#include "auth/jwt.hpp"

#include "auth/base64url.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tg::proxy::auth {

namespace json = boost::json;

namespace {

std::optional<json::object> decode_object(std::string_view part) {
  std::string text;
  if (!base64url_decode(part, text)) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

// A NumericDate (RFC 7519 §2): an integer or a number of seconds.
std::optional<std::int64_t> numeric_date(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(v.as_uint64());
  if (v.is_double() && std::isfinite(v.as_double()) && std::fabs(v.as_double()) < 1e15)
    return static_cast<std::int64_t>(std::floor(v.as_double()));
  return std::nullopt;
}

}  // namespace

bool looks_like_jwt(std::string_view token) { return std::count(token.begin(), token.end(), '.') == 2; }

AuthFailure parse_jwt(std::string_view token, ParsedJwt& out) {
  if (token.size() > kMaxTokenBytes) return AuthFailure::bad_token;
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return AuthFailure::bad_token;
  out.signing_input = token.substr(0, second);
  if (!base64url_decode(token.substr(second + 1), out.signature)) return AuthFailure::bad_token;

  auto header = decode_object(token.substr(0, first));
  if (!header) return AuthFailure::bad_token;
  const json::value* alg = header->if_contains("alg");
  if (!alg || !alg->is_string()) return AuthFailure::bad_token;
  out.alg = alg->as_string();
  // Extensions that must be understood: none are (RFC 7515 §4.1.11).
  if (header->contains("crit")) return AuthFailure::bad_token;
  if (const json::value* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return AuthFailure::bad_token;
    out.kid = std::string(kid->as_string());
  }

  auto payload = decode_object(token.substr(first + 1, second - first - 1));
  if (!payload) return AuthFailure::bad_token;
  const json::value* iss = payload->if_contains("iss");
  if (!iss || !iss->is_string()) return AuthFailure::bad_token;
  out.iss = iss->as_string();
  if (const json::value* aud = payload->if_contains("aud")) {
    if (aud->is_string()) {
      out.aud.emplace_back(aud->as_string());
    } else if (aud->is_array()) {
      for (const json::value& item : aud->as_array()) {
        if (!item.is_string()) return AuthFailure::bad_token;
        out.aud.emplace_back(item.as_string());
      }
    } else {
      return AuthFailure::bad_token;
    }
  }
  const json::value* exp = payload->if_contains("exp");
  const auto exp_value = exp ? numeric_date(*exp) : std::nullopt;
  if (!exp_value) return AuthFailure::bad_token;
  out.exp = *exp_value;
  if (const json::value* nbf = payload->if_contains("nbf")) {
    out.nbf = numeric_date(*nbf);
    if (!out.nbf) return AuthFailure::bad_token;
  }
  return AuthFailure::none;
}

AuthFailure check_times(const ParsedJwt& jwt, std::int64_t now) {
  if (now > jwt.exp + kClockSkewSeconds) return AuthFailure::expired;
  if (jwt.nbf && now + kClockSkewSeconds < *jwt.nbf) return AuthFailure::not_yet_valid;
  return AuthFailure::none;
}

bool audience_matches(const ParsedJwt& jwt, const std::vector<std::string>& audiences) {
  for (const std::string& aud : jwt.aud)
    if (std::find(audiences.begin(), audiences.end(), aud) != audiences.end()) return true;
  return false;
}

}  // namespace tg::proxy::auth
