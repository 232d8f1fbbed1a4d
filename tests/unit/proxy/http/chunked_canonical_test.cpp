// consume_canonical (proxy/http/chunked.cpp): chunked bodies rewritten in
// place into canonical framing, whichever way the bytes are split, with the
// same accept/reject decisions as the plain scanner.
#include "http/chunked.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using tg::proxy::http::ChunkedScanner;
using Result = ChunkedScanner::Result;

namespace {

struct Forwarded {
  Result result = Result::need_more;
  std::string out;        // what would be forwarded
  std::size_t consumed = 0;  // body bytes taken from the input
};

// Feeds `body` in pieces ending at `cuts` (then the rest), the way a
// connection buffer does: unconsumed bytes stay in front of the next read.
Forwarded forward(const std::string& body, const std::vector<std::size_t>& cuts) {
  ChunkedScanner scanner;
  Forwarded f;
  std::string buffer;
  std::size_t fed = 0;
  auto feed_to = [&](std::size_t end) {
    buffer.append(body, fed, end - fed);
    fed = end;
    std::size_t consumed = 0, canonical = 0;
    f.result = scanner.consume_canonical(buffer.data(), buffer.size(), consumed, canonical);
    if (f.result == Result::error) return false;
    REQUIRE(canonical <= consumed);
    f.out.append(buffer.data(), canonical);
    f.consumed += consumed;
    buffer.erase(0, consumed);
    return f.result == Result::need_more;
  };
  for (std::size_t cut : cuts)
    if (cut > fed && cut <= body.size() && !feed_to(cut)) return f;
  if (fed < body.size() || !buffer.empty()) feed_to(body.size());
  return f;
}

// The chunk data of a complete chunked body, by the decoding scanner.
std::string decoded_data(std::string body) {
  ChunkedScanner scanner;
  std::size_t consumed = 0, decoded = 0;
  if (scanner.consume_decoding(body.data(), body.size(), consumed, decoded) != Result::done) return "<not done>";
  return body.substr(0, decoded);
}

}  // namespace

TEST_CASE("consume_canonical writes sizes in lower-case hex without zeros or extensions", "[proxy][http][chunked]") {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : {
           Case{"5\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n"},
           Case{"00005\r\nhello\r\n0000\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n"},
           Case{"0000000000000000000000000000000A\r\n0123456789\r\n0\r\n\r\n", "a\r\n0123456789\r\n0\r\n\r\n"},
           Case{"5;name=value\r\nhello\r\n0;last\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n"},
           Case{"5 ;a\r\nhello\r\n0\t;b=\"q v\"\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n"},
           Case{"10\r\n0123456789abcdef\r\n0\r\nX-Sum: 1\r\nY: z\r\n\r\n",
                "10\r\n0123456789abcdef\r\n0\r\nX-Sum: 1\r\nY: z\r\n\r\n"},
           Case{"0\r\n\r\n", "0\r\n\r\n"},
           Case{"000;e\r\n\r\n", "0\r\n\r\n"},
       }) {
    INFO(c.in);
    Forwarded f = forward(c.in, {});
    CHECK(f.result == Result::done);
    CHECK(f.out == c.out);
    CHECK(f.consumed == std::string(c.in).size());
  }
}

TEST_CASE("consume_canonical gives the same output at every split, and every pair of splits", "[proxy][http][chunked]") {
  const std::string body = "000A;ext=1\r\n0123456789\r\n01 \r\nx\r\n000\r\nT: v\r\n\r\n";
  const std::string expected = "a\r\n0123456789\r\n1\r\nx\r\n0\r\nT: v\r\n\r\n";
  for (std::size_t a = 0; a <= body.size(); ++a) {
    for (std::size_t b = a; b <= body.size(); ++b) {
      INFO("split at " << a << " and " << b);
      Forwarded f = forward(body, {a, b});
      REQUIRE(f.result == Result::done);
      REQUIRE(f.out == expected);
      REQUIRE(f.consumed == body.size());
    }
  }
}

TEST_CASE("consume_canonical one byte per read", "[proxy][http][chunked]") {
  const std::string body = "0000;a\r\n\r\n";  // the last chunk, all zeros: the carried-over '0' case
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  Forwarded f = forward(body, cuts);
  CHECK(f.result == Result::done);
  CHECK(f.out == "0\r\n\r\n");
}

