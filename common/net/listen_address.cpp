#include "net/listen_address.hpp"

#include <charconv>

namespace tg::net {

namespace {

std::string in(std::string_view text) { return " in \"" + std::string(text) + "\""; }

}  // namespace

std::string parse_listen_address(std::string_view text, ListenAddress& out) {
  std::string_view ip;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address" + in(text);
    ip = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return "missing \":PORT\" after ']'" + in(text);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "expected IP:PORT, got \"" + std::string(text) + "\"";
    ip = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (ip.find(':') != std::string_view::npos) return "an IPv6 address needs brackets, e.g. [::1]:9000" + in(text);
  }
  if (ip.empty()) return "missing IP before \":PORT\"" + in(text);
  unsigned value = 0;
  const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) std::from_chars(port.data(), port.data() + port.size(), value);
  if (!digits || value > 65535) return "port \"" + std::string(port) + "\" must be a number from 0 to 65535" + in(text);
  out.ip.assign(ip);
  out.port = static_cast<std::uint16_t>(value);
  return {};
}

std::string address_text(std::string_view ip, std::uint16_t port) {
  std::string out;
  if (ip.find(':') != std::string_view::npos) {
    out += '[';
    out += ip;
    out += ']';
  } else {
    out += ip;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace tg::net
