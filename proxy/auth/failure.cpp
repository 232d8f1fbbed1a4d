#include "auth/failure.hpp"

namespace tg::proxy::auth {

std::string_view to_string(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::none: return "";
    case AuthFailure::missing: return "missing";
    case AuthFailure::unknown_key: return "unknown_key";
    case AuthFailure::bad_token: return "bad_token";
    case AuthFailure::expired: return "expired";
    case AuthFailure::not_yet_valid: return "not_yet_valid";
    case AuthFailure::wrong_audience: return "wrong_audience";
    case AuthFailure::unknown_issuer: return "unknown_issuer";
    case AuthFailure::unknown_kid: return "unknown_kid";
    case AuthFailure::forbidden: return "forbidden";
    case AuthFailure::throttled: return "throttled";
  }
  return "unknown";
}

}  // namespace tg::proxy::auth
