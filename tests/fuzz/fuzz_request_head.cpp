// libFuzzer target: the request-head parser, path normalisation, the upstream
// head writer and the chunked-body scanner (tests/fuzz/README.md).
//
// Invariants checked (a violation aborts, libFuzzer reports it as a crash):
//   - parsing growing prefixes with a carried `scanned` ends exactly like
//     parsing the whole input at once;
//   - normalise_path output starts with '/', has no "." or ".." segment and is
//     no longer than its input;
//   - a head written by write_upstream_request parses `complete` again;
//   - ChunkedScanner gives the same result fed in one go or in two pieces;
//   - consume_canonical, fed in three pieces with the carry-over, decides as
//     consume does, never writes more than it consumed, and its output decodes
//     to the same chunk data and is canonical (rewriting it changes nothing);
//   - normalise_host of an accepted Host is lower-case, without a port, and
//     no longer than the Host.
#include "http/chunked.hpp"
#include "http/head_writer.hpp"
#include "http/host.hpp"
#include "http/message_head.hpp"
#include "http/path_normalise.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace http = tg::proxy::http;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_request_head: invariant violated: %s\n", what);
    std::abort();
  }
}

bool has_dot_segment(std::string_view p) {
  // A segment "." or ".." anywhere: "/./", "/../", or at the end "/." "/..".
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] != '/') { ++i; continue; }
    std::size_t end = p.find('/', i + 1);
    if (end == std::string_view::npos) end = p.size();
    std::string_view seg = p.substr(i + 1, end - i - 1);
    if (seg == "." || seg == "..") return true;
    i = end;
  }
  return false;
}

void check_normalise(std::string_view path) {
  for (bool merge : {false, true}) {
    std::unique_ptr<char[]> out(new char[path.size() + 1]);
    std::size_t length = 0;
    http::PathResult r = http::normalise_path(path, merge, out.get(), length);
    if (r == http::PathResult::invalid) continue;
    std::string_view result = r == http::PathResult::changed ? std::string_view(out.get(), length) : path;
    check(length <= path.size() || r == http::PathResult::unchanged, "normalised path longer than input");
    check(!result.empty() && result[0] == '/', "normalised path does not start with '/'");
    check(!has_dot_segment(result), "normalised path keeps a dot segment");
    if (merge) check(result.find("//") == std::string_view::npos, "merge_slashes left an empty segment");
    // Normalising is idempotent: the result normalises to itself.
    std::unique_ptr<char[]> again(new char[result.size() + 1]);
    std::size_t again_length = 0;
    http::PathResult r2 = http::normalise_path(result, merge, again.get(), again_length);
    check(r2 != http::PathResult::invalid, "normalised path is invalid");
    check(r2 == http::PathResult::unchanged ||
              std::string_view(again.get(), again_length) == result,
          "normalise_path is not idempotent");
  }
}

void check_writer(const char* data, const http::RequestHead& req) {
  std::string_view path = req.path.view(data);
  std::unique_ptr<char[]> normalised(new char[path.size() + 1]);
  if (path.empty()) {
    path = "/";
  } else if (path != "*" && path[0] == '/') {
    std::size_t length = 0;
    switch (http::normalise_path(path, false, normalised.get(), length)) {
      case http::PathResult::unchanged: break;
      case http::PathResult::changed: path = {normalised.get(), length}; break;
      case http::PathResult::invalid: return;  // answered 400 by the proxy
    }
  }
  http::UpstreamRequest in;
  in.base = data;
  in.head = &req;
  in.path = path;
  in.client_ip = "203.0.113.7";
  in.fallback_host = "10.0.0.1:8080";
  in.request_id = "fuzz-0001";
  if (req.x_request_id >= 0 && http::valid_request_id(req.headers[req.x_request_id].value.view(data))) {
    in.request_id = req.headers[req.x_request_id].value.view(data);
    in.request_id_from_client = true;
  }
  in.drop_expect = req.expect_continue;

  constexpr std::size_t kCapacity = 64 * 1024;
  std::unique_ptr<char[]> out(new char[kCapacity]);
  std::size_t n = http::write_upstream_request(out.get(), kCapacity, in);
  if (n == 0) return;
  check(n <= kCapacity, "writer overran its capacity");

  // The upstream's limits are not the proxy's: allow for the appended headers.
  http::ParseLimits limits;
  limits.max_head_bytes = kCapacity;
  limits.max_headers = 128;
  http::HeaderField fields[128];
  http::RequestHead again;
  std::size_t scanned = 0;
  http::ParseStatus st = http::parse_request(out.get(), n, scanned, limits, fields, again);
  if (st != http::ParseStatus::complete) {
    std::fprintf(stderr, "upstream head rejected (%s):\n%.*s\n", std::string(http::to_string(again.error)).c_str(),
                 static_cast<int>(n), out.get());
  }
  check(st == http::ParseStatus::complete, "the proxy wrote an upstream head it would reject");
  check(again.head_length == n, "upstream head has trailing bytes");
  check(again.chunked == req.chunked, "upstream head changed chunked framing");
  check(again.content_length == req.content_length, "upstream head changed Content-Length");
}

void check_chunked(const char* data, std::size_t size) {
  http::ChunkedScanner one;
  std::size_t consumed_one = 0;
  http::ChunkedScanner::Result r1 = one.consume(data, size, consumed_one);
  check(consumed_one <= size, "chunked consumed more than given");

  http::ChunkedScanner two;
  std::size_t half = size / 2, a = 0, b = 0;
  http::ChunkedScanner::Result r2 = two.consume(data, half, a);
  check(a <= half, "chunked consumed more than given (first half)");
  if (r2 == http::ChunkedScanner::Result::need_more) {
    check(a == half, "chunked needs more but did not consume everything");
    r2 = two.consume(data + half, size - half, b);
  }
  check(r1 == r2, "chunked result differs when split");
  if (r1 != http::ChunkedScanner::Result::error) {
    check(consumed_one == a + b, "chunked consumed differs when split");
    check(one.data_bytes() == two.data_bytes(), "chunked data_bytes differs when split");
  }
}

