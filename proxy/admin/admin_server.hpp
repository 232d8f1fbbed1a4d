// The admin HTTP port (/metrics, /healthz, /ready, /config). Not on the
// request path: plain Beast, one session per connection, on the main thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace tg::proxy::admin {

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Handlers answer through `respond`, possibly later (after collecting from workers).
using Respond = std::function<void(Response)>;
using Handler = std::function<void(const std::string& method, const std::string& path, Respond respond)>;

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, Handler handler);
  ~AdminServer();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tg::proxy::admin
