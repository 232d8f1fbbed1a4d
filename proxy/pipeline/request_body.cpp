#include "pipeline/request_body.hpp"

namespace tg::proxy {

BodyScan scan_request_body_framed(RequestBody& body, char* data, std::size_t size, std::size_t& take,
                                  std::size_t& send, std::uint64_t max_body) {
  take = send = 0;
  if (body.kind != BodyKind::chunked) {
    body.done = true;
    return BodyScan::ok;
  }
  const auto r = body.chunks.consume_canonical(data, size, take, send);
  if (r == http::ChunkedScanner::Result::error) return BodyScan::bad_framing;
  if (body.chunks.data_bytes() > max_body) return BodyScan::too_large;
  body.done = r == http::ChunkedScanner::Result::done;
  return BodyScan::ok;
}

}  // namespace tg::proxy
