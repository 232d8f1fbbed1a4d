#include "pipeline/exchange.hpp"

#include "config/model.hpp"
#include "runtime/worker.hpp"
#include "table/worker_table.hpp"
#include "upstream/upstream.hpp"

#include <cassert>
#include <cstring>
#include <type_traits>

namespace tg::proxy {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none: return "";
    case ErrorKind::bad_request: return "bad_request";
    case ErrorKind::no_route: return "no_route";
    case ErrorKind::route_removed: return "route_removed";
    case ErrorKind::body_too_large: return "body_too_large";
    case ErrorKind::headers_too_large: return "headers_too_large";
    case ErrorKind::request_timeout: return "request_timeout";
    case ErrorKind::connect_failure: return "connect_failure";
    case ErrorKind::upstream_reset: return "upstream_reset";
    case ErrorKind::bad_upstream_response: return "bad_upstream_response";
    case ErrorKind::no_instance: return "no_instance";
    case ErrorKind::ejected: return "ejected";
    case ErrorKind::overflow: return "overflow";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::rate_limited: return "rate_limited";
    case ErrorKind::client_closed: return "client_closed";
    case ErrorKind::unauthenticated: return "unauthenticated";
    case ErrorKind::forbidden: return "forbidden";
  }
  return "unknown";
}

std::string_view to_string(PhaseId phase) {
  switch (phase) {
    case PhaseId::none: return "";
    case PhaseId::read_head: return "read_head";
    case PhaseId::normalise: return "normalise";
    case PhaseId::match_route: return "match_route";
    case PhaseId::admit: return "admit";
    case PhaseId::receive_body: return "receive_body";
    case PhaseId::pick_instance: return "pick_instance";
    case PhaseId::forward: return "forward";
    case PhaseId::record: return "record";
    case PhaseId::keep_alive: return "keep_alive";
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

void Exchange::reset() {
  start_ns = upstream_start_ns = upstream_ns = 0;
  upstream = TryState{};  // the pooled connection before the instance it points to
  instance.reset();
  table.reset();
  route = -1;
  service = 0;
  service_def = nullptr;
  attempts = 0;
  budget.reset();
  retrying = false;
  probe = false;
  fate = Fate::unset;
  limits.reset();
  key_hash = 0;
  stale_retry_used = false;
  request_id_length = 0;
  request_id_from_client = false;
  path = {};
  head_offset = 0;
  upgrade = false;
  sent_continue = false;
  verified_tenant = {};
  strip_credentials = false;
  answer_headers = {};
  body = RequestBody{};
  response = ResponseState{};
  tunnel = TunnelState{};
  status = 0;
  error = ErrorKind::none;
  answered_by = PhaseId::none;
  keep_alive = true;
  waiter.cancel();
  resumed = false;
  held = false;
  pending_on.reset();
  pending_deadline_ms = 0;
  log_method.clear();
  log_host.clear();
  log_path.clear();
}

namespace {
std::size_t io_buffer_bytes(const ProxySettings& s) {
  return std::max<std::size_t>(s.limits.max_head_bytes, s.body_buffer_bytes);
}
std::size_t out_buffer_bytes(const ProxySettings& s) { return s.limits.max_head_bytes + 1024; }
std::size_t fields_bytes(const ProxySettings& s) { return sizeof(http::HeaderField) * s.limits.max_headers; }
constexpr std::size_t kAlign = 64;
std::size_t aligned(std::size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }
// The client buffer also keeps a whole body (limits.buffer_body) after its head.
std::size_t client_buffer_bytes(const ProxySettings& s) {
  return io_buffer_bytes(s) + static_cast<std::size_t>(config::kMaxBufferBody);
}
std::size_t buffer_bytes(const ProxySettings& s) {
  return aligned(client_buffer_bytes(s)) + aligned(io_buffer_bytes(s)) + aligned(out_buffer_bytes(s)) +
         2 * aligned(fields_bytes(s)) + aligned(s.limits.max_head_bytes);
}
std::size_t object_bytes() { return aligned(sizeof(RequestContext)); }
}  // namespace

char* ContextMemory::take(std::size_t bytes) {
  char* p = base_ + used_;
  used_ += aligned(bytes);
  assert(used_ <= size_);
  return p;
}

std::size_t RequestContext::block_bytes(const ProxySettings& s) { return object_bytes() + buffer_bytes(s); }

RequestContext* RequestContext::acquire(Worker& worker) {
  const ProxySettings& s = worker.settings();
  char* base = static_cast<char*>(worker.acquire_block(block_bytes(s)));
  return ::new (base) RequestContext(s, base + object_bytes(), buffer_bytes(s));
}

void RequestContext::release(Worker& worker, RequestContext* ctx) {
  ctx->~RequestContext();
  worker.release_block(ctx);
}

RequestContext::RequestContext(const ProxySettings& s, char* buffers, std::size_t bytes)
    : memory(buffers, bytes),
      client(memory.take(client_buffer_bytes(s)), client_buffer_bytes(s), io_buffer_bytes(s)),
      request_fields(reinterpret_cast<http::HeaderField*>(memory.take(fields_bytes(s)))),
      upstream(memory.take(io_buffer_bytes(s)), io_buffer_bytes(s), io_buffer_bytes(s)),
      response_fields(reinterpret_cast<http::HeaderField*>(memory.take(fields_bytes(s)))),
      out(memory.take(out_buffer_bytes(s)), out_buffer_bytes(s), out_buffer_bytes(s)),
      path_buffer(memory.take(s.limits.max_head_bytes)) {
  static_assert(std::is_trivially_destructible_v<http::HeaderField>);
}

void RequestContext::next_request() {
  scanned = 0;
  upstream.clear();
  out.clear();
  exchange.reset();
}

}  // namespace tg::proxy
