#include "server/http_server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tg::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, HttpHandler h) : acceptor(io), handler(std::move(h)) {}
  tcp::acceptor acceptor;
  HttpHandler handler;
  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpHandler& handler) : stream_(std::move(socket)), handler_(handler) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;  // closed, timed out or malformed: drop the connection
      self->respond();
    });
  }

 private:
  void respond() {
    const auto& request = parser_->get();
    std::string target(request.target());
    HttpResponse r = handler_(std::string(request.method_string()), target.substr(0, target.find('?')));
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                    request.version());
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::server, "tg-control");
    res->keep_alive(request.keep_alive());
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpHandler handler_;
};

}  // namespace

void HttpServer::State::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), self->handler)->read();
    self->accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, HttpHandler handler)
    : state_(std::make_shared<State>(io, std::move(handler))) {
  state_->acceptor.open(endpoint.protocol());
  // SO_REUSEADDR only (a restart may bind while old connections linger in
  // TIME_WAIT); never SO_REUSEPORT, so a second process on a listening port
  // gets EADDRINUSE instead of half of the connections.
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->accept();
}

HttpServer::~HttpServer() = default;

tcp::endpoint HttpServer::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void HttpServer::stop() {
  beast::error_code ignored;
  state_->acceptor.close(ignored);
}

}  // namespace tg::control
