// The small HTTP port of both binaries: tg-proxy's admin port (/metrics,
// /healthz, /ready, /config) and tg-control's HTTP port (/healthz, /metrics,
// POST /v1/admin/<Method>). Not on any request path: plain Beast, one session
// per connection, on the io_context it is given (handlers run there). Each
// binary registers a handler per path.
//
// Two kinds of paths:
//  * handle(path, HttpHandler): an exact path answering GET and HEAD, with
//    the server-wide body_limit. Methods other than GET and HEAD get 405
//    (method_not_allowed), unregistered paths 404 naming the registered ones.
//    A body over body_limit drops the connection.
//  * handle(HttpRoute, HttpRequestHandler): an exact path or a path prefix
//    with its own methods (others get 405 with an Allow header) and its own
//    body limit: a body beyond it gets 413 without being read (also when the
//    client waits for "Expect: 100-continue"), and the connection closes.
//    The handler sees the method, target, headers and body. A client that
//    sent "Expect: 100-continue" gets "100 Continue" before the body is read.
// An exact path wins over a prefix; the longest prefix wins among prefixes.
//
// Bounds: every read and write has a deadline (io_timeout); request heads are
// limited (header_limit), bodies as above. A connection closed after an error
// answer (413) first reads and discards what the client still sends, for at
// most linger_timeout and linger_limit bytes, so the client reads the answer
// instead of a reset.
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
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tg::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(unsigned status_, std::string content_type_, std::string body_, HttpHeaders headers_ = {})
      : status(status_), content_type(std::move(content_type_)), body(std::move(body_)), headers(std::move(headers_)) {}

  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  HttpHeaders headers;  // more header fields (Allow, WWW-Authenticate, Retry-After...)
};

// A request as an HttpRequestHandler sees it.
struct HttpRequest {
  std::string method;  // as received ("POST")
  std::string target;  // as received, query included
  std::string path;    // the target without the query
  HttpHeaders headers;  // as received, in order
  std::string body;

  // The value of the first field named `name` (case-insensitive); nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

// A handler answers through `respond`, at once or later (on the io_context's
// thread, e.g. after collecting from other threads), exactly once.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const std::string& method, HttpRespond respond)>;
using HttpRequestHandler = std::function<void(HttpRequest request, HttpRespond respond)>;

struct HttpRoute {
  std::string path;     // exact, or with prefix = true every path starting with it
  bool prefix = false;
  std::vector<std::string> methods = {"GET", "HEAD"};  // others: 405 with Allow
  std::size_t body_limit = 0;  // bytes; beyond: 413 (and the connection closes)
  // The 405 answer (the Allow header is added).
  HttpResponse method_not_allowed{405, "text/plain; charset=utf-8", "method not allowed\n", {}};
  // The 413 answer.
  HttpResponse body_too_large{413, "text/plain; charset=utf-8", "request body too large\n", {}};
  // Told of each 413 with the request target (for a counter); optional.
  std::function<void(const std::string& target)> on_body_too_large;
};

struct HttpServerOptions {
  std::string server_name;  // the Server header, and the log lines' prefix
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;  // of the paths registered with handle(path, HttpHandler)
  std::chrono::milliseconds io_timeout{30'000};
  std::string method_not_allowed = "method not allowed\n";  // the 405 body of those paths
  std::chrono::milliseconds accept_backoff_initial{50};
  std::chrono::milliseconds accept_backoff_max{1'000};
  // Closing after an error answer: what is read and discarded at most.
  std::chrono::milliseconds linger_timeout{2'000};
  std::size_t linger_limit = 4 * 1024 * 1024;
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

  // The handler of `path` (exact, without the query), GET and HEAD. On the
  // io_context's thread, or before it runs.
  void handle(std::string path, HttpHandler handler);
  // The handler of a route (see above). On the io_context's thread, or
  // before it runs.
  void handle(HttpRoute route, HttpRequestHandler handler);

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
