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
// Inline: it runs once per request (phase 3), and as a call it cost twice
// its own work (docs/performance.md).
inline std::string_view normalise_host(std::string_view host, char* out, std::size_t capacity) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
    if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  }
  if (host.size() > capacity) host = host.substr(0, capacity);
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return {out, host.size()};
}

}  // namespace tg::proxy::http
