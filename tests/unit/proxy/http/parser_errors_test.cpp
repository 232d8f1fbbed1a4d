// Request heads that must be rejected (proxy/http/parser.cpp, parse_request):
// one test per ParseError, each input differing from a valid request in one place.
#include "parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace tg::proxy::http;
using namespace std::string_literals;
using tg::proxy::http::test::ParsedRequest;

namespace {

struct Case {
  std::string text;
  ParseError expected;
};

void check_rejected(const std::vector<Case>& cases, const ParseLimits& limits = {}) {
  for (const Case& c : cases) {
    INFO("request: " << ::Catch::Detail::stringify(c.text));
    ParsedRequest r(c.text, limits);
    CHECK(r.status == ParseStatus::error);
    CHECK(r.head.error == c.expected);
  }
}

// A valid request head with `lines` inserted after Host.
std::string with_headers(const std::string& lines, const std::string& start = "POST / HTTP/1.1") {
  return start + "\r\nHost: h\r\n" + lines + "\r\n";
}

}  // namespace

TEST_CASE("the baseline of these tests parses", "[proxy][http][parser]") {
  ParsedRequest r(with_headers("X-A: b\r\n"));
  CHECK(r.status == ParseStatus::complete);
}

TEST_CASE("bare LF anywhere in the head", "[proxy][http][parser]") {
  check_rejected({
      {"GET / HTTP/1.1\nHost: h\r\n\r\n", ParseError::bad_line_ending},
      {"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", ParseError::bad_line_ending},
      {"GET / HTTP/1.1\r\nHost: h\r\n\n", ParseError::bad_line_ending},
      {"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_line_ending},
  });
}

TEST_CASE("a bare LF is an error before the head is complete", "[proxy][http][parser]") {
  ParsedRequest r("GET / HTTP/1.1\nHo");
  CHECK(r.status == ParseStatus::error);
  CHECK(r.head.error == ParseError::bad_line_ending);
}

TEST_CASE("bare CR in a header line", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("X: a\rb\r\n"), ParseError::bad_line_ending},
      {with_headers("X: a\r\r\n"), ParseError::bad_line_ending},
      {with_headers("X\r: a\r\n"), ParseError::bad_line_ending},
  });
}

// A CR not followed by LF ends nothing: "GET / HTTP/1.1\rX" + "Host: h" must
// not parse, since a parser that treats CR as a line break would read an
// extra "XHost" header (a request-smuggling shape).
TEST_CASE("bare CR ending the request line", "[proxy][http][parser]") {
  check_rejected({
      {"GET / HTTP/1.1\rXHost: h\r\n\r\n", ParseError::bad_line_ending},
      {"GET / HTTP/1.1\r Host: h\r\n\r\n", ParseError::bad_line_ending},
  });
}

TEST_CASE("bare CR inside the request line", "[proxy][http][parser]") {
  check_rejected({
      // The first CR of the start line must be its CRLF.
      {"GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_line_ending},
      {"GET / HTTP/1.\r1\r\nHost: h\r\n\r\n", ParseError::bad_line_ending},
  });
}

TEST_CASE("obs-fold continuation lines", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("X: a\r\n b\r\n"), ParseError::obs_fold},
      {with_headers("X: a\r\n\tb\r\n"), ParseError::obs_fold},
      {"GET / HTTP/1.1\r\n Host: h\r\n\r\n", ParseError::obs_fold},
  });
}

TEST_CASE("bad header names", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("X-A : b\r\n"), ParseError::bad_header_name},   // whitespace before the colon
      {with_headers("X-A\t: b\r\n"), ParseError::bad_header_name},
      {with_headers(": b\r\n"), ParseError::bad_header_name},       // empty name
      {with_headers("X-A b\r\n"), ParseError::bad_header_name},     // no colon
      {with_headers("X-A\r\n"), ParseError::bad_header_name},
      {with_headers("X(A): b\r\n"), ParseError::bad_header_name},   // not a token
      {with_headers("X\xc3\xa9: b\r\n"), ParseError::bad_header_name},
  });
}

TEST_CASE("control characters in header values", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("X: a\0b\r\n"s), ParseError::bad_header_value},
      {with_headers("X: a\x7f\r\n"), ParseError::bad_header_value},
      {with_headers("X: \x01\r\n"), ParseError::bad_header_value},
      {with_headers("X: a\x1b[0m\r\n"), ParseError::bad_header_value},
  });
  ParsedRequest tab_ok(with_headers("X: a\tb\r\n"));
  CHECK(tab_ok.status == ParseStatus::complete);
}

TEST_CASE("header count limit", "[proxy][http][parser]") {
  ParseLimits limits;
  limits.max_headers = 3;
  ParsedRequest at_limit(with_headers("A: 1\r\nB: 2\r\n"), limits);
  CHECK(at_limit.status == ParseStatus::complete);
  CHECK(at_limit.head.header_count == 3);
  check_rejected({{with_headers("A: 1\r\nB: 2\r\nC: 3\r\n"), ParseError::too_many_headers}}, limits);
}

TEST_CASE("head size limit", "[proxy][http][parser]") {
  const std::string prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  auto head_of = [&](std::size_t total) {
    return prefix + std::string(total - prefix.size() - 4, 'a') + "\r\n\r\n";
  };
  ParseLimits limits;
  limits.max_head_bytes = 64;

  ParsedRequest exact(head_of(64), limits);
  CHECK(exact.status == ParseStatus::complete);
  CHECK(exact.head.head_length == 64);

  check_rejected({{head_of(65), ParseError::head_too_large}}, limits);

  // Incomplete: waiting while below the limit, rejected once it is reached.
  const std::string partial = head_of(200);
  ParsedRequest below(partial.substr(0, 63), limits);
  CHECK(below.status == ParseStatus::incomplete);
  check_rejected({{partial.substr(0, 64), ParseError::head_too_large}}, limits);
}

