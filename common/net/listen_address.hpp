// Listen addresses as flags give them: "IP:PORT", an IPv6 address in
// brackets ("[::1]:9000"); port 0 lets the kernel pick one. Text only: the
// IP is checked where it becomes a socket address (common/netio/endpoint.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::net {

struct ListenAddress {
  std::string ip;  // without brackets
  std::uint16_t port = 0;
};

// Empty on success, else the problem, naming the text
// ("expected IP:PORT, got \"localhost\"").
std::string parse_listen_address(std::string_view text, ListenAddress& out);

// "IP:PORT", or "[IP]:PORT" when the IP holds a ':' (IPv6).
std::string address_text(std::string_view ip, std::uint16_t port);

}  // namespace tg::net
