#include "netio/http_server.hpp"

#include "netio/endpoint.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <deque>
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

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

std::string joined(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers)
    if (equal_ignoring_case(field, name)) return std::string_view(value);
  return std::nullopt;
}

namespace {

// A registered path: a GET/HEAD handler of handle(path, HttpHandler) (legacy),
// or a route of handle(HttpRoute, HttpRequestHandler).
struct Entry {
  HttpRoute route;
  HttpHandler get_handler;          // set for the GET/HEAD paths
  HttpRequestHandler handler;       // set for routes
  bool legacy() const { return static_cast<bool>(get_handler); }
  bool allows(std::string_view method) const {
    return std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end();
  }
};

}  // namespace

struct HttpServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, HttpServerOptions o)
      : acceptor(io), backoff_timer(io), options(std::move(o)), backoff(options.accept_backoff_initial) {}

  std::string where;  // the bound address, for log lines

  tcp::acceptor acceptor;
  asio::steady_timer backoff_timer;
  HttpServerOptions options;
  // In registration order, for the 404 text. A deque: sessions keep
  // pointers to entries while a registration may still add one.
  std::deque<Entry> entries;
  std::chrono::milliseconds backoff;
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> accept_attempts{0};
  std::uint64_t errors_not_logged = 0;
  std::optional<std::chrono::steady_clock::time_point> last_log;

  void accept();
  void accept_failed(const boost::system::error_code& ec);
  // The entry serving `path`: the exact one, else the longest prefix; null when none.
  const Entry* find(std::string_view path) const;
  // The GET/HEAD paths' answer (405 and 404 as before routes existed).
  void dispatch_legacy(const Entry* entry, const std::string& method, HttpRespond respond) const;
};

const Entry* HttpServer::State::find(std::string_view path) const {
  const Entry* best = nullptr;
  for (const Entry& entry : entries) {
    if (!entry.route.prefix) {
      if (entry.route.path == path) return &entry;
      continue;
    }
    if (path.starts_with(entry.route.path) && (!best || entry.route.path.size() > best->route.path.size()))
      best = &entry;
  }
  return best;
}

void HttpServer::State::dispatch_legacy(const Entry* entry, const std::string& method, HttpRespond respond) const {
  if (method != "GET" && method != "HEAD") {
    respond({405, "text/plain; charset=utf-8", options.method_not_allowed, {}});
    return;
  }
  if (entry) {
    entry->get_handler(method, std::move(respond));
    return;
  }
  std::string body = "not found; try";
  for (const Entry& e : entries) body += " " + e.route.path + (e.route.prefix ? "..." : "");
  respond({404, "text/plain; charset=utf-8", body + "\n", {}});
}

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpServer::State> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  // Reads the next request's head; the body follows once its path is known.
  void read() {
    const HttpServerOptions& options = options_of();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options.header_limit));
    // Checked against the path's limit once the head is read (on_head).
    parser_->body_limit(boost::none);
    entry_ = nullptr;
    stream_.expires_after(options.io_timeout);
    http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;  // closed, timed out or malformed: drop the connection
      self->on_head();
    });
  }

 private:
  const HttpServerOptions& options_of() const { return server_->options; }

  void on_head();
  void read_body();
  void on_body(beast::error_code ec);
  void dispatch();
  // `close`: answer with "Connection: close", then linger and close.
  void write(HttpResponse r, bool close = false);
  void linger();
  void drain();

  bool body_pending() const { return !parser_->is_done(); }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpServer::State> server_;
  const Entry* entry_ = nullptr;  // the path's entry (entries do not change while serving)
  std::array<char, 16 * 1024> discard_{};
  std::size_t discarded_ = 0;
};

