// Response heads (proxy/http/parser.cpp, parse_response): status-line forms,
// 1xx, framing and the errors that become 502 bad_upstream_response.
#include "parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tg::proxy::http;
using tg::proxy::http::test::ParsedResponse;

namespace {

void check_rejected(const std::string& text, ParseError expected, const ParseLimits& limits = {}) {
  INFO("response: " << ::Catch::Detail::stringify(text));
  ParsedResponse r(text, limits);
  CHECK(r.status == ParseStatus::error);
  CHECK(r.head.error == expected);
}

}  // namespace

TEST_CASE("a response with Content-Length", "[proxy][http][parser][response]") {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n";
  ParsedResponse r(head + "hello");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.head.status == 200);
  CHECK(r.head.version_minor == 1);
  CHECK(r.head.head_length == head.size());
  CHECK(r.head.content_length == 5);
  CHECK_FALSE(r.head.chunked);
  CHECK(r.head.header_count == 2);
  CHECK(r.name(1) == "Content-Type");
  CHECK(r.value(1) == "text/plain");
  CHECK(r.kind(0) == HeaderKind::content_length);
  CHECK(r.head.keep_alive_requested());
}

TEST_CASE("status line forms that are accepted", "[proxy][http][parser][response]") {
  struct Case {
    const char* line;
    std::uint16_t status;
    std::uint8_t minor;
  };
  for (Case c : {Case{"HTTP/1.1 200", 200, 1}, Case{"HTTP/1.1 200 ", 200, 1}, Case{"HTTP/1.1 204 No Content", 204, 1},
                 Case{"HTTP/1.0 404 Not Found", 404, 0}, Case{"HTTP/1.1 599 \xe4\xb8\xad\tx", 599, 1},
                 Case{"HTTP/1.1 999 Whatever", 999, 1}, Case{"HTTP/1.1 100 Continue", 100, 1}}) {
    INFO(c.line);
    ParsedResponse r(std::string(c.line) + "\r\n\r\n");
    REQUIRE(r.status == ParseStatus::complete);
    CHECK(r.head.status == c.status);
    CHECK(r.head.version_minor == c.minor);
    CHECK(r.head.header_count == 0);
  }
}

TEST_CASE("status line forms that are rejected", "[proxy][http][parser][response]") {
  check_rejected("HTTP/1.1 20 OK\r\n\r\n", ParseError::bad_status);
  check_rejected("HTTP/1.1 2000 OK\r\n\r\n", ParseError::bad_status);
  check_rejected("HTTP/1.1 20x OK\r\n\r\n", ParseError::bad_status);
  check_rejected("HTTP/1.1 099 Low\r\n\r\n", ParseError::bad_status);
  check_rejected("HTTP/1.1  200 OK\r\n\r\n", ParseError::bad_status);
  check_rejected("HTTP/1.1 200\tOK\r\n\r\n", ParseError::bad_status);
  check_rejected("HTTP/1.1 20\r\n\r\n", ParseError::bad_start_line);
  check_rejected("HTTP/2.0 200 OK\r\n\r\n", ParseError::bad_start_line);
  check_rejected("HTTP/1.2 200 OK\r\n\r\n", ParseError::bad_start_line);
  check_rejected("http/1.1 200 OK\r\n\r\n", ParseError::bad_start_line);
  check_rejected("HTTP/1.1200 OK\r\n\r\n", ParseError::bad_start_line);
  check_rejected("HTTP/1.1 200 O\x01K\r\n\r\n", ParseError::bad_start_line);
  check_rejected("HTTP/1.1 200 O\x7fK\r\n\r\n", ParseError::bad_start_line);
  check_rejected("\r\nHTTP/1.1 200 OK\r\n\r\n", ParseError::bad_start_line);
}

// See the request-line twin in parser_errors_test.cpp: the status line's CR is
// not checked for a following LF.
TEST_CASE("bare CR ending the status line", "[proxy][http][parser][response]") {
  check_rejected("HTTP/1.1 200 OK\rXContent-Length: 0\r\n\r\n", ParseError::bad_line_ending);
}

TEST_CASE("1xx responses parse like any other head", "[proxy][http][parser][response]") {
  ParsedResponse r("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.head.status == 101);
  CHECK(r.head.connection_upgrade);
  CHECK(r.kind(1) == HeaderKind::upgrade);
  CHECK(r.head.content_length == -1);
}

TEST_CASE("response framing", "[proxy][http][parser][response]") {
  ParsedResponse chunked("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(chunked.status == ParseStatus::complete);
  CHECK(chunked.head.chunked);
  CHECK(chunked.head.content_length == -1);

  ParsedResponse none("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");  // read until close
  REQUIRE(none.status == ParseStatus::complete);
  CHECK_FALSE(none.head.chunked);
  CHECK(none.head.content_length == -1);
  CHECK_FALSE(none.head.keep_alive_requested());

  check_rejected("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                 ParseError::content_length_and_chunked);
  check_rejected("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", ParseError::bad_content_length);
  check_rejected("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", ParseError::bad_content_length);
  check_rejected("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ParseError::bad_transfer_encoding);
  check_rejected("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::bad_transfer_encoding);
}

TEST_CASE("responses need no Host and may repeat it", "[proxy][http][parser][response]") {
  ParsedResponse r("HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nX-Request-Id: r\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.kind(0) == HeaderKind::host);
  CHECK(r.kind(2) == HeaderKind::x_request_id);
}

TEST_CASE("response header errors", "[proxy][http][parser][response]") {
  check_rejected("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ParseError::obs_fold);
  check_rejected("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", ParseError::bad_header_name);
  check_rejected("HTTP/1.1 200 OK\nX: a\r\n\r\n", ParseError::bad_line_ending);
  check_rejected("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", ParseError::bad_header_value);
  ParseLimits limits;
  limits.max_headers = 1;
  check_rejected("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", ParseError::too_many_headers, limits);
  limits = {};
  limits.max_head_bytes = 32;
  check_rejected("HTTP/1.1 200 OK\r\nX: 0123456789abcdef\r\n\r\n", ParseError::head_too_large, limits);
  check_rejected("HTTP/1.1 200 OK\r\nX: 0123456789abcdef", ParseError::head_too_large, limits);
}

TEST_CASE("response parsed one byte more per call", "[proxy][http][parser][response]") {
  const std::string head = "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\nRetry-After: 5\r\n\r\n";
  const std::string text = head + "{}";
  std::vector<HeaderField> fields(ParseLimits{}.max_headers);
  ResponseHead out;
  std::size_t scanned = 0;
  for (std::size_t n = 1; n < head.size(); ++n) {
    INFO("bytes fed: " << n);
    REQUIRE(parse_response(text.data(), n, scanned, {}, fields.data(), out) == ParseStatus::incomplete);
  }
  REQUIRE(parse_response(text.data(), text.size(), scanned, {}, fields.data(), out) == ParseStatus::complete);
  CHECK(out.status == 503);
  CHECK(out.head_length == head.size());
  CHECK(out.content_length == 2);
  REQUIRE(out.header_count == 2);
  CHECK(out.headers[1].value.view(text.data()) == "5");
}
