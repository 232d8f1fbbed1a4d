#include "http/host.hpp"

namespace tg::proxy::http {

namespace {

bool reg_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '%' || c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' ||
         c == ')' || c == '*' || c == '+' || c == ',' || c == ';' || c == '=';
}

bool ip_literal_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// The text after the host's ':' (empty allowed).
bool valid_port(std::string_view port) {
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

}  // namespace

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  std::size_t i = 0;
  if (host[0] == '[') {
    i = 1;
    while (i < host.size() && ip_literal_char(host[i])) ++i;
    if (i == 1 || i >= host.size() || host[i] != ']') return false;
    ++i;
  } else {
    while (i < host.size() && reg_name_char(host[i])) ++i;
    if (i == 0) return false;
  }
  if (i == host.size()) return true;
  return host[i] == ':' && valid_port(host.substr(i + 1));
}

std::string_view normalise_host(std::string_view host, char* out, std::size_t capacity) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    auto colon = host.rfind(':');
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
