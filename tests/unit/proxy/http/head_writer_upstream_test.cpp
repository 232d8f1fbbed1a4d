// The request head sent upstream (proxy/http/head_writer.cpp,
// write_upstream_request): what is dropped, merged, replaced and added.
#include "http/head_writer.hpp"
#include "parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tg::proxy::http;
using tg::proxy::http::test::ParsedRequest;

namespace {

struct Options {
  const char* path = nullptr;  // null: the parsed path
  std::string_view client_ip = "10.0.0.9";
  std::string_view request_id = "gen-1";
  bool request_id_from_client = false;
  bool drop_expect = false;
  bool upgrade = false;
};

UpstreamRequest make_input(const ParsedRequest& r, const Options& o) {
  REQUIRE(r.status == ParseStatus::complete);
  UpstreamRequest in;
  in.base = r.base();
  in.head = &r.head;
  in.path = o.path ? std::string_view(o.path) : r.view(r.head.path);
  in.client_ip = o.client_ip;
  in.request_id = o.request_id;
  in.request_id_from_client = o.request_id_from_client;
  in.drop_expect = o.drop_expect;
  in.upgrade = o.upgrade;
  return in;
}

std::string upstream(const std::string& request, const Options& o = {}) {
  ParsedRequest r(request);
  UpstreamRequest in = make_input(r, o);
  std::string out(8192, '\0');
  std::size_t n = write_upstream_request(out.data(), out.size(), in);
  REQUIRE(n > 0);
  out.resize(n);
  return out;
}

// The proxy's own lines as they end every upstream head (peer 10.0.0.9, id gen-1).
const std::string kTail = "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Request-Id: gen-1\r\n\r\n";

}  // namespace

TEST_CASE("a plain request passes through with the proxy's headers appended", "[proxy][http][head_writer]") {
  CHECK(upstream("GET /a/b?x=1&y HTTP/1.1\r\nHost: app.example\r\nAccept: */*\r\nX-Custom:  v \r\n\r\n") ==
        "GET /a/b?x=1&y HTTP/1.1\r\nHost: app.example\r\nAccept: */*\r\nX-Custom:  v \r\n" + kTail);
}

TEST_CASE("a request line with runs of SP goes upstream with single SPs", "[proxy][http][head_writer]") {
  CHECK(upstream("GET   /a?q=1    HTTP/1.1\r\nHost: h\r\n\r\n") == "GET /a?q=1 HTTP/1.1\r\nHost: h\r\n" + kTail);
}

TEST_CASE("the upstream always gets HTTP/1.1", "[proxy][http][head_writer]") {
  CHECK(upstream("GET / HTTP/1.0\r\nHost: h\r\n\r\n") == "GET / HTTP/1.1\r\nHost: h\r\n" + kTail);
}

// Regression (fixed): an HTTP/1.0 request may come without Host; the proxy
// upgrades it to HTTP/1.1 but adds no Host, and RFC 9112 §3.2 requires a
// server to answer 400 to an HTTP/1.1 request without Host.
TEST_CASE("an HTTP/1.0 request without Host still reaches the upstream with a Host",
          "[proxy][http][head_writer]") {
  const std::string out = upstream("GET / HTTP/1.0\r\n\r\n");
  CHECK(out.starts_with("GET / HTTP/1.1\r\n"));
  CHECK(out.find("\r\nHost: ") != std::string::npos);
}

TEST_CASE("hop-by-hop headers are removed", "[proxy][http][head_writer]") {
  CHECK(upstream("GET / HTTP/1.1\r\n"
                 "Connection: keep-alive, Upgrade\r\n"
                 "Host: h\r\n"
                 "Keep-Alive: timeout=5\r\n"
                 "Proxy-Connection: keep-alive\r\n"
                 "TE: trailers\r\n"
                 "Upgrade: websocket\r\n"
                 "Proxy-Authorization: Basic x\r\n"
                 "traceparent: 00-abc-def-01\r\n"
                 "\r\n") ==
        "GET / HTTP/1.1\r\nHost: h\r\nProxy-Authorization: Basic x\r\ntraceparent: 00-abc-def-01\r\n" + kTail);
}

