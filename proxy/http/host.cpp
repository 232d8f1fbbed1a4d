#include "http/host.hpp"

namespace tg::proxy::http {

namespace {

// reg-name characters (unreserved, sub-delims and '%'), one load per byte
// of a Host header on every request.
struct RegNameTable {
  bool allowed[256] = {};
  constexpr RegNameTable() {
    for (int c = 'a'; c <= 'z'; ++c) allowed[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) allowed[c] = true;
    for (int c = '0'; c <= '9'; ++c) allowed[c] = true;
    for (unsigned char c : std::string_view("-._~%!$&'()*+,;=")) allowed[c] = true;
  }
};
constexpr RegNameTable kRegName;

bool reg_name_char(char c) { return kRegName.allowed[static_cast<unsigned char>(c)]; }

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

}  // namespace tg::proxy::http
