// The response head sent to the client (proxy/http/head_writer.cpp,
// write_downstream_response) and the X-Request-Id syntax (valid_request_id).
#include "http/head_writer.hpp"
#include "parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tg::proxy::http;
using tg::proxy::http::test::ParsedResponse;

namespace {

struct Options {
  std::string_view request_id = "r1";
  bool keep_alive = true;
  bool client_http10 = false;
  bool upgrade = false;
  bool interim = false;
};

DownstreamResponse make_input(const ParsedResponse& r, const Options& o) {
  REQUIRE(r.status == ParseStatus::complete);
  DownstreamResponse in;
  in.base = r.base();
  in.head = &r.head;
  in.request_id = o.request_id;
  in.keep_alive = o.keep_alive;
  in.client_http10 = o.client_http10;
  in.upgrade = o.upgrade;
  in.interim = o.interim;
  return in;
}

std::string downstream(const std::string& response, const Options& o = {}) {
  ParsedResponse r(response);
  DownstreamResponse in = make_input(r, o);
  std::string out(8192, '\0');
  std::size_t n = write_downstream_response(out.data(), out.size(), in);
  REQUIRE(n > 0);
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("status line rewritten to HTTP/1.1 with the same code and reason", "[proxy][http][head_writer]") {
  CHECK(downstream("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\n") ==
        "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-Request-Id: r1\r\n\r\n");
  CHECK(downstream("HTTP/1.1 204\r\n\r\n") == "HTTP/1.1 204\r\nX-Request-Id: r1\r\n\r\n");
  CHECK(downstream("HTTP/1.1 200 \r\n\r\n") == "HTTP/1.1 200 \r\nX-Request-Id: r1\r\n\r\n");
  CHECK(downstream("HTTP/1.1 599 Very  Odd\tReason\r\n\r\n") ==
        "HTTP/1.1 599 Very  Odd\tReason\r\nX-Request-Id: r1\r\n\r\n");
}

TEST_CASE("hop-by-hop and Connection-listed headers are dropped from responses", "[proxy][http][head_writer]") {
  CHECK(downstream("HTTP/1.1 200 OK\r\n"
                   "Connection: keep-alive, X-Internal\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "Proxy-Connection: close\r\n"
                   "TE: trailers\r\n"
                   "Upgrade: h2\r\n"
                   "Transfer-Encoding: chunked\r\n"
                   "x-internal: secret\r\n"
                   "Set-Cookie: a=1\r\n"
                   "Set-Cookie: b=2\r\n"
                   "\r\n") ==
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
        "X-Request-Id: r1\r\n\r\n");
}

// The response twin of "Connection cannot remove framing headers, Host or the request id" in
// head_writer_upstream_test.cpp: an upstream naming Content-Length in
// Connection makes the client read the body as the start of the next response.
TEST_CASE("Connection cannot remove a response's framing headers", "[proxy][http][head_writer]") {
  CHECK(downstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Content-Length\r\n\r\n") ==
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-Id: r1\r\n\r\n");
}

TEST_CASE("the client gets the proxy's X-Request-Id, never the upstream's", "[proxy][http][head_writer]") {
  CHECK(downstream("HTTP/1.1 200 OK\r\nx-request-id: up-9\r\nA: b\r\nX-Request-Id: up-10\r\n\r\n",
                   {.request_id = "mine"}) == "HTTP/1.1 200 OK\r\nA: b\r\nX-Request-Id: mine\r\n\r\n");
  CHECK(downstream("HTTP/1.1 200 OK\r\nX-Req: up-9\r\n\r\n", {.request_id = "mine"}) ==
        "HTTP/1.1 200 OK\r\nX-Req: up-9\r\nX-Request-Id: mine\r\n\r\n");
}

TEST_CASE("Connection header chosen by the proxy", "[proxy][http][head_writer]") {
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
  CHECK(downstream(response) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Request-Id: r1\r\n\r\n");
  CHECK(downstream(response, {.keep_alive = false}) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Request-Id: r1\r\nConnection: close\r\n\r\n");
  CHECK(downstream(response, {.client_http10 = true}) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Request-Id: r1\r\nConnection: keep-alive\r\n\r\n");
  CHECK(downstream(response, {.keep_alive = false, .client_http10 = true}) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Request-Id: r1\r\nConnection: close\r\n\r\n");
  // The upstream closing its own connection says nothing about the client's.
  CHECK(downstream("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n") == "HTTP/1.1 200 OK\r\nX-Request-Id: r1\r\n\r\n");
}

TEST_CASE("a 101 for a tunnel keeps Upgrade and says Connection: Upgrade", "[proxy][http][head_writer]") {
  const std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: a\r\n\r\n";
  CHECK(downstream(response, {.keep_alive = false, .upgrade = true}) ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\n"
        "X-Request-Id: r1\r\nConnection: Upgrade\r\n\r\n");
}

TEST_CASE("an interim response carries no Connection header", "[proxy][http][head_writer]") {
  const std::string response = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
  CHECK(downstream(response, {.keep_alive = false, .interim = true}) ==
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Request-Id: r1\r\n\r\n");
  CHECK(downstream(response, {.keep_alive = false}) ==
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Request-Id: r1\r\nConnection: close\r\n\r\n");
}

TEST_CASE("write_downstream_response returns 0 when the head does not fit", "[proxy][http][head_writer]") {
  ParsedResponse r("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  DownstreamResponse in = make_input(r, {.keep_alive = false});
  const std::string expected = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Request-Id: r1\r\nConnection: close\r\n\r\n";
  std::vector<char> out(expected.size(), '#');
  REQUIRE(write_downstream_response(out.data(), out.size(), in) == expected.size());
  CHECK(std::string(out.data(), out.size()) == expected);
  CHECK(write_downstream_response(out.data(), expected.size() - 1, in) == 0);
  CHECK(write_downstream_response(out.data(), 0, in) == 0);
}

TEST_CASE("valid_request_id: 1..128 of [A-Za-z0-9._:-]", "[proxy][http][head_writer]") {
  CHECK(valid_request_id("a"));
  CHECK(valid_request_id("Az09._:-"));
  CHECK(valid_request_id("7f3c2a1e-4b5d-4c6e-8f90-a1b2c3d4e5f6"));
  CHECK(valid_request_id(std::string(128, 'x')));
  CHECK_FALSE(valid_request_id(""));
  CHECK_FALSE(valid_request_id(std::string(129, 'x')));
  for (std::string_view bad : {"a b", "a/b", "a,b", "a;b", "a\tb", "a\"b", "caf\xc3\xa9", "a\r\nX: y", "a+b", "a=b"}) {
    INFO(bad);
    CHECK_FALSE(valid_request_id(bad));
  }
}
