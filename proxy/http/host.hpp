// The Host header (and an absolute-form authority): what is accepted, and the
// form routes are matched against (docs/http-conformance.md).
#pragma once

#include <cstddef>
#include <string_view>

namespace tg::proxy::http {

// uri-host [ ":" port ] (RFC 9110 §7.2): a reg-name of unreserved and
// sub-delims characters (no userinfo, no '/', no percent-decoding), or an
// IP-literal in brackets ("[::1]"); the port, when the colon is there, is
// decimal digits up to 65535 (an empty port is allowed, as RFC 3986 does).
// At most 255 bytes. "name:evil", "a:1:2", "[::1]x", "a]b" and "h:70000" are
// refused.
bool valid_host(std::string_view host);

// The host routes are matched against: lower-case, without the port, and
// without one trailing dot ("Acme.Localhost.:8080" -> "acme.localhost"; the
// fully qualified spelling names the same host). Written to `out`, at most
// `capacity` bytes (a longer host is cut); returns the view into `out`.
// `host` should have passed valid_host().
std::string_view normalise_host(std::string_view host, char* out, std::size_t capacity);

}  // namespace tg::proxy::http
