// Request heads that parse (proxy/http/parser.cpp, parse_request): start-line
// forms, incremental feeding, header spans and what the parser derives from them.
#include "parse_helpers.hpp"

#include <catch2/catch.hpp>

#include <iterator>
#include <memory>
#include <string>
#include <vector>

using namespace tg::proxy::http;
using tg::proxy::http::test::ParsedRequest;

TEST_CASE("origin-form GET with a query", "[proxy][http][parser]") {
  const std::string head = "GET /search/items?q=1&x=y HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n";
  ParsedRequest r(head);
  REQUIRE(r.status == ParseStatus::complete);
  const RequestHead& h = r.head;
  CHECK(h.error == ParseError::none);
  CHECK(h.head_length == head.size());
  CHECK(h.version_minor == 1);
  CHECK(r.view(h.method) == "GET");
  CHECK(h.method_id == Method::get);
  CHECK(r.view(h.target) == "/search/items?q=1&x=y");
  CHECK(r.view(h.path) == "/search/items");
  CHECK(r.view(h.query) == "q=1&x=y");
  CHECK(r.view(h.host) == "example.com");
  CHECK(h.header_count == 2);
  CHECK_FALSE(h.absolute_form);
  CHECK(h.headers == r.fields.data());
  CHECK(h.content_length == -1);
  CHECK_FALSE(h.chunked);
  CHECK(h.keep_alive_requested());
  CHECK(h.x_forwarded_for == -1);
  CHECK(h.x_request_id == -1);
  CHECK_FALSE(h.expect_continue);
}

