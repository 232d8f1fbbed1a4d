// ClientSession, phase 6: a response that arrives while the request body is
// still streaming (RFC 9112 §9.3: a server may answer before it has read the
// whole request — a 413, a 401, a redirect). The upstream socket is read
// while the body is forwarded; a final response head stops the body and is
// relayed as usual, so the client sees the upstream's answer instead of a
// reset. Interim responses (100 Continue) do not stop the body.
//
// Stopping the body leaves its rest unread on both connections: neither can
// carry another request (the client connection ends with a lingering close,
// the upstream one is closed), and the body is never replayed on a retry.
#include "runtime/worker.hpp"
#include "session/client_session.hpp"

namespace tg::proxy {

void ClientSession::watch_upstream() {
  RequestContext& c = *ctx_;
  c.upstream.clear();
  c.upstream_scanned = 0;
  read_response_head();  // completes in on_response_bytes → on_early_response_bytes
}

void ClientSession::on_early_response_bytes(const boost::system::error_code& ec, std::size_t n) {
  RequestContext& c = *ctx_;
  ByteBuffer& up = c.upstream;
  if (ec) {
    // The upstream closed, reset or timed out before the body was complete.
    stop_request_body();
    response_head_read_failed();
    return;
  }
  up.end += n;
  for (;;) {
    const auto status = http::parse_response(up.read_ptr(), up.size(), c.upstream_scanned,
                                             worker_.settings().limits, c.response_fields, c.response);
    if (status == http::ParseStatus::error) {
      stop_request_body();
      count_upstream_error(UpstreamError::protocol);
      try_failed(ErrorKind::bad_upstream_response, false);
      return;
    }
    if (status == http::ParseStatus::incomplete) {
      if (up.space() == 0) up.compact();
      read_response_head();
      return;
    }
    const std::uint16_t code = c.response.status;
    if (code >= 200) break;
    if (code == 101) {  // a request with a body is never upgraded
      stop_request_body();
      count_upstream_error(UpstreamError::protocol);
      try_failed(ErrorKind::bad_upstream_response, false);
      return;
    }
    // 100 Continue (or 102/103) while the body streams: keep sending.
    up.begin += c.response.head_length;
    c.upstream_scanned = 0;
    if (up.size() == 0) {
      up.clear();
      read_response_head();
      return;
    }
  }
  stop_request_body();
  final_response_head();
}

void ClientSession::stop_request_body() {
  RequestContext& c = *ctx_;
  c.request_body_streamed = true;  // part of it is gone: never replayed
  c.keep_alive = false;
  c.upstream_reusable = false;
  phase_ = Phase::await_response;
  // The pending body read (client) and body write (upstream) complete as
  // cancelled and find the phase moved on.
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  c.upstream_conn->socket().cancel(ignored);
}

}  // namespace tg::proxy
