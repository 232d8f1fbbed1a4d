#include "netio/http_server.hpp"

#include "netio/endpoint.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <utility>
#include <vector>

namespace tg::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Failures that leave the connection in the backlog and would repeat at once.
bool out_of_resources(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

}  // namespace

struct HttpServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, HttpServerOptions o)
      : acceptor(io), backoff_timer(io), options(std::move(o)), backoff(options.accept_backoff_initial) {}

  std::string where;  // the bound address, for log lines

  tcp::acceptor acceptor;
  asio::steady_timer backoff_timer;
  HttpServerOptions options;
  std::vector<std::pair<std::string, HttpHandler>> handlers;  // in registration order, for the 404 text
  std::chrono::milliseconds backoff;
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> accept_attempts{0};
  std::uint64_t errors_not_logged = 0;
  std::optional<std::chrono::steady_clock::time_point> last_log;

  void accept();
  void accept_failed(const boost::system::error_code& ec);
  void dispatch(const std::string& method, const std::string& path, HttpRespond respond) const;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpServer::State> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  void read() {
    const HttpServerOptions& options = options_of();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser_->body_limit(options.body_limit);
    stream_.expires_after(options.io_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;  // closed, timed out or malformed: drop the connection
      self->dispatch();
    });
  }

 private:
  const HttpServerOptions& options_of() const;

  void dispatch();
  void write(HttpResponse r);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpServer::State> server_;
};

}  // namespace

void HttpServer::State::dispatch(const std::string& method, const std::string& path, HttpRespond respond) const {
  if (method != "GET" && method != "HEAD") {
    respond({405, "text/plain; charset=utf-8", options.method_not_allowed});
    return;
  }
  for (const auto& [registered, handler] : handlers) {
    if (registered == path) {
      handler(method, std::move(respond));
      return;
    }
  }
  std::string body = "not found; try";
  for (const auto& entry : handlers) body += " " + entry.first;
  respond({404, "text/plain; charset=utf-8", body + "\n"});
}

namespace {

const HttpServerOptions& Session::options_of() const { return server_->options; }

void Session::dispatch() {
  const auto& request = parser_->get();
  const std::string target(request.target());
  server_->dispatch(std::string(request.method_string()), target.substr(0, target.find('?')),
                    [self = shared_from_this()](HttpResponse r) { self->write(std::move(r)); });
}

void Session::write(HttpResponse r) {
  const HttpServerOptions& options = options_of();
  if (options.on_response) options.on_response(r.status);
  const auto& request = parser_->get();
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                  request.version());
  res->set(http::field::content_type, r.content_type);
  res->set(http::field::server, options.server_name);
  res->keep_alive(request.keep_alive());
  res->body() = std::move(r.body);
  res->prepare_payload();
  stream_.expires_after(options.io_timeout);
  http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
    if (ec || !res->keep_alive()) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    self->read();
  });
}

}  // namespace

void HttpServer::State::accept() {
  accept_attempts.fetch_add(1, std::memory_order_relaxed);
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (ec && out_of_resources(ec)) {
      self->accept_failed(ec);
      return;
    }
    if (!ec) {
      self->backoff = self->options.accept_backoff_initial;
      std::make_shared<Session>(std::move(socket), self)->read();
    }
    self->accept();  // other failures (the peer reset first, ...) concern one connection only
  });
}

void HttpServer::State::accept_failed(const boost::system::error_code& ec) {
  accept_errors.fetch_add(1, std::memory_order_relaxed);
  if (options.on_accept_error) options.on_accept_error();
  const auto now = std::chrono::steady_clock::now();
  if (!last_log || now - *last_log >= std::chrono::seconds(1)) {
    spdlog::warn("{}: cannot accept on {}: {}; next try in {} ms ({} more such failures since the last message)",
                 options.server_name, where, ec.message(), backoff.count(), errors_not_logged);
    last_log = now;
    errors_not_logged = 0;
  } else {
    ++errors_not_logged;
  }
  backoff_timer.expires_after(backoff);
  backoff = std::min(backoff * 2, options.accept_backoff_max);
  backoff_timer.async_wait([self = shared_from_this()](beast::error_code wait_error) {
    if (wait_error || !self->acceptor.is_open()) return;
    self->accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, HttpServerOptions options)
    : state_(std::make_shared<State>(io, std::move(options))) {
  state_->acceptor.open(endpoint.protocol());
  // SO_REUSEADDR only (a restart may bind while old connections linger in
  // TIME_WAIT); never SO_REUSEPORT, so a second process on a listening port
  // gets EADDRINUSE instead of half of the connections.
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->where = endpoint_text(state_->acceptor.local_endpoint());
  state_->accept();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::handle(std::string path, HttpHandler handler) {
  state_->handlers.emplace_back(std::move(path), std::move(handler));
}

tcp::endpoint HttpServer::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void HttpServer::stop() {
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  state_->backoff_timer.cancel();
}

std::uint64_t HttpServer::accept_errors() const { return state_->accept_errors.load(std::memory_order_relaxed); }

std::uint64_t HttpServer::accept_attempts() const { return state_->accept_attempts.load(std::memory_order_relaxed); }

}  // namespace tg::net