TEST_CASE("headers named in Connection are removed, case-insensitively", "[proxy][http][head_writer]") {
  CHECK(upstream("GET / HTTP/1.1\r\n"
                 "Host: h\r\n"
                 "Connection: close, X-Foo\r\n"
                 "x-foo: 1\r\n"
                 "X-Foo-Bar: 2\r\n"
                 "X-FOO: 3\r\n"
                 "Connection: x-second\r\n"
                 "X-Second: 4\r\n"
                 "X-Fo: 5\r\n"
                 "Accept: x-fo\r\n"  // a value naming a header is not a Connection list
                 "\r\n") == "GET / HTTP/1.1\r\nHost: h\r\nX-Foo-Bar: 2\r\nX-Fo: 5\r\nAccept: x-fo\r\n" + kTail);
}

// Regression (fixed): ConnectionListed keeps 16 names and sets `overflow` for
// the rest, but nothing reads `overflow`, so the 17th and later listed headers
// are forwarded although RFC 9110 §7.6.1 says they must be removed.
TEST_CASE("more than 16 headers named in Connection are all removed",
          "[proxy][http][head_writer]") {
  std::string listed, lines;
  for (int i = 1; i <= 17; ++i) {
    listed += (i > 1 ? ", h" : "h") + std::to_string(i);
    lines += "h" + std::to_string(i) + ": v\r\n";
  }
  CHECK(upstream("GET / HTTP/1.1\r\nHost: h\r\nConnection: " + listed + "\r\n" + lines + "\r\n") ==
        "GET / HTTP/1.1\r\nHost: h\r\n" + kTail);
}