TEST_CASE("consume_canonical keeps back only the last '0' of an all-zero size", "[proxy][http][chunked]") {
  ChunkedScanner s;
  std::string first = "3\r\nabc\r\n000";
  std::size_t consumed = 0, canonical = 0;
  CHECK(s.consume_canonical(first.data(), first.size(), consumed, canonical) == Result::need_more);
  CHECK(consumed == first.size() - 1);
  CHECK(first.substr(0, canonical) == "3\r\nabc\r\n");

  std::string second = "0\r\n\r\n";  // the kept '0' in front of the next bytes
  CHECK(s.consume_canonical(second.data(), second.size(), consumed, canonical) == Result::done);
  CHECK(consumed == second.size());
  CHECK(second.substr(0, canonical) == "0\r\n\r\n");

  // A size that is not zero is written as its digits arrive: nothing kept.
  ChunkedScanner t;
  std::string part = "00e";
  CHECK(t.consume_canonical(part.data(), part.size(), consumed, canonical) == Result::need_more);
  CHECK(consumed == 3);
  CHECK(part.substr(0, canonical) == "e");
}

TEST_CASE("consume_canonical stops at the end of the body and counts data bytes", "[proxy][http][chunked]") {
  std::string body = "0003\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  ChunkedScanner s;
  std::size_t consumed = 0, canonical = 0;
  CHECK(s.consume_canonical(body.data(), body.size(), consumed, canonical) == Result::done);
  CHECK(consumed == 16);
  CHECK(body.substr(0, canonical) == "3\r\nabc\r\n0\r\n\r\n");
  CHECK(s.data_bytes() == 3);
  CHECK(body.substr(consumed) == "GET / HTTP/1.1\r\n");
}

TEST_CASE("consume_canonical refuses what consume refuses", "[proxy][http][chunked]") {
  for (const std::string& bad : {std::string("z\r\n"), std::string("5\nhello\r\n0\r\n\r\n"),
                                 std::string("1000000000000000\r\n"), std::string("0\r\n\tX: a\r\n\r\n"),
                                 std::string("5;a=\x01\r\nhello\r\n0\r\n\r\n"), std::string("3\r\nabcX")}) {
    INFO(bad);
    ChunkedScanner plain;
    std::size_t consumed = 0;
    CHECK(plain.consume(bad.data(), bad.size(), consumed) == Result::error);
    CHECK(forward(bad, {}).result == Result::error);
  }
}

// Random bodies made of valid and invalid pieces, split at random places:
// the canonical pass decides as the plain scanner does, and its output, when
// the body is accepted, decodes to the same data and is itself canonical.
TEST_CASE("consume_canonical agrees with consume on random bodies", "[proxy][http][chunked]") {
  std::mt19937 rng(20261202);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* sizes[] = {"0", "00", "1", "01", "0001", "A", "0a", "F", "10", "010", "ff", "zz", ""};
  const char* exts[] = {"", "", ";x", " ;y=1", "\t;q=\"a b\"", ";\x01", " "};
  const char* endings[] = {"\r\n", "\r\n", "\r\n", "\n", "\r"};
  int accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string body;
    const int chunks = pick(4);
    for (int k = 0; k < chunks; ++k) {
      std::string size = sizes[pick(13)];
      unsigned long n = std::strtoul(size.c_str(), nullptr, 16);
      if (size == "zz") {
        n = 1;
      } else if (n == 0) {
        size += "1";  // a zero size would end the body here
        n = 1;
      }
      body += std::string(pick(3) == 0 ? "000" : "") + size + exts[pick(7)] + endings[pick(5)];
      body += std::string(n, static_cast<char>('a' + k)) + endings[pick(5)];
    }
    body += std::string(pick(2) ? "0" : "0000") + exts[pick(7)] + endings[pick(5)];
    if (pick(2)) body += "T: v\r\n";
    body += endings[pick(5)];
    if (pick(8) == 0) body[static_cast<std::size_t>(pick(static_cast<int>(body.size())))] = sizes[pick(13)][0];

    ChunkedScanner plain;
    std::size_t consumed = 0;
    const Result expected = plain.consume(body.data(), body.size(), consumed);
    std::vector<std::size_t> cuts{static_cast<std::size_t>(pick(static_cast<int>(body.size()) + 1)),
                                  static_cast<std::size_t>(pick(static_cast<int>(body.size()) + 1))};
    if (cuts[0] > cuts[1]) std::swap(cuts[0], cuts[1]);
    Forwarded f = forward(body, cuts);
    INFO(body);
    REQUIRE(f.result == expected);
    if (expected != Result::done) continue;
    ++accepted;
    REQUIRE(f.consumed == consumed);
    REQUIRE(decoded_data(f.out) == decoded_data(body.substr(0, consumed)));
    REQUIRE(forward(f.out, {}).out == f.out);  // canonical output is a fixed point
  }
  CHECK(accepted > 300);  // enough accepted bodies for the comparison to mean something
}