TEST_CASE("a target without a query, or with a bare '?', has an empty query", "[proxy][http][parser]") {
  ParsedRequest plain("GET /a/b HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(plain.status == ParseStatus::complete);
  CHECK(plain.view(plain.head.path) == "/a/b");
  CHECK(plain.head.query.empty());

  ParsedRequest bare("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(bare.status == ParseStatus::complete);
  CHECK(bare.view(bare.head.path) == "/a");
  CHECK(bare.head.query.empty());
  CHECK(bare.view(bare.head.target) == "/a?");
}

TEST_CASE("head_length stops at the empty line, pipelined bytes are not part of the head",
          "[proxy][http][parser]") {
  const std::string head = "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  ParsedRequest r(head + "helloGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.head.head_length == head.size());
  CHECK(r.head.content_length == 5);
  CHECK(r.head.method_id == Method::post);
}

TEST_CASE("absolute-form sets host (with port), path and query", "[proxy][http][parser]") {
  ParsedRequest r("GET http://host:8080/p?q HTTP/1.1\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.view(r.head.host) == "host:8080");
  CHECK(r.view(r.head.path) == "/p");
  CHECK(r.view(r.head.query) == "q");
  CHECK(r.view(r.head.target) == "http://host:8080/p?q");
  CHECK(r.head.absolute_form);

  SECTION("the scheme is case-insensitive") {
    ParsedRequest upper("GET HTTP://Host/x HTTP/1.1\r\n\r\n");
    REQUIRE(upper.status == ParseStatus::complete);
    CHECK(upper.view(upper.head.host) == "Host");
    CHECK(upper.view(upper.head.path) == "/x");
  }
  SECTION("no path: the path is empty, the query still found") {
    ParsedRequest no_path("GET http://h?x=1 HTTP/1.1\r\n\r\n");
    REQUIRE(no_path.status == ParseStatus::complete);
    CHECK(no_path.view(no_path.head.host) == "h");
    CHECK(no_path.head.path.empty());
    CHECK(no_path.view(no_path.head.query) == "x=1");
  }
  SECTION("the authority wins over a Host header") {
    ParsedRequest both("GET http://a.example/p HTTP/1.1\r\nHost: b.example\r\n\r\n");
    REQUIRE(both.status == ParseStatus::complete);
    CHECK(both.view(both.head.host) == "a.example");
    CHECK(both.head.absolute_form);
    CHECK(both.head.header_count == 1);
  }
}

TEST_CASE("OPTIONS * is accepted with path '*'", "[proxy][http][parser]") {
  ParsedRequest r("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.head.method_id == Method::options);
  CHECK(r.view(r.head.path) == "*");
  CHECK(r.head.query.empty());
}

TEST_CASE("HTTP/1.0 needs no Host and does not keep alive by default", "[proxy][http][parser]") {
  ParsedRequest r("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.head.version_minor == 0);
  CHECK(r.head.host.empty());
  CHECK(r.head.header_count == 0);
  CHECK_FALSE(r.head.keep_alive_requested());
}

TEST_CASE("runs of SP between the parts of the request line are one separator", "[proxy][http][parser]") {
  for (const char* text : {"GET /x  HTTP/1.1\r\nHost: h\r\n\r\n", "GET  /x HTTP/1.1\r\nHost: h\r\n\r\n",
                           "GET     /x     HTTP/1.1\r\nHost: h\r\n\r\n"}) {
    INFO(text);
    ParsedRequest r(text);
    REQUIRE(r.status == ParseStatus::complete);
    CHECK(r.view(r.head.method) == "GET");
    CHECK(r.view(r.head.target) == "/x");
    CHECK(r.view(r.head.path) == "/x");
    CHECK(r.head.version_minor == 1);
  }
}

TEST_CASE("a Host with a trailing dot or an empty port is accepted as sent", "[proxy][http][parser]") {
  ParsedRequest dot("GET / HTTP/1.1\r\nHost: acme.localhost.\r\n\r\n");
  REQUIRE(dot.status == ParseStatus::complete);
  CHECK(dot.view(dot.head.host) == "acme.localhost.");
  ParsedRequest port("GET / HTTP/1.1\r\nHost: acme.localhost:\r\n\r\n");
  CHECK(port.status == ParseStatus::complete);
}

TEST_CASE("one empty line before the request line is skipped", "[proxy][http][parser]") {
  ParsedRequest r("\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.view(r.head.method) == "GET");
  CHECK(r.view(r.head.path) == "/x");
  CHECK(r.head.head_length == r.text.size());
}

TEST_CASE("incremental parsing: one more byte per call, reusing scanned", "[proxy][http][parser]") {
  const std::string head =
      "PUT /obj?v=2 HTTP/1.1\r\nHost: store.example\r\nContent-Length: 3\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
  const std::string text = head + "abc";
  std::vector<HeaderField> fields(ParseLimits{}.max_headers);
  RequestHead out;
  std::size_t scanned = 0;
  for (std::size_t n = 1; n < head.size(); ++n) {
    INFO("bytes fed: " << n);
    REQUIRE(parse_request(text.data(), n, scanned, {}, fields.data(), out) == ParseStatus::incomplete);
    REQUIRE(scanned <= n);
  }
  REQUIRE(parse_request(text.data(), head.size(), scanned, {}, fields.data(), out) == ParseStatus::complete);
  CHECK(out.head_length == head.size());
  CHECK(out.method_id == Method::put);
  CHECK(out.path.view(text.data()) == "/obj");
  CHECK(out.query.view(text.data()) == "v=2");
  CHECK(out.host.view(text.data()) == "store.example");
  CHECK(out.content_length == 3);
  CHECK(out.header_count == 3);
  CHECK(out.x_forwarded_for == 2);
}

TEST_CASE("incremental parsing with pipelined bytes already in the buffer", "[proxy][http][parser]") {
  const std::string first = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string text = first + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  std::vector<HeaderField> fields(ParseLimits{}.max_headers);
  RequestHead out;
  std::size_t scanned = 0;
  REQUIRE(parse_request(text.data(), 10, scanned, {}, fields.data(), out) == ParseStatus::incomplete);
  REQUIRE(parse_request(text.data(), text.size(), scanned, {}, fields.data(), out) == ParseStatus::complete);
  CHECK(out.head_length == first.size());
  CHECK(out.path.view(text.data()) == "/1");

  // The next message starts at head_length with its own scan position.
  const char* next = text.data() + out.head_length;
  std::size_t next_scanned = 0;
  REQUIRE(parse_request(next, text.size() - first.size(), next_scanned, {}, fields.data(), out) ==
          ParseStatus::complete);
  CHECK(out.path.view(next) == "/2");
}

TEST_CASE("header spans: name as sent, value trimmed, line with its CRLF", "[proxy][http][parser]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\n"
      "Host:h\r\n"
      "X-Custom: \t spaced  value \t\r\n"
      "X-Empty:\r\n"
      "X-Blank:   \r\n"
      "x-obs-text: caf\xc3\xa9\r\n"
      "\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  REQUIRE(r.head.header_count == 5);
  CHECK(r.name(0) == "Host");
  CHECK(r.value(0) == "h");
  CHECK(r.line(0) == "Host:h\r\n");
  CHECK(r.name(1) == "X-Custom");
  CHECK(r.value(1) == "spaced  value");
  CHECK(r.line(1) == "X-Custom: \t spaced  value \t\r\n");
  CHECK(r.name(2) == "X-Empty");
  CHECK(r.value(2).empty());
  CHECK(r.fields[2].value.empty());
  CHECK(r.name(3) == "X-Blank");
  CHECK(r.value(3).empty());
  CHECK(r.name(4) == "x-obs-text");
  CHECK(r.value(4) == "caf\xc3\xa9");
  for (std::size_t i = 0; i < 5; ++i) CHECK(r.kind(i) == (i == 0 ? HeaderKind::host : HeaderKind::other));
}

TEST_CASE("header kinds are classified case-insensitively", "[proxy][http][parser]") {
  ParsedRequest r(
      "POST / HTTP/1.1\r\n"
      "hOsT: h\r\n"
      "TRANSFER-encoding: chunked\r\n"
      "connection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "te: trailers\r\n"
      "UPGRADE: h2c\r\n"
      "x-forwarded-for: 1.1.1.1\r\n"
      "X-Forwarded-Proto: https\r\n"
      "X-Request-ID: abc\r\n"
      "EXPECT: 100-continue\r\n"
      "Hosts: not-host\r\n"
      "X-Request-Idx: 1\r\n"
      "Tee: x\r\n"
      "\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  const HeaderKind expected[] = {
      HeaderKind::host,        HeaderKind::transfer_encoding, HeaderKind::connection,
      HeaderKind::keep_alive,  HeaderKind::proxy_connection,  HeaderKind::te,
      HeaderKind::upgrade,     HeaderKind::x_forwarded_for,   HeaderKind::x_forwarded_proto,
      HeaderKind::x_request_id, HeaderKind::expect,           HeaderKind::other,
      HeaderKind::other,       HeaderKind::other,
  };
  REQUIRE(r.head.header_count == std::size(expected));
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    INFO("header " << i << ": " << r.name(i));
    CHECK(r.kind(i) == expected[i]);
  }
  CHECK(r.head.chunked);

  ParsedRequest cl("POST / HTTP/1.1\r\nHost: h\r\nContent-LENGTH: 12\r\n\r\n");
  REQUIRE(cl.status == ParseStatus::complete);
  CHECK(cl.kind(1) == HeaderKind::content_length);
  CHECK(cl.head.content_length == 12);
}

TEST_CASE("Content-Length values that parse", "[proxy][http][parser]") {
  struct Case {
    const char* value;
    std::int64_t expected;
  };
  for (Case c : {Case{"0", 0}, Case{"  42  ", 42}, Case{"007", 7}, Case{"999999999999999999", 999999999999999999}}) {
    INFO(c.value);
    ParsedRequest r(std::string("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + c.value + "\r\n\r\n");
    REQUIRE(r.status == ParseStatus::complete);
    CHECK(r.head.content_length == c.expected);
    CHECK_FALSE(r.head.chunked);
  }
}

TEST_CASE("Transfer-Encoding values ending in one chunked", "[proxy][http][parser]") {
  for (const char* value : {"chunked", "Chunked", "gzip, chunked", "gzip,chunked", " deflate , CHUNKED "}) {
    INFO(value);
    ParsedRequest r(std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + value + "\r\n\r\n");
    REQUIRE(r.status == ParseStatus::complete);
    CHECK(r.head.chunked);
    CHECK(r.head.content_length == -1);
  }
}

TEST_CASE("Connection tokens", "[proxy][http][parser]") {
  auto parse = [](std::string version, std::string connection_lines) {
    return std::make_unique<ParsedRequest>("GET / HTTP/1." + version + "\r\nHost: h\r\n" + connection_lines + "\r\n");
  };
  SECTION("close") {
    auto r = parse("1", "Connection: close\r\n");
    REQUIRE(r->status == ParseStatus::complete);
    CHECK(r->head.connection_close);
    CHECK_FALSE(r->head.connection_keep_alive);
    CHECK_FALSE(r->head.connection_upgrade);
    CHECK_FALSE(r->head.connection_lists_others);
    CHECK_FALSE(r->head.keep_alive_requested());
  }
  SECTION("keep-alive on HTTP/1.0, any case") {
    auto r = parse("0", "Connection: Keep-Alive\r\n");
    REQUIRE(r->status == ParseStatus::complete);
    CHECK(r->head.connection_keep_alive);
    CHECK_FALSE(r->head.connection_close);
    CHECK_FALSE(r->head.connection_lists_others);
    CHECK(r->head.keep_alive_requested());
  }
  SECTION("HTTP/1.0 close stays closed") {
    auto r = parse("0", "Connection: close\r\n");
    REQUIRE(r->status == ParseStatus::complete);
    CHECK_FALSE(r->head.keep_alive_requested());
  }
  SECTION("HTTP/1.1 keeps alive unless close is listed, even next to keep-alive") {
    auto none = parse("1", "");
    REQUIRE(none->status == ParseStatus::complete);
    CHECK(none->head.keep_alive_requested());
    auto both = parse("1", "Connection: keep-alive, close\r\n");
    REQUIRE(both->status == ParseStatus::complete);
    CHECK(both->head.connection_keep_alive);
    CHECK(both->head.connection_close);
    CHECK_FALSE(both->head.keep_alive_requested());
  }
  SECTION("upgrade") {
    auto r = parse("1", "Connection: UPGRADE\r\nUpgrade: websocket\r\n");
    REQUIRE(r->status == ParseStatus::complete);
    CHECK(r->head.connection_upgrade);
    CHECK_FALSE(r->head.connection_lists_others);
  }
  SECTION("other names, empty list members, several Connection headers") {
    auto r = parse("1", "Connection: , X-Foo ,,\r\nConnection: close\r\n");
    REQUIRE(r->status == ParseStatus::complete);
    CHECK(r->head.connection_lists_others);
    CHECK(r->head.connection_close);
    CHECK_FALSE(r->head.connection_keep_alive);
  }
  SECTION("an empty Connection header lists nothing") {
    auto r = parse("1", "Connection:\r\n");
    REQUIRE(r->status == ParseStatus::complete);
    CHECK_FALSE(r->head.connection_lists_others);
    CHECK_FALSE(r->head.connection_close);
    CHECK(r->head.keep_alive_requested());
  }
}

TEST_CASE("indices of the first X-Request-Id and X-Forwarded-For", "[proxy][http][parser]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\n"
      "Host: h\r\n"
      "X-Request-Id: first\r\n"
      "X-Forwarded-For: 1.1.1.1\r\n"
      "x-request-id: second\r\n"
      "X-FORWARDED-FOR: 2.2.2.2\r\n"
      "\r\n");
  REQUIRE(r.status == ParseStatus::complete);
  REQUIRE(r.head.x_request_id == 1);
  REQUIRE(r.head.x_forwarded_for == 2);
  CHECK(r.value(static_cast<std::size_t>(r.head.x_request_id)) == "first");
  CHECK(r.value(static_cast<std::size_t>(r.head.x_forwarded_for)) == "1.1.1.1");
}

TEST_CASE("Expect: 100-continue, case-insensitive and exact", "[proxy][http][parser]") {
  ParsedRequest yes("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
  REQUIRE(yes.status == ParseStatus::complete);
  CHECK(yes.head.expect_continue);
  ParsedRequest other("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue-ish\r\n\r\n");
  REQUIRE(other.status == ParseStatus::complete);
  CHECK_FALSE(other.head.expect_continue);
  ParsedRequest none("POST / HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(none.status == ParseStatus::complete);
  CHECK_FALSE(none.head.expect_continue);
}

TEST_CASE("methods are classified case-sensitively and idempotent() follows RFC 9110", "[proxy][http][parser]") {
  struct Case {
    const char* method;
    Method id;
    bool idempotent;
  };
  for (Case c : {Case{"GET", Method::get, true}, Case{"HEAD", Method::head, true}, Case{"PUT", Method::put, true},
                 Case{"DELETE", Method::delete_, true}, Case{"OPTIONS", Method::options, true},
                 Case{"TRACE", Method::trace, true}, Case{"POST", Method::post, false},
                 Case{"PATCH", Method::patch, false}, Case{"PURGE", Method::other, false},
                 Case{"get", Method::other, false}, Case{"GETS", Method::other, false}}) {
    INFO(c.method);
    ParsedRequest r(std::string(c.method) + " / HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(r.status == ParseStatus::complete);
    CHECK(r.view(r.head.method) == c.method);
    CHECK(r.head.method_id == c.id);
    CHECK(r.head.idempotent() == c.idempotent);
  }
  RequestHead connect;
  connect.method_id = Method::connect;
  CHECK_FALSE(connect.idempotent());
}

TEST_CASE("iequals and for_each_token", "[proxy][http][parser]") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK_FALSE(iequals("Content-Lengt", "content-length"));
  CHECK_FALSE(iequals("content-length", "Content-Length"));  // the second argument must be lower-case
  std::vector<std::string> tokens;
  for_each_token(" a ,\tb\t,, , c", [&](std::string_view t) { tokens.emplace_back(t); });
  CHECK(tokens == std::vector<std::string>{"a", "b", "c"});
  tokens.clear();
  for_each_token(" , ,", [&](std::string_view t) { tokens.emplace_back(t); });
  CHECK(tokens.empty());
}
