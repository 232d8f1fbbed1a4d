// Chunked body framing (proxy/http/chunked.cpp, ChunkedScanner): where the body
// ends, however the bytes arrive, and which framing is refused.
#include "http/chunked.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::proxy::http::ChunkedScanner;
using Result = ChunkedScanner::Result;
using namespace std::string_literals;

namespace {

struct Outcome {
  Result result;
  std::size_t consumed;  // total over all calls
};

// Feeds `text` in one call.
Outcome scan(ChunkedScanner& scanner, const std::string& text) {
  std::size_t consumed = 0;
  Result r = scanner.consume(text.data(), text.size(), consumed);
  return {r, consumed};
}

// Feeds `text` split at `at`; the second call only if the first needs more.
Outcome scan_split(ChunkedScanner& scanner, const std::string& text, std::size_t at) {
  std::size_t first = 0;
  Result r = scanner.consume(text.data(), at, first);
  if (r != Result::need_more) return {r, first};
  std::size_t second = 0;
  r = scanner.consume(text.data() + at, text.size() - at, second);
  return {r, first + second};
}

const char* name(Result r) {
  switch (r) {
    case Result::need_more: return "need_more";
    case Result::done: return "done";
    case Result::error: return "error";
  }
  return "?";
}

}  // namespace

TEST_CASE("a whole chunked body", "[proxy][http][chunked]") {
  const std::string body = "5\r\nhello\r\n1A\r\n" + std::string(26, 'x') + "\r\n0\r\n\r\n";
  ChunkedScanner s;
  Outcome o = scan(s, body);
  CHECK(name(o.result) == std::string("done"));
  CHECK(o.consumed == body.size());
  CHECK(s.done());
  CHECK(s.data_bytes() == 31);
}

TEST_CASE("the empty body is the last chunk alone", "[proxy][http][chunked]") {
  ChunkedScanner s;
  Outcome o = scan(s, "0\r\n\r\n");
  CHECK(o.result == Result::done);
  CHECK(o.consumed == 5);
  CHECK(s.data_bytes() == 0);
}

TEST_CASE("split at every byte position gives the same end", "[proxy][http][chunked]") {
  const std::string body = "4;name=value\r\nwiki\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: t\r\nX-More: m\r\n\r\n";
  for (std::size_t at = 0; at <= body.size(); ++at) {
    INFO("split at " << at);
    ChunkedScanner s;
    Outcome o = scan_split(s, body, at);
    CHECK(o.result == Result::done);
    CHECK(o.consumed == body.size());
    CHECK(s.data_bytes() == 14);
  }
}

TEST_CASE("one byte per call", "[proxy][http][chunked]") {
  const std::string body = "3\r\nabc\r\n2 ; e\r\nde\r\n0\r\nT: v\r\n\r\n";
  ChunkedScanner s;
  for (std::size_t i = 0; i < body.size(); ++i) {
    INFO("byte " << i);
    std::size_t consumed = 99;
    Result r = s.consume(body.data() + i, 1, consumed);
    CHECK(consumed == 1);
    CHECK(r == (i + 1 == body.size() ? Result::done : Result::need_more));
  }
  CHECK(s.data_bytes() == 5);
}

TEST_CASE("stops at the end of the body, pipelined bytes stay unconsumed", "[proxy][http][chunked]") {
  const std::string body = "5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  ChunkedScanner s;
  Outcome o = scan(s, body + next);
  CHECK(o.result == Result::done);
  CHECK(o.consumed == body.size());

  SECTION("also when the end falls in a later call") {
    ChunkedScanner t;
    Outcome split = scan_split(t, body + next, 7);
    CHECK(split.result == Result::done);
    CHECK(split.consumed == body.size());
  }
  SECTION("a scanner that is done takes nothing more") {
    std::size_t consumed = 99;
    CHECK(s.consume(next.data(), next.size(), consumed) == Result::done);
    CHECK(consumed == 0);
  }
  SECTION("reset() starts a new body") {
    s.reset();
    CHECK_FALSE(s.done());
    CHECK(s.data_bytes() == 0);
    Outcome again = scan(s, body);
    CHECK(again.result == Result::done);
    CHECK(again.consumed == body.size());
  }
}

TEST_CASE("data_bytes counts declared chunk sizes, hex in either case", "[proxy][http][chunked]") {
  ChunkedScanner s;
  std::size_t consumed = 0;
  const std::string head = "fF\r\n";
  CHECK(s.consume(head.data(), head.size(), consumed) == Result::need_more);
  CHECK(s.data_bytes() == 255);
  const std::string data(255, 'd');
  CHECK(s.consume(data.data(), data.size(), consumed) == Result::need_more);
  CHECK(consumed == 255);
  const std::string rest = "\r\n000000000000010\r\n" + std::string(16, 'e') + "\r\n0\r\n\r\n";  // 15 digits
  CHECK(s.consume(rest.data(), rest.size(), consumed) == Result::done);
  CHECK(consumed == rest.size());
  CHECK(s.data_bytes() == 271);
}