void Session::on_head() {
  const auto& request = parser_->get();
  const std::string_view target(request.target().data(), request.target().size());
  entry_ = server_->find(target.substr(0, target.find('?')));
  const boost::optional<std::uint64_t> length = parser_->content_length();
  if (!entry_ || entry_->legacy()) {
    // As before routes existed: the server-wide limit, a body beyond it drops the connection.
    const std::size_t limit = options_of().body_limit;
    if (length && *length > limit) return;
    parser_->body_limit(limit);
    read_body();
    return;
  }
  const std::string method(request.method_string());
  if (!entry_->allows(method)) {
    HttpResponse refusal = entry_->route.method_not_allowed;
    refusal.headers.emplace_back("Allow", joined(entry_->route.methods, ", "));
    write(std::move(refusal), body_pending());
    return;
  }
  const std::size_t limit = entry_->route.body_limit;
  if (length && *length > limit) {
    if (entry_->route.on_body_too_large) entry_->route.on_body_too_large(std::string(request.target()));
    write(entry_->route.body_too_large, true);  // the body stays unread
    return;
  }
  parser_->body_limit(limit);
  const auto expect = request.find(http::field::expect);
  if (body_pending() && expect != request.end() && equal_ignoring_case(expect->value(), "100-continue")) {
    auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, request.version());
    stream_.expires_after(options_of().io_timeout);
    http::async_write(stream_, *interim, [self = shared_from_this(), interim](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->read_body();
    });
    return;
  }
  read_body();
}

void Session::read_body() {
  if (!body_pending()) {
    dispatch();
    return;
  }
  stream_.expires_after(options_of().io_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
  if (ec == http::error::body_limit && entry_ && !entry_->legacy()) {
    if (entry_->route.on_body_too_large) entry_->route.on_body_too_large(std::string(parser_->get().target()));
    write(entry_->route.body_too_large, true);  // a chunked body past the limit
    return;
  }
  if (ec) return;  // closed, timed out, malformed or (GET/HEAD paths) too large: drop the connection
  dispatch();
}

void Session::dispatch() {
  auto& request = parser_->get();
  const std::string target(request.target());
  auto respond = [self = shared_from_this()](HttpResponse r) { self->write(std::move(r)); };
  if (!entry_ || entry_->legacy()) {
    server_->dispatch_legacy(entry_, std::string(request.method_string()), std::move(respond));
    return;
  }
  HttpRequest out;
  out.method = std::string(request.method_string());
  out.target = target;
  out.path = target.substr(0, target.find('?'));
  for (const auto& field : request)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(request.body());
  entry_->handler(std::move(out), std::move(respond));
}

void Session::write(HttpResponse r, bool close) {
  const HttpServerOptions& options = options_of();
  if (options.on_response) options.on_response(r.status);
  const auto& request = parser_->get();
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                  request.version());
  res->set(http::field::content_type, r.content_type);
  res->set(http::field::server, options.server_name);
  for (auto& [name, value] : r.headers) res->insert(name, value);
  res->keep_alive(request.keep_alive() && !close);
  res->body() = std::move(r.body);
  res->prepare_payload();
  stream_.expires_after(options.io_timeout);
  http::async_write(stream_, *res, [self = shared_from_this(), res, close](beast::error_code ec, std::size_t) {
    if (close && !ec) {
      self->linger();
      return;
    }
    if (ec || !res->keep_alive()) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    self->read();
  });
}

// After an answer that leaves a body unread: closing now, with bytes
// unread, would send a reset that may destroy the answer before the client
// read it. So shut down sending and read what comes, within bounds.
void Session::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(options_of().linger_timeout);  // for the whole drain
  drain();
}

void Session::drain() {
  stream_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->discarded_ += n;
    if (ec || self->discarded_ >= self->options_of().linger_limit) return;  // EOF, timeout or enough
    self->drain();
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
  Entry entry;
  entry.route.path = std::move(path);
  entry.get_handler = std::move(handler);
  state_->entries.push_back(std::move(entry));
}

void HttpServer::handle(HttpRoute route, HttpRequestHandler handler) {
  Entry entry;
  entry.route = std::move(route);
  entry.handler = std::move(handler);
  state_->entries.push_back(std::move(entry));
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