TEST_CASE("bad Content-Length", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("Content-Length: abc\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 12a\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length:\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: -1\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: +1\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 1 2\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 5, 5\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 0x10\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 1000000000000000000\r\n"), ParseError::bad_content_length},  // 19 digits
      {with_headers("Content-Length: 99999999999999999999999\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 5\r\nContent-Length: 5\r\n"), ParseError::bad_content_length},
      {with_headers("Content-Length: 5\r\ncontent-length: 6\r\n"), ParseError::bad_content_length},
  });
}

TEST_CASE("bad Transfer-Encoding", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("Transfer-Encoding: chunked, gzip\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: gzip\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: identity\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: chunked, chunked\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding:\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: chunked;q=1\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: xchunked\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: gz ip, chunked\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: g(zip), chunked\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
       ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), ParseError::bad_transfer_encoding},
      {with_headers("Transfer-Encoding: chunked\r\n", "POST / HTTP/1.0"), ParseError::bad_transfer_encoding},
  });
}

TEST_CASE("Content-Length together with chunked, in either order", "[proxy][http][parser]") {
  check_rejected({
      {with_headers("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), ParseError::content_length_and_chunked},
      {with_headers("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), ParseError::content_length_and_chunked},
      {with_headers("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), ParseError::content_length_and_chunked},
  });
}

TEST_CASE("Host: missing in HTTP/1.1, duplicated, or malformed", "[proxy][http][parser]") {
  check_rejected({
      {"GET / HTTP/1.1\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nX: y\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost:\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: " + std::string(256, 'a') + "\r\n\r\n", ParseError::bad_host},
      {"GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: a:evil\r\n\r\n", ParseError::bad_host},        // port not numeric
      {"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", ParseError::bad_host},       // port out of range
      {"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", ParseError::bad_host},
      {"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", ParseError::bad_host},
      {"GET http://a:evil/ HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::bad_host},  // the authority too
  });
  ParsedRequest longest("GET / HTTP/1.1\r\nHost: " + std::string(255, 'a') + "\r\n\r\n");
  CHECK(longest.status == ParseStatus::complete);
  ParsedRequest v6("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  CHECK(v6.status == ParseStatus::complete);
}

// Regression (fixed): a Host header goes through valid_host() (allowed
// characters, at most 255 bytes) but an absolute-form authority does not,
// although it replaces Host for routing and is written upstream as the Host
// line. So "Host: a@b" is a 400 while "GET http://a@b/" is routed and sent as
// "Host: a@b"; a 300-byte authority is accepted and cut to 256 bytes for
// routing, so the route can be chosen on a different name than the upstream sees.
TEST_CASE("an absolute-form authority is validated like a Host header", "[proxy][http][parser]") {
  for (const std::string& authority : {"user@h"s, "a\"b"s, "a{b}"s, "a<b>"s, std::string(300, 'a')}) {
    INFO("authority: " << authority);
    ParsedRequest r("GET http://" + authority + "/p HTTP/1.1\r\n\r\n");
    CHECK(r.status == ParseStatus::error);
    const bool host_or_target = r.head.error == ParseError::bad_host || r.head.error == ParseError::bad_target;
    CHECK(host_or_target);
  }
}

TEST_CASE("bad method token", "[proxy][http][parser]") {
  check_rejected({
      {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_method},
      {"GE\"T / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_method},
      {"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_method},
      {" / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_method},
      {"G\xc3\x89T / HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_method},
  });
}

TEST_CASE("bad request target", "[proxy][http][parser]") {
  check_rejected({
      {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},   // non-ASCII
      {"GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},
      {"GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},
      {"GET \t/ HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},           // HTAB is not SP
      {"GET   HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},             // no target
      {"GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},           // not origin-form
      {"GET * HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},             // '*' only for OPTIONS
      {"GET https://h/ HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},
      {"GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},     // empty authority
      {"GET http:// HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},
      {"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},     // authority-form
  });
}

TEST_CASE("a space inside the target ends it: the rest is not a version", "[proxy][http][parser]") {
  check_rejected({
      {"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET /a HTTP/1.1 x\r\nHost: h\r\n\r\n", ParseError::bad_version},
  });
}

TEST_CASE("bad HTTP version", "[proxy][http][parser]") {
  check_rejected({
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET / HTTP/1.2\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET / HTTP/1.10\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET /\tHTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_target},
      {"GET / \tHTTP/1.1\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET / http/1.1\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET / HTTP/1\r\nHost: h\r\n\r\n", ParseError::bad_version},
      {"GET / \r\nHost: h\r\n\r\n", ParseError::bad_version},
  });
}

TEST_CASE("bad start line", "[proxy][http][parser]") {
  check_rejected({
      {"GET\r\nHost: h\r\n\r\n", ParseError::bad_start_line},
      {"GET /\r\nHost: h\r\n\r\n", ParseError::bad_target},
      {"\r\n\r\n", ParseError::bad_start_line},
  });
}

TEST_CASE("every ParseError has a name", "[proxy][http][parser]") {
  CHECK(to_string(ParseError::none) == "none");
  CHECK(to_string(ParseError::bad_line_ending) == "bad line ending");
  CHECK(to_string(ParseError::obs_fold) == "obsolete line folding");
  CHECK(to_string(ParseError::content_length_and_chunked) == "Content-Length with Transfer-Encoding");
  CHECK(to_string(ParseError::bad_host) == "bad Host");
  CHECK(to_string(static_cast<ParseError>(200)) == "unknown");
}
