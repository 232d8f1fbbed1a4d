// The small HTTP port of both binaries: tg-proxy's admin port (/metrics,
// /healthz, /ready, /config) and tg-control's HTTP port (/healthz, /metrics).
// Not on any request path: plain Beast, one session per connection, on the
// io_context it is given (handlers run there). Each binary registers a
// handler per path.
//
// Bounds: every read and write has a deadline (io_timeout); request heads and
// bodies are limited (header_limit, body_limit). Methods other than GET and
// HEAD get 405, unregistered paths 404 naming the registered ones.
//
// Accept back-off: when accept fails for lack of resources (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) the pending connection stays in the kernel's backlog and
// the next accept would fail at once; so the server waits before it tries
// again, accept_backoff_initial doubling up to accept_backoff_max, and starts
// over at the initial wait after an accept succeeds. Each such failure is
// counted (accept_errors(), on_accept_error) and logged at most once a second.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tg::net {

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// A handler answers through `respond`, at once or later (on the io_context's
// thread, e.g. after collecting from other threads), exactly once.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const std::string& method, HttpRespond respond)>;

struct HttpServerOptions {
  std::string server_name;  // the Server header, and the log lines' prefix
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  std::chrono::milliseconds io_timeout{30'000};
  std::string method_not_allowed = "method not allowed\n";  // the 405 body
  std::chrono::milliseconds accept_backoff_initial{50};
  std::chrono::milliseconds accept_backoff_max{1'000};
  // Called with every response's status (for a requests-by-status counter).
  std::function<void(unsigned status)> on_response;
  // Called for every accept that failed for lack of resources.
  std::function<void()> on_accept_error;
};

class HttpServer {
 public:
  // Binds and listens at once (throws boost::system::system_error).
  HttpServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The handler of `path` (exact, without the query). On the io_context's
  // thread, or before it runs.
  void handle(std::string path, HttpHandler handler);

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting; on the io_context's thread.
  void stop();

  // Accepts that failed for lack of resources, and accept attempts in all
  // (each call of accept, failed or not). Read on the io_context's thread.
  std::uint64_t accept_errors() const;
  std::uint64_t accept_attempts() const;

  struct State;  // shared with the connections (defined in the .cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tg::net
