// Phase 6: a response that arrives while the request body is still streaming
// (RFC 9112 §9.3: a server may answer before it has read the whole request —
// a 413, a 401, a redirect). The upstream socket is read while the body is
// forwarded; a final response head stops the body and is relayed as usual,
// so the client sees the upstream's answer instead of a reset. Interim
// responses (100 Continue) do not stop the body.
//
// Stopping the body leaves its rest unread on both connections: neither can
// carry another request (the client connection ends with a lingering close,
// the upstream one is closed), and the body is never replayed on a retry.
#include "connection/upstream_try.hpp"
#include "runtime/worker.hpp"

namespace tg::proxy {

void UpstreamTry::watch_for_early_response() {
  c_.upstream.clear();
  ex_.upstream.scanned = 0;
  read_response_head();  // completes in on_response_bytes → on_early_response_bytes
}

void UpstreamTry::on_early_response_bytes(const boost::system::error_code& ec, std::size_t n) {
  ByteBuffer& up = c_.upstream;
  if (ec) {
    // The upstream closed, reset or timed out before the body was complete.
    stop_request_body();
    response_head_read_failed();
    return;
  }
  up.end += n;
  for (;;) {
    const auto status = http::parse_response(up.read_ptr(), up.size(), ex_.upstream.scanned,
                                             d_.worker_.settings().limits, c_.response_fields, c_.response);
    if (status == http::ParseStatus::error) {
      stop_request_body();
      count(UpstreamError::protocol);
      failed(ErrorKind::bad_upstream_response, Sent::some);
      return;
    }
    if (status == http::ParseStatus::incomplete) {
      if (up.space() == 0) up.compact();
      read_response_head();
      return;
    }
    const std::uint16_t code = c_.response.status;
    if (code >= 200) break;
    if (code == 101) {  // a request with a body is never upgraded
      stop_request_body();
      count(UpstreamError::protocol);
      failed(ErrorKind::bad_upstream_response, Sent::some);
      return;
    }
    // 100 Continue (or 102/103) while the body streams: keep sending.
    up.begin += c_.response.head_length;
    ex_.upstream.scanned = 0;
    if (up.size() == 0) {
      up.clear();
      read_response_head();
      return;
    }
  }
  stop_request_body();
  final_response_head();
}

void UpstreamTry::stop_request_body() {
  ex_.body.streamed = true;  // part of it is gone: never replayed
  ex_.keep_alive = false;
  ex_.upstream.reusable = false;
  ex_.upstream.stage = TryStage::await_response;
  // The pending body read (client) and body write (upstream) complete as
  // cancelled and find the stage moved on.
  boost::system::error_code ignored;
  d_.socket_.cancel(ignored);
  ex_.upstream.conn->socket().cancel(ignored);
}

}  // namespace tg::proxy
