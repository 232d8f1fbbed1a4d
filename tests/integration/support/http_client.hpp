// A blocking HTTP/1.1 client over one raw TCP connection, for tests.
//
// It sends exactly the bytes it is given (raw mode, for malformed requests) or
// a request it formats, and reads one response at a time: Content-Length,
// chunked or until-close bodies, HEAD and 1xx/204/304 without a body. The
// connection is reused for the next request (keep-alive) until either side
// closes it; the client never reconnects by itself, so a test can tell.
#pragma once

#include "support/header_list.hpp"
#include "support/tcp_socket.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tg::itest {

using namespace std::chrono_literals;

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  HeaderList headers;        // sent in order, as given
  std::string body;
  bool add_host = true;            // "Host: test.local" unless headers has one
  bool add_content_length = true;  // when body is non-empty or method is POST/PUT, unless given
};

struct HttpResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  HeaderList headers;
  std::string body;            // empty when the body was streamed to a callback
  std::uint64_t body_size = 0;  // bytes of body received
  bool complete = true;        // false: the body ended early (see `truncation`)
  std::string truncation;      // why: "closed", "reset", "timeout"

  std::string header(std::string_view name) const { return headers.value(name); }
  // Status line, headers and the start of the body, for failure messages.
  std::string describe() const;
};

struct ReadOptions {
  bool head_request = false;  // response to HEAD: no body whatever the headers say
  // When set, body bytes go here instead of HttpResponse::body.
  std::function<void(std::string_view)> on_body;
  // Return a response whose body ended early instead of throwing.
  bool allow_truncated = false;
  // Return an interim 1xx response (other than 101) instead of skipping it.
  bool return_interim = false;
};

class HttpClient {
 public:
  // Connects to 127.0.0.1:port. `io_timeout` bounds every wait for the peer.
  explicit HttpClient(std::uint16_t port, std::chrono::milliseconds io_timeout = 5s);

  // Raw bytes, as they are.
  void send(std::string_view bytes);
  void send_request(const HttpRequest& request);
  // Chunked upload helpers, after a head with "Transfer-Encoding: chunked".
  void send_chunk(std::string_view data);
  void send_last_chunk();

  // Reads one response. Throws SocketError when no complete head arrives
  // (closed, reset, timeout) and HttpParseError on a malformed response.
  HttpResponse read_response(const ReadOptions& options = {});

  // send_request + read_response.
  HttpResponse request(const HttpRequest& request, const ReadOptions& options = {});
  HttpResponse get(std::string target, HeaderList headers = {});
  HttpResponse post(std::string target, std::string body, HeaderList headers = {});

  // Waits until the peer closes the connection (EOF or reset): true when it
  // did within `timeout`. Bytes that arrive meanwhile are kept in
  // `received_before_close()`.
  bool wait_for_close(std::chrono::milliseconds timeout);
  const std::string& received_before_close() const { return pending_; }

  std::uint16_t local_port() const { return socket_.local_port(); }
  void shutdown_write() { socket_.shutdown_write(); }
  void close() { socket_.close(); }
  void reset() { socket_.reset(); }
  bool is_open() const { return socket_.is_open(); }
  std::chrono::milliseconds io_timeout() const { return io_timeout_; }
  void set_io_timeout(std::chrono::milliseconds timeout) { io_timeout_ = timeout; }

 private:
  // Makes sure pending_ holds at least `count` bytes; false on EOF.
  bool fill(std::size_t count);
  std::string take(std::size_t count);
  std::string read_line();  // without CRLF; throws at EOF
  void read_body(HttpResponse& response, const ReadOptions& options);
  void deliver(HttpResponse& response, const ReadOptions& options, std::string_view data);

  TcpSocket socket_;
  std::chrono::milliseconds io_timeout_;
  std::string pending_;  // received but not yet consumed
  bool eof_ = false;
};

class HttpParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One-shot helpers on a fresh connection.
HttpResponse http_get(std::uint16_t port, std::string target, HeaderList headers = {},
                      std::chrono::milliseconds io_timeout = 5s);

}  // namespace tg::itest