// Regression (fixed): a client can name framing headers in Connection. The
// proxy then drops Content-Length / Transfer-Encoding / Host from the upstream
// head while still forwarding the body it framed with them: the upstream reads
// a body-less request and takes the body as the next request (smuggling), or
// gets an HTTP/1.1 request without Host, or (X-Request-Id) no request id at
// all while the client and the access log see the client's id.
TEST_CASE("Connection cannot remove framing headers, Host or the request id",
          "[proxy][http][head_writer]") {
  SECTION("Content-Length") {
    CHECK(upstream("POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: Content-Length\r\n\r\n") ==
          "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n" + kTail);
  }
  SECTION("Transfer-Encoding") {
    CHECK(upstream("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n") ==
          "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n" + kTail);
  }
  SECTION("Host") {
    CHECK(upstream("GET / HTTP/1.1\r\nHost: h\r\nConnection: host\r\n\r\n") == "GET / HTTP/1.1\r\nHost: h\r\n" + kTail);
  }
  SECTION("the client's X-Request-Id, which the proxy then does not replace") {
    CHECK(upstream("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: c-1\r\nConnection: x-request-id\r\n\r\n",
                   {.request_id = "c-1", .request_id_from_client = true}) ==
          "GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: c-1\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
  }
}

TEST_CASE("X-Forwarded-For values are merged into one line with the peer appended",
          "[proxy][http][head_writer]") {
  CHECK(upstream("GET / HTTP/1.1\r\n"
                 "X-Forwarded-For: 1.1.1.1\r\n"
                 "Host: h\r\n"
                 "x-forwarded-for: 2.2.2.2, 3.3.3.3\r\n"
                 "X-Forwarded-For:\r\n"
                 "\r\n") ==
        "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9\r\nHost: h\r\n"
        "X-Forwarded-Proto: http\r\nX-Request-Id: gen-1\r\n\r\n");
  CHECK(upstream("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For:   \r\n\r\n", {.client_ip = "::1"}) ==
        "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: ::1\r\nX-Forwarded-Proto: http\r\nX-Request-Id: gen-1\r\n\r\n");
}

TEST_CASE("X-Forwarded-Proto from the client is replaced", "[proxy][http][head_writer]") {
  CHECK(upstream("GET / HTTP/1.1\r\nX-Forwarded-Proto: https\r\nHost: h\r\nx-forwarded-proto: wss\r\n\r\n") ==
        "GET / HTTP/1.1\r\nHost: h\r\n" + kTail);
}

TEST_CASE("X-Request-Id: the client's line kept verbatim, or replaced", "[proxy][http][head_writer]") {
  const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nx-request-id:  client-7 \r\nX-Request-Id: dup\r\n\r\n";
  CHECK(upstream(request, {.request_id = "client-7", .request_id_from_client = true}) ==
        "GET / HTTP/1.1\r\nHost: h\r\nx-request-id:  client-7 \r\n"
        "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
  CHECK(upstream(request) == "GET / HTTP/1.1\r\nHost: h\r\n" + kTail);
}

TEST_CASE("Expect is dropped only when the proxy answered it", "[proxy][http][head_writer]") {
  const std::string request = "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  CHECK(upstream(request, {.drop_expect = true}) == "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n" + kTail);
  CHECK(upstream(request) == "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n" + kTail);
}

TEST_CASE("an upgrade keeps Upgrade and says Connection: Upgrade, otherwise both are dropped",
          "[proxy][http][head_writer]") {
  const std::string request =
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: k\r\n\r\n";
  CHECK(upstream(request, {.upgrade = true}) ==
        "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n"
        "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nConnection: Upgrade\r\nX-Request-Id: gen-1\r\n\r\n");
  CHECK(upstream(request) == "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: k\r\n" + kTail);
}

TEST_CASE("absolute-form: origin-form upstream, Host added from the authority", "[proxy][http][head_writer]") {
  CHECK(upstream("GET http://h:81/p?q HTTP/1.1\r\nAccept: a\r\n\r\n") ==
        "GET /p?q HTTP/1.1\r\nAccept: a\r\nHost: h:81\r\n" + kTail);
  CHECK(upstream("GET http://h?q HTTP/1.1\r\n\r\n") == "GET /?q HTTP/1.1\r\nHost: h\r\n" + kTail);
}

// RFC 9112 §3.2.2: with an absolute-form target the Host header is ignored
// and replaced by the authority, which is also what routing used.
TEST_CASE("absolute-form: a conflicting Host is replaced by the authority", "[proxy][http][head_writer]") {
  CHECK(upstream("GET http://a.example/p HTTP/1.1\r\nX: 1\r\nHost: b.example\r\nY: 2\r\n\r\n") ==
        "GET /p HTTP/1.1\r\nX: 1\r\nY: 2\r\nHost: a.example\r\n" + kTail);
}

TEST_CASE("rewritten paths always start with a slash and keep the query is kept", "[proxy][http][head_writer]") {
  const std::string request = "GET /api/x?k=v HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(upstream(request, {.path = ""}) == "GET /?k=v HTTP/1.1\r\nHost: h\r\n" + kTail);
  CHECK(upstream(request, {.path = "x"}) == "GET /x?k=v HTTP/1.1\r\nHost: h\r\n" + kTail);
  CHECK(upstream(request, {.path = "/x"}) == "GET /x?k=v HTTP/1.1\r\nHost: h\r\n" + kTail);
  CHECK(upstream("GET /api/x? HTTP/1.1\r\nHost: h\r\n\r\n", {.path = "/x"}) ==
        "GET /x? HTTP/1.1\r\nHost: h\r\n" + kTail);
  CHECK(upstream("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") == "OPTIONS * HTTP/1.1\r\nHost: h\r\n" + kTail);
}

TEST_CASE("write_upstream_request returns 0 when the head does not fit", "[proxy][http][head_writer]") {
  ParsedRequest r("POST /p?q HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nContent-Length: 0\r\n\r\n");
  UpstreamRequest in = make_input(r, {});
  const std::string expected =
      "POST /p?q HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1, 10.0.0.9\r\nContent-Length: 0\r\n"
      "X-Forwarded-Proto: http\r\nX-Request-Id: gen-1\r\n\r\n";
  std::vector<char> out(expected.size() + 1, '#');
  REQUIRE(write_upstream_request(out.data(), expected.size(), in) == expected.size());
  CHECK(std::string(out.data(), expected.size()) == expected);
  CHECK(out.back() == '#');  // nothing written past the capacity
  for (std::size_t capacity : {expected.size() - 1, expected.size() - 2, std::size_t{20}, std::size_t{0}}) {
    INFO("capacity " << capacity);
    std::vector<char> small(expected.size() + 8, '#');
    CHECK(write_upstream_request(small.data(), capacity, in) == 0);
    for (std::size_t i = capacity; i < small.size(); ++i) REQUIRE(small[i] == '#');
  }
}
