// Request-smuggling and desync shapes through the real proxy (RFC 9112 §6,
// §11.2; docs/http-conformance.md): every ambiguous or malformed request gets 400
// bad_request and a closed connection, and nothing reaches the backend; the
// same shapes in an upstream response give the client 502
// bad_upstream_response. The parser's unit tests cover each rule byte by
// byte; this file checks that the running proxy acts on them.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"

#include <atomic>

using namespace tg::itest;
using namespace std::string_literals;

namespace {

struct Shape {
  const char* what;
  std::string bytes;
};

std::string post_with(const std::string& header_lines, const std::string& body = "") {
  return "POST /x HTTP/1.1\r\nHost: t\r\n" + header_lines + "\r\n" + body;
}

// Request shapes, one per rule (the unit tests hold the full tables).
const std::vector<Shape>& request_shapes() {
  static const std::vector<Shape> shapes = {
      {"CL then TE", post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")},
      {"TE then CL", post_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n")},
      {"duplicate equal CL", post_with("Content-Length: 5\r\nContent-Length: 5\r\n", "hello")},
      {"differing CL", post_with("Content-Length: 5\r\nContent-Length: 6\r\n", "hello")},
      {"CL list", post_with("Content-Length: 5, 5\r\n", "hello")},
      {"non-numeric CL", post_with("Content-Length: 5a\r\n", "hello")},
      {"signed CL", post_with("Content-Length: +5\r\n", "hello")},
      {"hex CL", post_with("Content-Length: 0x5\r\n", "hello")},
      {"overflowing CL", post_with("Content-Length: 99999999999999999999999\r\n")},
      {"TE not chunked", post_with("Transfer-Encoding: gzip\r\n")},
      {"TE chunked not final", post_with("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n")},
      {"TE duplicated", post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")},
      {"TE with a parameter", post_with("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n")},
      {"TE in HTTP/1.0", "POST /x HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"obs-fold", post_with("X-A: a\r\n b\r\nContent-Length: 0\r\n")},
      {"obs-fold of Transfer-Encoding", post_with("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n")},
      {"space before the colon", post_with("Transfer-Encoding : chunked\r\n", "0\r\n\r\n")},
      {"tab before the colon", post_with("Content-Length\t: 0\r\n")},
      {"bare LF line ending", "GET /x HTTP/1.1\nHost: t\n\n"},
      {"bare LF inside the head", "GET /x HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n"},
      {"bare CR in a value", "GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"},
      {"bare CR ending the request line", "GET /x HTTP/1.1\rX: y\r\nHost: t\r\n\r\n"},
      {"NUL in a value", "GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"s},
      {"NUL in a name", "GET /x HTTP/1.1\r\nHost: t\r\nX-\0A: b\r\n\r\n"s},
      {"control character in a value", "GET /x HTTP/1.1\r\nHost: t\r\nX-A: \x01\r\n\r\n"},
      {"DEL in a value", "GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\x7f\r\n\r\n"},
      {"non-token name", "GET /x HTTP/1.1\r\nHost: t\r\nX(A): b\r\n\r\n"},
      {"bad method token", "G@T /x HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"method with a control character", "G\x01T /x HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"space inside the target", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"control character in the target", "GET /a\x01 HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"target not in origin form", "GET x HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"unknown version", "GET /x HTTP/1.2\r\nHost: t\r\n\r\n"},
      {"lower-case version", "GET /x http/1.1\r\nHost: t\r\n\r\n"},
      {"missing Host", "GET /x HTTP/1.1\r\n\r\n"},
      {"duplicate Host", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
      {"Host with userinfo", "GET /x HTTP/1.1\r\nHost: u@t\r\n\r\n"},
  };
  return shapes;
}

// Chunked bodies with bad framing: the head is fine, so the proxy may have
// connected upstream, but no byte may be forwarded.
const std::vector<Shape>& chunk_shapes() {
  static const std::vector<Shape> shapes = {
      {"non-hex chunk size", post_with("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n")},
      {"empty chunk size", post_with("Transfer-Encoding: chunked\r\n", "\r\nhello\r\n0\r\n\r\n")},
      {"overflowing chunk size", post_with("Transfer-Encoding: chunked\r\n", "fffffffffffffffff\r\nx\r\n0\r\n\r\n")},
      {"signed chunk size", post_with("Transfer-Encoding: chunked\r\n", "-5\r\nhello\r\n0\r\n\r\n")},
      {"control character in an extension", post_with("Transfer-Encoding: chunked\r\n", "5;a\x01\r\nhello\r\n0\r\n\r\n")},
      {"bare LF after the size", post_with("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n")},
      {"data longer than the size", post_with("Transfer-Encoding: chunked\r\n", "3\r\nhello\r\n0\r\n\r\n")},
      {"obs-fold in a trailer", post_with("Transfer-Encoding: chunked\r\n", "0\r\nX: a\r\n b\r\n\r\n")},
  };
  return shapes;
}

void check_rejected(const ProxyProcess& proxy, const Backend& backend, const Shape& shape) {
  INFO("shape: " << shape.what);
  HttpClient client(proxy.port());
  client.send(shape.bytes);
  check_error_response(client.read_response(), 400, "bad_request");
  CHECK(client.wait_for_close(2s));
  CHECK(backend.requests() == 0);
}

}  // namespace

TEST_CASE("smuggling shapes in request heads get 400, a close, and never reach the backend", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  for (const Shape& shape : request_shapes()) check_rejected(proxy, backend, shape);
  // All of them were counted as client errors without a route.
  CHECK(metric_settles(proxy, "tg_requests_total", {{"class", "4xx"}}, double(request_shapes().size())) ==
        double(request_shapes().size()));
  // And the proxy still serves.
  CHECK(http_get(proxy.port(), "/ok").status == 200);
}

TEST_CASE("bad chunked framing in a request body gets 400 and a close, no body byte is forwarded",
          "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}, {"retry: { attempts: 1 }"}));
  for (const Shape& shape : chunk_shapes()) {
    INFO("shape: " << shape.what);
    HttpClient client(proxy.port());
    client.send(shape.bytes);
    check_error_response(client.read_response(), 400, "bad_request");
    CHECK(client.wait_for_close(2s));
  }
  CHECK(backend.body_bytes_received() == 0);
}

TEST_CASE("smuggling shapes in upstream responses give the client 502", "[proxy][protocol]") {
  const std::vector<Shape> shapes = {
      {"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"},
      {"non-numeric CL", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello"},
      {"TE not chunked-final", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
      {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"},
      {"space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"},
      {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
      {"NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n"s},
      {"bad status code", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"},
      {"bad version", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"},
      {"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"},
      {"bad chunk size in the first bytes", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
      {"unsolicited 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"},
  };
  std::atomic<std::size_t> current{0};
  RawServer upstream([&](TcpSocket& connection) {
    read_head(connection, 5s);
    connection.send_all(shapes[current.load()].bytes, 5s);
    std::string ignored;
    connection.receive_some(ignored, 4096, 2s);  // until the proxy closes
  });
  ProxyProcess proxy(single_service_config({upstream.address()}, {"retry: { attempts: 1 }"}));
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    current = i;
    INFO("response shape: " << shapes[i].what);
    HttpClient client(proxy.port());
    check_error_response(client.get("/x"), 502, "bad_upstream_response");
  }
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {{"kind", "protocol"}}, double(shapes.size())) ==
        double(shapes.size()));
}
