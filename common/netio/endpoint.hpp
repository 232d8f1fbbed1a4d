// Listen addresses as Asio endpoints, for both binaries (library tg_net).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <string_view>

namespace tg::net {

// "IP:PORT" / "[IPv6]:PORT" (net/listen_address.hpp) as an endpoint. false
// with `error` naming the text when it is not one.
bool parse_endpoint(std::string_view text, boost::asio::ip::tcp::endpoint& out, std::string& error);

// "IP:PORT", "[IPv6]:PORT".
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace tg::net
