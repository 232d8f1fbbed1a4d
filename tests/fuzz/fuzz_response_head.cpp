// libFuzzer target: the response-head parser, one-shot vs incremental
// (tests/fuzz/README.md). A difference aborts.
#include "http/message_head.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace http = tg::proxy::http;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_response_head: invariant violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  const http::ParseLimits limits{};

  http::HeaderField fields[100];
  http::ResponseHead whole;
  std::size_t scanned = 0;
  const http::ParseStatus status = http::parse_response(data, size, scanned, limits, fields, whole);
  if (status == http::ParseStatus::complete) {
    check(whole.head_length <= size, "head_length beyond input");
    check(whole.status >= 100 && whole.status <= 999, "status out of range");
    check(whole.header_count <= limits.max_headers, "too many headers accepted");
  }

  http::HeaderField inc_fields[100];
  http::ResponseHead inc;
  std::size_t inc_scanned = 0;
  http::ParseStatus inc_status = http::ParseStatus::incomplete;
  const std::size_t step = size > 2048 ? 7 : 1;
  std::size_t len = 0;
  while (true) {
    len = len + step < size ? len + step : size;
    inc = http::ResponseHead{};
    inc_status = http::parse_response(data, len, inc_scanned, limits, inc_fields, inc);
    if (inc_status != http::ParseStatus::incomplete || len == size) break;
  }
  check(inc_status == status, "incremental status differs from one-shot");
  check(inc.error == whole.error, "incremental error differs from one-shot");
  if (status == http::ParseStatus::complete) {
    check(inc.head_length == whole.head_length, "incremental head_length differs");
    check(inc.status == whole.status, "incremental status code differs");
    check(inc.header_count == whole.header_count, "incremental header_count differs");
    check(inc.content_length == whole.content_length, "incremental content_length differs");
    check(inc.chunked == whole.chunked, "incremental chunked differs");
  }
  return 0;
}
