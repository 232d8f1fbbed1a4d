// One HTTP/1.1 POST of a notification (the dispatcher's attempts): Asio +
// Beast on the caller's io_context, plain TCP or TLS (the context's trusted
// CAs, TLS 1.2 at least, SNI, the certificate must name the host). One
// deadline over resolve, connect, handshake, request and response; one
// connection per attempt ("Connection: close"); no redirects. Plain http goes
// to any host: receivers inside a cluster often speak it, and the URL is the
// operator's.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace tg::control::alerts {

struct HttpUrl {
  bool tls = true;
  std::string host;        // a name or an address (IPv6 without brackets)
  std::uint16_t port = 0;  // 443 / 80 when the URL names none
  std::string target;      // path and query, "/" at least
};

// "http[s]://HOST[:PORT][/PATH][?QUERY]": the problem, "" when good.
std::string parse_http_url(std::string_view text, HttpUrl& out);

struct PostResult {
  int status = 0;             // 0 when no answer came
  std::string error;          // "" on any answer; "timeout", "connect: ...", ...
  std::string retry_after;    // the answer's Retry-After header
  std::string body_excerpt;   // the first bytes of the answer's body (for a refusal's message)
};

struct PostRequest {
  HttpUrl url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10'000};
};

// Starts the POST; `done` runs once on the context's thread, unless the
// context is stopped first (then never). `tls_context` must outlive the
// context's handlers.
void http_post(boost::asio::io_context& io, boost::asio::ssl::context& tls_context, PostRequest request,
               std::function<void(PostResult)> done);

}  // namespace tg::control::alerts
