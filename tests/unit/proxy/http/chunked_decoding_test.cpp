#include "http/chunked.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::proxy::http::ChunkedScanner;

namespace {
// Feeds `body` split at `split` through consume_decoding, as the proxy does
// with successive reads into a buffer; returns the decoded bytes.
std::string decode(const std::string& body, std::size_t split, ChunkedScanner::Result& last) {
  ChunkedScanner scanner;
  std::string out;
  for (std::size_t begin = 0; begin < body.size();) {
    const std::size_t end = std::min(body.size(), begin == 0 ? split : body.size());
    std::string part = body.substr(begin, end - begin);
    std::size_t consumed = 0, decoded = 0;
    last = scanner.consume_decoding(part.data(), part.size(), consumed, decoded);
    out.append(part.data(), decoded);
    if (last != ChunkedScanner::Result::need_more) break;
    begin += consumed;
  }
  return out;
}
}  // namespace

TEST_CASE("consume_decoding removes the framing in place at every split", "[proxy][http][chunked]") {
  const std::string body = "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n";
  for (std::size_t split = 1; split <= body.size(); ++split) {
    ChunkedScanner::Result last{};
    CHECK(decode(body, split, last) == "hello world!");
    CHECK(last == ChunkedScanner::Result::done);
  }
}

TEST_CASE("consume_decoding stops at the end and reports errors like consume", "[proxy][http][chunked]") {
  std::string body = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  ChunkedScanner scanner;
  std::size_t consumed = 0, decoded = 0;
  CHECK(scanner.consume_decoding(body.data(), body.size(), consumed, decoded) == ChunkedScanner::Result::done);
  CHECK(consumed == 13);
  CHECK(std::string(body.data(), decoded) == "abc");

  std::string bad = "3\r\nabcX\r\n";
  ChunkedScanner other;
  CHECK(other.consume_decoding(bad.data(), bad.size(), consumed, decoded) == ChunkedScanner::Result::error);
}
