// tg-control's small HTTP port (/healthz, /metrics). Not on any hot path:
// plain Beast, one session per connection, running on the owner loop so the
// handler can read the registry and metrics directly. Every read and write
// has a 30 s deadline; request heads are limited to 8 KiB and bodies to 64 KiB.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace tg::control {

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the io_context's thread with the method and the path (no query).
using HttpHandler = std::function<HttpResponse(const std::string& method, const std::string& path)>;

class HttpServer {
 public:
  // Binds and listens at once (throws boost::system::system_error).
  HttpServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, HttpHandler handler);
  ~HttpServer();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting; call on the io_context's thread.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tg::control
