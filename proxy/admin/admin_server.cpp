#include "admin/admin_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tg::proxy::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct AdminServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, Handler h) : acceptor(io), handler(std::move(h)) {}
  tcp::acceptor acceptor;
  Handler handler;
  void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Handler& handler) : stream_(std::move(socket)), handler_(handler) {}

  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->dispatch();
    });
  }

 private:
  void dispatch() {
    std::string target(request_.target());
    std::string path = target.substr(0, target.find('?'));
    std::string method(request_.method_string());
    handler_(method, path, [self = shared_from_this()](Response r) { self->write(std::move(r)); });
  }

  void write(Response r) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                    request_.version());
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::server, "tg-proxy");
    res->keep_alive(request_.keep_alive());
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
  http::request<http::string_body> request_;
  Handler handler_;
};

}  // namespace

void AdminServer::State::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), self->handler)->read();
    self->accept();
  });
}

AdminServer::AdminServer(asio::io_context& io, const tcp::endpoint& endpoint, Handler handler)
    : state_(std::make_shared<State>(io, std::move(handler))) {
  state_->acceptor.open(endpoint.protocol());
  // SO_REUSEADDR only, never SO_REUSEPORT: a second process on a listening
  // admin port gets EADDRINUSE instead of half of the scrapes.
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->accept();
}

AdminServer::~AdminServer() { stop(); }

tcp::endpoint AdminServer::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void AdminServer::stop() {
  beast::error_code ignored;
  state_->acceptor.close(ignored);
}

}  // namespace tg::proxy::admin
