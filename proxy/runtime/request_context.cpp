#include "runtime/request_context.hpp"

#include "table/worker_table.hpp"
#include "upstream/upstream.hpp"

#include <cassert>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <type_traits>

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

namespace {
std::size_t io_buffer_bytes(const ProxySettings& s) {
  return std::max<std::size_t>(s.limits.max_head_bytes, s.body_buffer_bytes);
}
std::size_t out_buffer_bytes(const ProxySettings& s) { return s.limits.max_head_bytes + 1024; }
std::size_t fields_bytes(const ProxySettings& s) { return sizeof(http::HeaderField) * s.limits.max_headers; }
constexpr std::size_t kAlign = 64;
std::size_t aligned(std::size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }
}  // namespace

char* ContextMemory::take(std::size_t bytes) {
  char* p = base_ + used_;
  used_ += aligned(bytes);
  assert(used_ <= size_);
  return p;
}

namespace {
std::size_t buffer_bytes(const ProxySettings& s) {
  return 2 * aligned(io_buffer_bytes(s)) + aligned(out_buffer_bytes(s)) + 2 * aligned(fields_bytes(s)) +
         aligned(s.limits.max_head_bytes);
}
std::size_t object_bytes() { return aligned(sizeof(RequestContext)); }
}  // namespace

RequestContext* RequestContext::create(const ProxySettings& s) {
  const std::size_t total = object_bytes() + buffer_bytes(s);
  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  char* base = static_cast<char*>(p);
  return ::new (base) RequestContext(s, base + object_bytes(), buffer_bytes(s));
}

void RequestContext::destroy(RequestContext* ctx) {
  const std::size_t total = object_bytes() + ctx->memory.size();
  ctx->~RequestContext();
  ::munmap(ctx, total);
}

RequestContext::RequestContext(const ProxySettings& s, char* buffers, std::size_t bytes)
    : memory(buffers, bytes),
      client(memory.take(io_buffer_bytes(s)), io_buffer_bytes(s)),
      request_fields(reinterpret_cast<http::HeaderField*>(memory.take(fields_bytes(s)))),
      upstream(memory.take(io_buffer_bytes(s)), io_buffer_bytes(s)),
      response_fields(reinterpret_cast<http::HeaderField*>(memory.take(fields_bytes(s)))),
      out(memory.take(out_buffer_bytes(s)), out_buffer_bytes(s)),
      path_buffer(memory.take(s.limits.max_head_bytes)) {
  static_assert(std::is_trivially_destructible_v<http::HeaderField>);
}

void RequestContext::reset_request() {
  scanned = 0;
  upstream.clear();
  upstream_scanned = 0;
  out.clear();
  start_ns = upstream_start_ns = upstream_ns = 0;
  path = {};
  route = -1;
  service = 0;
  upstream_conn.reset();  // before the instance it points to
  instance.reset();
  table.reset();
  attempts = 0;
  request_id_length = 0;
  request_id_from_client = false;
  request_body = BodyKind::none;
  request_remaining = 0;
  request_chunks.reset();
  bytes_in = 0;
  request_body_done = true;
  request_body_streamed = false;
  upstream_read_pending = false;
  body_prefix_known = false;
  request_body_in_head_buffer = 0;
  head_offset = 0;
  stale_retry_used = false;
  response_done = false;
  response_dechunk = false;
  upstream_answered = false;
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
  upgrade = tunnel_client_done = tunnel_upstream_done = false;
  tunnel_activity_ms = 0;
  log_method.clear();
  log_host.clear();
  log_path.clear();
}

}  // namespace tg::proxy