TEST_CASE("whitespace before an extension is accepted", "[proxy][http][chunked]") {
  for (const char* body : {"2 ;e\r\nde\r\n0\r\n\r\n", "2\t;e\r\nde\r\n0\r\n\r\n", "2;e=\"q v\"\r\nde\r\n0\r\n\r\n"}) {
    INFO(body);
    ChunkedScanner s;
    Outcome o = scan(s, body);
    CHECK(o.result == Result::done);
    CHECK(o.consumed == std::string(body).size());
    CHECK(s.data_bytes() == 2);
  }
}

TEST_CASE("a long but bounded extension is accepted", "[proxy][http][chunked]") {
  // The size digits and the extension share the 4096-byte bound of the line.
  ChunkedScanner s;
  CHECK(scan(s, "1;" + std::string(4095, 'e') + "\r\nx\r\n0\r\n\r\n").result == Result::done);
  ChunkedScanner t;
  CHECK(scan(t, "1;" + std::string(4096, 'e') + "\r\nx\r\n0\r\n\r\n").result == Result::error);
}

TEST_CASE("a chunk size is bounded by its value, not by its digits", "[proxy][http][chunked]") {
  // chunk-size = 1*HEXDIG: leading zeros are valid, however many.
  for (const std::string& zeros : {std::string(16, '0'), std::string(40, '0'), std::string(4000, '0')}) {
    INFO(zeros.size() << " leading zeros");
    ChunkedScanner s;
    Outcome o = scan(s, zeros + "ea\r\n" + std::string(0xea, 'd') + "\r\n" + zeros + "\r\n\r\n");
    CHECK(o.result == Result::done);
    CHECK(s.data_bytes() == 0xea);
  }
  ChunkedScanner largest;  // 2^60 - 1 is the largest size
  CHECK(scan(largest, "0fffffffffffffff\r\n").result == Result::need_more);
  CHECK(largest.data_bytes() == (std::uint64_t{1} << 60) - 1);
}

TEST_CASE("malformed framing is an error", "[proxy][http][chunked]") {
  struct Case {
    const char* what;
    std::string text;
  };
  for (const Case& c : {
           Case{"non-hex size", "z\r\nhello\r\n0\r\n\r\n"},
           Case{"non-hex after a digit", "5z\r\nhello\r\n0\r\n\r\n"},
           Case{"empty size line", "\r\n"},
           Case{"sign before the size", "+5\r\nhello\r\n0\r\n\r\n"},
           Case{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
           Case{"data longer than declared", "5\r\nhello!\r\n0\r\n\r\n"},
           Case{"no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n"},
           Case{"LF without CR after data", "5\r\nhelloX\n0\r\n\r\n"},
           Case{"CR without LF after data", "5\r\nhello\rX0\r\n\r\n"},
           Case{"bare LF after the size", "5\nhello\r\n0\r\n\r\n"},
           Case{"bare LF after data", "5\r\nhello\n0\r\n\r\n"},
           Case{"bare LF after the last chunk", "0\n\r\n"},
           Case{"bare LF ending the body", "0\r\n\n"},
           Case{"CR not followed by LF in the size line", "5\rXhello\r\n0\r\n\r\n"},
           Case{"a size of 2^60", "1000000000000000\r\nx\r\n0\r\n\r\n"},
           Case{"a size past 64 bits", "100000000000000000000\r\nx\r\n0\r\n\r\n"},
           Case{"a size line over 4096 bytes of leading zeros", std::string(4096, '0') + "1\r\nx\r\n0\r\n\r\n"},
           Case{"control character in an extension", "5;a=\x01\r\nhello\r\n0\r\n\r\n"},
           Case{"DEL in an extension", "5;a\x7f\r\nhello\r\n0\r\n\r\n"},
           Case{"NUL in an extension", "5;a\0\r\nhello\r\n0\r\n\r\n"s},
           Case{"bare LF in an extension", "5;a\nhello\r\n0\r\n\r\n"},
           Case{"obs-fold trailer", "0\r\nX: a\r\n b\r\n\r\n"},
           Case{"trailer starting with a tab", "0\r\n\tX: a\r\n\r\n"},
           Case{"control character in a trailer", "0\r\nX: a\x02\r\n\r\n"},
           Case{"bare LF ending a trailer", "0\r\nX: a\n\r\n"},
           Case{"trailer line too long", "0\r\nX: " + std::string(4096, 'a') + "\r\n\r\n"},
           Case{"garbage instead of the final CRLF", "0\r\n\rX"},
       }) {
    INFO(c.what);
    ChunkedScanner s;
    CHECK(scan(s, c.text).result == Result::error);
  }
}

TEST_CASE("an error is reported whichever call carries the bad byte", "[proxy][http][chunked]") {
  const std::string body = "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n";
  for (std::size_t at = 0; at <= body.size(); ++at) {
    INFO("split at " << at);
    ChunkedScanner s;
    CHECK(scan_split(s, body, at).result == Result::error);
  }
}
