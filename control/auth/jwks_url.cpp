#include "auth/jwks_url.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace tg::control::auth {

bool is_loopback_literal(std::string_view host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

std::string parse_jwks_url(std::string_view text, JwksUrl& out) {
  if (text.empty()) return "must not be empty";
  if (text.size() > max_jwks_url_bytes)
    return std::to_string(text.size()) + " bytes; at most " + std::to_string(max_jwks_url_bytes);
  for (char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
  JwksUrl url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    rest = text.substr(7);
  } else {
    return "must be an https:// URL (http:// only for a loopback address)";
  }
  if (rest.find('#') != std::string_view::npos) return "must not have a fragment (#...)";
  const std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  url.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (url.target.front() == '?') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return "must not carry user info (user@host)";
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "bad host: an IPv6 address needs its closing ']'";
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "bad host: expected ':' after ']'";
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return "needs a host";
  if (!port_text.empty() || authority.ends_with(":")) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return "bad port \"" + std::string(port_text) + "\"";
    url.port = static_cast<std::uint16_t>(port);
  } else {
    url.port = url.tls ? 443 : 80;
  }
  if (!url.tls && !is_loopback_literal(url.host))
    return "http:// is allowed only for a loopback address (127.0.0.1, [::1]); use https://";
  out = std::move(url);
  return {};
}

}  // namespace tg::control::auth
