#include "auth/jwks_fetcher.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <openssl/ssl.h>

#include <utility>

namespace tg::control::auth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// One GET: resolve → connect → (TLS handshake) → write → read. Every step
// runs under the same deadline (tcp_stream::expires_at).
struct JwksFetcher::Fetch : std::enable_shared_from_this<Fetch> {
  Fetch(asio::io_context& io, ssl::context* tls_context, const JwksFetcherOptions& options, JwksUrl url, Done done,
        std::atomic<std::size_t>& in_flight)
      : options(options), url(std::move(url)), done(std::move(done)), resolver(io), in_flight(in_flight) {
    if (this->url.tls) {
      tls.emplace(io, *tls_context);
    } else {
      plain.emplace(io);
    }
    deadline = std::chrono::steady_clock::now() + options.timeout;
  }
  ~Fetch() { in_flight.fetch_sub(1, std::memory_order_relaxed); }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void start() {
    lowest().expires_at(deadline);
    // The resolver has no deadline of its own: the stream's timer cannot
    // cancel it, so a timer of the fetch does.
    resolve_timer.emplace(resolver.get_executor());
    resolve_timer->expires_at(deadline);
    resolve_timer->async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->resolver.cancel();
    });
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type results) {
                             self->resolve_timer->cancel();
                             self->on_resolved(ec, std::move(results));
                           });
  }

  void on_resolved(const error_code& ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec == asio::error::operation_aborted ? "timeout" : "resolve " + url.host + ": " + ec.message());
    lowest().expires_at(deadline);
    lowest().async_connect(results, [self = shared_from_this()](const error_code& connect_ec, const tcp::endpoint& peer) {
      self->on_connected(connect_ec, peer);
    });
  }

  void on_connected(const error_code& ec, const tcp::endpoint& peer) {
    if (ec) return fail(io_error("connect", ec));
    if (!tls) {
      if (!peer.address().is_loopback()) return fail("plain http to a non-loopback peer " + peer.address().to_string());
      return send(*plain);
    }
    // SNI and the name the certificate must carry.
    boost::system::error_code not_ip;
    (void)asio::ip::make_address(url.host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str()))
      return fail("TLS: cannot set the server name");
    tls->set_verify_mode(ssl::verify_peer);
    tls->set_verify_callback(ssl::host_name_verification(url.host));
    lowest().expires_at(deadline);
    tls->async_handshake(ssl::stream_base::client, [self = shared_from_this()](const error_code& handshake_ec) {
      if (handshake_ec) return self->fail(self->io_error("TLS handshake", handshake_ec));
      self->send(*self->tls);
    });
  }

  template <class Stream>
  void send(Stream& stream) {
    request.method(http::verb::get);
    request.target(url.target);
    request.version(11);
    const bool default_port = url.port == (url.tls ? 443 : 80);
    const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    request.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
    request.set(http::field::user_agent, "tg-control-jwks");
    request.set(http::field::accept, "application/jwk-set+json, application/json");
    request.set(http::field::connection, "close");
    lowest().expires_at(deadline);
    http::async_write(stream, request, [self = shared_from_this(), &stream](const error_code& ec, std::size_t) {
      if (ec) return self->fail(self->io_error("write", ec));
      self->receive(stream);
    });
  }

  template <class Stream>
  void receive(Stream& stream) {
    parser.body_limit(options.max_body);
    parser.header_limit(static_cast<std::uint32_t>(options.max_header));
    lowest().expires_at(deadline);
    http::async_read(stream, buffer, parser, [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->on_response(ec);
    });
  }

  void on_response(const error_code& ec) {
    if (ec == http::error::body_limit) return fail("body larger than " + std::to_string(options.max_body) + " bytes");
    if (ec == http::error::header_limit) return fail("header larger than " + std::to_string(options.max_header) + " bytes");
    if (ec) return fail(io_error("read", ec));
    const auto& response = parser.get();
    FetchResult result;
    result.status = response.result_int();
    if (result.status != 200) {
      result.error = "http " + std::to_string(result.status);
    } else {
      result.body = response.body();
      result.cache_control = std::string(response[http::field::cache_control]);
    }
    finish(std::move(result));
  }

  std::string io_error(const char* step, const error_code& ec) const {
    if (ec == beast::error::timeout) return "timeout";
    return std::string(step) + ": " + ec.message();
  }

  void fail(std::string error) {
    FetchResult result;
    result.error = std::move(error);
    finish(std::move(result));
  }

  void finish(FetchResult result) {
    error_code ignored;
    lowest().socket().close(ignored);
    if (done) std::exchange(done, nullptr)(std::move(result));
  }

  const JwksFetcherOptions& options;
  JwksUrl url;
  Done done;
  tcp::resolver resolver;
  std::optional<asio::steady_timer> resolve_timer;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::chrono::steady_clock::time_point deadline;
  http::request<http::empty_body> request;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  std::atomic<std::size_t>& in_flight;
};

JwksFetcher::JwksFetcher(JwksFetcherOptions options) : options_(std::move(options)) {
  tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (options_.ca_file.empty()) {
    tls_->set_default_verify_paths(ec);
  } else {
    tls_->load_verify_file(options_.ca_file, ec);
  }
  if (ec)
    spdlog::error("tg-control: jwks fetcher: cannot load the trusted CAs ({}): {}; https fetches will fail",
                  options_.ca_file.empty() ? "system store" : options_.ca_file, ec.message());
}

JwksFetcher::~JwksFetcher() { stop(); }

void JwksFetcher::start() { io_thread_.start(); }

void JwksFetcher::stop() { io_thread_.stop(); }

void JwksFetcher::fetch(const JwksUrl& url, Done done) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  asio::post(io_thread_.context(), [this, url, done = std::move(done)]() mutable {
    std::make_shared<Fetch>(io_thread_.context(), tls_.get(), options_, std::move(url), std::move(done), in_flight_)->start();
  });
}

}  // namespace tg::control::auth
