// base64url without padding (RFC 4648 §5, as JWS and JWK use it).
#pragma once

#include <string>
#include <string_view>

namespace tg::proxy::auth {

// Decodes `text` into `out` (replacing it). False on a character outside the
// alphabet, on '=' padding, or on a length no encoding has (4n+1).
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace tg::proxy::auth