// The chunk data of a complete chunked body (empty string when not done).
std::string decode_all(std::string body, bool& done) {
  http::ChunkedScanner s;
  std::size_t consumed = 0, decoded = 0;
  done = s.consume_decoding(body.data(), body.size(), consumed, decoded) == http::ChunkedScanner::Result::done;
  return body.substr(0, decoded);
}

// Feeds `data` to consume_canonical in pieces ending at `cut1`, `cut2` and
// `size`, keeping unconsumed bytes in front of the next piece as a connection
// buffer does. Returns the result; `out` gets the canonical bytes, `consumed`
// the body bytes taken.
http::ChunkedScanner::Result canonical_pass(const char* data, std::size_t size, std::size_t cut1, std::size_t cut2,
                                            std::string& out, std::size_t& consumed) {
  http::ChunkedScanner s;
  std::string buffer;
  std::size_t fed = 0;
  consumed = 0;
  http::ChunkedScanner::Result r = http::ChunkedScanner::Result::need_more;
  for (std::size_t end : {cut1, cut2, size}) {
    if (end < fed) continue;
    buffer.append(data + fed, end - fed);
    fed = end;
    std::size_t take = 0, canonical = 0;
    r = s.consume_canonical(buffer.data(), buffer.size(), take, canonical);
    check(take <= buffer.size(), "canonical consumed more than given");
    if (r == http::ChunkedScanner::Result::error) return r;
    check(canonical <= take, "canonical output longer than its input");
    check(r != http::ChunkedScanner::Result::need_more || take + 1 >= buffer.size(),
          "canonical kept back more than one byte");
    out.append(buffer.data(), canonical);
    consumed += take;
    buffer.erase(0, take);
    if (r == http::ChunkedScanner::Result::done) return r;
  }
  return r;
}

void check_canonical(const char* data, std::size_t size) {
  http::ChunkedScanner plain;
  std::size_t consumed_plain = 0;
  const http::ChunkedScanner::Result expected = plain.consume(data, size, consumed_plain);

  const std::size_t cut1 = size / 3, cut2 = size - size / 4;
  std::string out;
  std::size_t consumed = 0;
  const http::ChunkedScanner::Result r = canonical_pass(data, size, cut1, cut2, out, consumed);
  check(r == expected, "canonical result differs from consume");
  if (r != http::ChunkedScanner::Result::done) return;
  check(consumed == consumed_plain, "canonical consumed differs from consume");
  bool done_in = false, done_out = false;
  const std::string data_in = decode_all(std::string(data, consumed), done_in);
  const std::string data_out = decode_all(out, done_out);
  check(done_in && done_out, "canonical output is not a complete chunked body");
  check(data_in == data_out, "canonical output decodes to other data");
  std::string again;
  std::size_t again_consumed = 0;
  check(canonical_pass(out.data(), out.size(), out.size(), out.size(), again, again_consumed) ==
                http::ChunkedScanner::Result::done &&
            again == out,
        "canonical output is not canonical");
}

void check_host(std::string_view host) {
  char buffer[256];
  const std::string_view n = http::normalise_host(host, buffer, sizeof buffer);
  check(n.size() <= host.size(), "normalised host longer than the Host");
  for (char c : n) check(!(c >= 'A' && c <= 'Z'), "normalised host has an upper-case letter");
  if (!n.empty() && n.front() != '[') check(n.find(':') == std::string_view::npos, "normalised host keeps a port");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  const http::ParseLimits limits{};

  http::HeaderField fields[100];
  http::RequestHead whole;
  std::size_t scanned = 0;
  const http::ParseStatus status = http::parse_request(data, size, scanned, limits, fields, whole);
  check(status != http::ParseStatus::complete || whole.head_length <= size, "head_length beyond input");

  // Incrementally on growing prefixes of the same buffer, carrying `scanned`.
  {
    http::HeaderField inc_fields[100];
    http::RequestHead inc;
    std::size_t inc_scanned = 0;
    http::ParseStatus inc_status = http::ParseStatus::incomplete;
    const std::size_t step = size > 2048 ? 7 : 1;
    std::size_t len = 0;
    while (true) {
      len = len + step < size ? len + step : size;
      inc = http::RequestHead{};
      inc_status = http::parse_request(data, len, inc_scanned, limits, inc_fields, inc);
      if (inc_status != http::ParseStatus::incomplete || len == size) break;
    }
    check(inc_status == status, "incremental status differs from one-shot");
    check(inc.error == whole.error, "incremental error differs from one-shot");
    if (status == http::ParseStatus::complete) {
      check(inc.head_length == whole.head_length, "incremental head_length differs from one-shot");
      check(inc.header_count == whole.header_count, "incremental header_count differs");
      check(inc.content_length == whole.content_length, "incremental content_length differs");
      check(inc.chunked == whole.chunked, "incremental chunked differs");
    }
  }

  if (status == http::ParseStatus::complete) {
    std::string_view path = whole.path.view(data);
    if (!path.empty() && path[0] == '/') check_normalise(path);
    check_writer(data, whole);
    // The body after the head, as a chunked body.
    check_chunked(data + whole.head_length, size - whole.head_length);
    check_canonical(data + whole.head_length, size - whole.head_length);
    if (!whole.host.empty()) check_host(whole.host.view(data));
    (void)http::has_encoded_slash(path);
  }
  check_chunked(data, size);
  check_canonical(data, size);
  return 0;
}
