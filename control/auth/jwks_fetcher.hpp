// The HTTP(S) client that fetches tenants' jwks_url (docs/control-plane.md,
// "JWT keys"): Asio + Beast on its own io_context and thread, never on the
// owner loop. One GET per fetch, no redirects, no retries (the caller's
// schedule decides when to try again).
//
// TLS: the system CA store (set_default_verify_paths, or options.ca_file),
// TLS 1.2 at least, SNI, and the certificate must name the host
// (host_name_verification). Plain http only to a loopback address: the URL
// must name one (parse_jwks_url) and the connected peer must be one.
// Bounds: one deadline over resolve, connect, handshake, request and
// response (options.timeout); the response header and body sizes.
#pragma once

#include "auth/jwks_url.hpp"
#include "io_thread.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace tg::control::auth {

struct FetchResult {
  unsigned status = 0;        // HTTP status; 0 when no response came
  std::string body;           // the response body (status 200 only)
  std::string cache_control;  // its Cache-Control header
  std::string error;          // empty on a 200 response: "timeout", "connect: ...", "http 500", ...
  bool ok() const { return error.empty(); }
};

struct JwksFetcherOptions {
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_body = 1024 * 1024;
  std::size_t max_header = 16 * 1024;
  std::string ca_file;  // PEM bundle to trust instead of the system store (tests)
};

class JwksFetcher {
 public:
  // Runs on the fetcher thread, once per fetch; must not block.
  using Done = std::function<void(FetchResult)>;

  explicit JwksFetcher(JwksFetcherOptions options = {});
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  void start();
  // Abandons fetches under way (their Done is not called) and joins the
  // thread. Idempotent.
  void stop();
  // Any thread.
  void fetch(const JwksUrl& url, Done done);
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Fetch;
  // What a Fetch refers to, declared before the thread: a Fetch still queued
  // at stop() is destroyed with the context, and its destructor counts down
  // in_flight_ and its stream still uses tls_.
  JwksFetcherOptions options_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::atomic<std::size_t> in_flight_{0};
  IoThread io_thread_{"jwks fetcher"};
};

}  // namespace tg::control::auth
