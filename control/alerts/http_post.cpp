#include "alerts/http_post.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <charconv>
#include <memory>
#include <optional>

namespace tg::control::alerts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// Receivers answer a notification with a few bytes; more is not read.
constexpr std::size_t max_answer_body = 64 * 1024;
constexpr std::size_t max_answer_header = 16 * 1024;
constexpr std::size_t body_excerpt_bytes = 200;

// The attempt: resolve → connect → (TLS handshake) → write → read, under one
// deadline (tcp_stream::expires_at; a timer for the resolver, which has none).
struct Post : std::enable_shared_from_this<Post> {
  Post(asio::io_context& io, ssl::context& tls_context, PostRequest request, std::function<void(PostResult)> done)
      : request(std::move(request)), done(std::move(done)), resolver(io), resolve_timer(io) {
    if (this->request.url.tls) {
      tls.emplace(io, tls_context);
    } else {
      plain.emplace(io);
    }
    deadline = std::chrono::steady_clock::now() + this->request.timeout;
  }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void start() {
    resolve_timer.expires_at(deadline);
    resolve_timer.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->resolver.cancel();
    });
    resolver.async_resolve(request.url.host, std::to_string(request.url.port),
                           [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type results) {
                             self->resolve_timer.cancel();
                             self->on_resolved(ec, std::move(results));
                           });
  }

  void on_resolved(const error_code& ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec == asio::error::operation_aborted ? "timeout" : "resolve " + request.url.host + ": " + ec.message());
    lowest().expires_at(deadline);
    lowest().async_connect(results, [self = shared_from_this()](const error_code& connect_ec, const tcp::endpoint&) {
      self->on_connected(connect_ec);
    });
  }

  void on_connected(const error_code& ec) {
    if (ec) return fail(io_error("connect", ec));
    if (!tls) return send(*plain);
    error_code not_ip;
    (void)asio::ip::make_address(request.url.host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(tls->native_handle(), request.url.host.c_str()))
      return fail("TLS: cannot set the server name");
    tls->set_verify_mode(ssl::verify_peer);
    tls->set_verify_callback(ssl::host_name_verification(request.url.host));
    lowest().expires_at(deadline);
    tls->async_handshake(ssl::stream_base::client, [self = shared_from_this()](const error_code& handshake_ec) {
      if (handshake_ec) return self->fail(self->io_error("TLS handshake", handshake_ec));
      self->send(*self->tls);
    });
  }

  template <class Stream>
  void send(Stream& stream) {
    message.method(http::verb::post);
    message.target(request.url.target);
    message.version(11);
    const auto& url = request.url;
    const bool default_port = url.port == (url.tls ? 443 : 80);
    const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    message.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
    message.set(http::field::connection, "close");
    for (const auto& [name, value] : request.headers) message.set(name, value);
    message.body() = std::move(request.body);
    message.prepare_payload();
    lowest().expires_at(deadline);
    http::async_write(stream, message, [self = shared_from_this(), &stream](const error_code& ec, std::size_t) {
      if (ec) return self->fail(self->io_error("write", ec));
      self->receive(stream);
    });
  }

  template <class Stream>
  void receive(Stream& stream) {
    parser.body_limit(max_answer_body);
    parser.header_limit(static_cast<std::uint32_t>(max_answer_header));
    lowest().expires_at(deadline);
    http::async_read(stream, buffer, parser, [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->on_answer(ec);
    });
  }

  void on_answer(const error_code& ec) {
    // A long body still carries a status: the head is what counts.
    if (ec && !(ec == http::error::body_limit && parser.is_header_done())) return fail(io_error("read", ec));
    const auto& answer = parser.get();
    PostResult result;
    result.status = static_cast<int>(answer.result_int());
    result.retry_after = std::string(answer[http::field::retry_after]);
    result.body_excerpt = answer.body().substr(0, body_excerpt_bytes);
    finish(std::move(result));
  }

  std::string io_error(const char* step, const error_code& ec) const {
    if (ec == beast::error::timeout) return "timeout";
    return std::string(step) + ": " + ec.message();
  }

  void fail(std::string error) {
    PostResult result;
    result.error = std::move(error);
    finish(std::move(result));
  }

  void finish(PostResult result) {
    error_code ignored;
    lowest().socket().close(ignored);
    resolve_timer.cancel();
    if (done) std::exchange(done, nullptr)(std::move(result));
  }

  PostRequest request;
  std::function<void(PostResult)> done;
  tcp::resolver resolver;
  asio::steady_timer resolve_timer;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::chrono::steady_clock::time_point deadline;
  http::request<http::string_body> message;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
};

}  // namespace

std::string parse_http_url(std::string_view text, HttpUrl& out) {
  if (text.empty()) return "must not be empty";
  for (char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
  HttpUrl url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    rest = text.substr(7);
  } else {
    return "must be an http:// or https:// URL";
  }
  if (rest.find('#') != std::string_view::npos) return "must not have a fragment (#...)";
  const std::size_t path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  url.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (url.target.front() == '?') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return "must not carry user info (user@host)";
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "bad host: an IPv6 address needs its closing ']'";
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "bad host: expected ':' after ']'";
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (url.host.empty()) return "needs a host";
  if (has_port) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return "bad port \"" + std::string(port_text) + "\"";
    url.port = static_cast<std::uint16_t>(port);
  } else {
    url.port = url.tls ? 443 : 80;
  }
  out = std::move(url);
  return {};
}

void http_post(asio::io_context& io, ssl::context& tls_context, PostRequest request, std::function<void(PostResult)> done) {
  std::make_shared<Post>(io, tls_context, std::move(request), std::move(done))->start();
}

}  // namespace tg::control::alerts
