#include "netio/endpoint.hpp"

#include "net/listen_address.hpp"

#include <boost/asio/ip/address.hpp>

namespace tg::net {

bool parse_endpoint(std::string_view text, boost::asio::ip::tcp::endpoint& out, std::string& error) {
  ListenAddress address;
  if (error = parse_listen_address(text, address); !error.empty()) return false;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(address.ip, ec);
  if (ec) {
    error = "\"" + address.ip + "\" is not an IP address (in \"" + std::string(text) + "\")";
    return false;
  }
  out = {ip, address.port};
  return true;
}

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint) {
  return address_text(endpoint.address().to_string(), endpoint.port());
}

}  // namespace tg::net
