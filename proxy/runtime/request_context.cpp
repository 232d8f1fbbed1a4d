#include "runtime/request_context.hpp"

#include "runtime/upstream.hpp"
#include "runtime/worker_table.hpp"

#include <cstring>

namespace tg::proxy {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none: return "";
    case ErrorKind::bad_request: return "bad_request";
    case ErrorKind::no_route: return "no_route";
    case ErrorKind::body_too_large: return "body_too_large";
    case ErrorKind::headers_too_large: return "headers_too_large";
    case ErrorKind::connect_failure: return "connect_failure";
    case ErrorKind::upstream_reset: return "upstream_reset";
    case ErrorKind::bad_upstream_response: return "bad_upstream_response";
    case ErrorKind::no_instance: return "no_instance";
    case ErrorKind::overflow: return "overflow";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::client_closed: return "client_closed";
  }
  return "unknown";
}

void ByteBuffer::compact() {
  if (begin == 0) return;
  const std::size_t n = end - begin;
  if (n) std::memmove(data.get(), data.get() + begin, n);
  begin = 0;
  end = n;
}

RequestContext::RequestContext(const ProxySettings& settings)
    : client(std::max<std::size_t>(settings.limits.max_head_bytes, settings.body_buffer_bytes)),
      request_fields(new http::HeaderField[settings.limits.max_headers]),
      upstream(std::max<std::size_t>(settings.limits.max_head_bytes, settings.body_buffer_bytes)),
      response_fields(new http::HeaderField[settings.limits.max_headers]),
      out(settings.limits.max_head_bytes + 1024) {}

void RequestContext::reset_request() {
  scanned = 0;
  upstream.clear();
  upstream_scanned = 0;
  out.clear();
  start_ns = upstream_start_ns = upstream_ns = 0;
  route = -1;
  service = 0;
  table.reset();
  instance.reset();
  upstream_conn.reset();
  attempts = 0;
  request_id_length = 0;
  request_id_from_client = false;
  request_body = BodyKind::none;
  request_remaining = 0;
  request_chunks.reset();
  bytes_in = 0;
  request_body_done = true;
  request_body_streamed = false;
  body_prefix_known = false;
  request_body_in_head_buffer = 0;
  head_offset = 0;
  stale_retry_used = false;
  response_done = false;
  response_body = BodyKind::none;
  response_remaining = 0;
  response_chunks.reset();
  bytes_out = 0;
  status = 0;
  error = ErrorKind::none;
  keep_alive = true;
  upstream_reusable = true;
  response_started = false;
  sent_continue = false;
  log_method.clear();
  log_path.clear();
}

}  // namespace tg::proxy
