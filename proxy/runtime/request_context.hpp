// Everything a connection needs while a request is under way: buffers, parsed
// heads and per-request state. Taken from the worker's pool when a request
// starts and given back when the connection goes idle, so an idle keep-alive
// connection holds none of it (docs/life-of-a-request.md, phase 8).
#pragma once

#include "core/ref_counted.hpp"
#include "http/chunked.hpp"
#include "http/message_head.hpp"
#include "runtime/settings.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace tg::proxy {

class UpstreamConn;
struct InstanceRuntime;
struct RouteRuntime;
struct WorkerTable;

enum class BodyKind : std::uint8_t { none, fixed, chunked, until_close };

// Why a request ended badly; also the access log's "error" and the
// upstream-error metric's kind where it applies.
enum class ErrorKind : std::uint8_t {
  none,
  bad_request,
  no_route,
  body_too_large,
  headers_too_large,
  connect_failure,
  upstream_reset,
  bad_upstream_response,
  no_instance,
  overflow,
  timeout,
  client_closed,
};
std::string_view to_string(ErrorKind kind);

// A view of part of the context's memory block.
struct ByteBuffer {
  struct NoDelete {
    void operator()(char*) const {}
  };
  std::unique_ptr<char[], NoDelete> data;
  std::size_t capacity = 0;
  std::size_t begin = 0;  // first unconsumed byte
  std::size_t end = 0;    // one past the last byte read

  ByteBuffer(char* memory, std::size_t cap) : data(memory), capacity(cap) {}
  std::size_t size() const { return end - begin; }
  char* read_ptr() { return data.get() + begin; }
  char* write_ptr() { return data.get() + end; }
  std::size_t space() const { return capacity - end; }
  void clear() { begin = end = 0; }
  // Moves unconsumed bytes to the front.
  void compact();
};

// All buffers and header arrays of a context live in one block mapped from
// the kernel, together with the RequestContext object itself, so a released
// context gives its memory back to the system at once (heap memory freed in
// the middle of an arena would stay resident: a burst of connections would
// leave the heap holding their contexts' holes).
class ContextMemory {
 public:
  // Carves pieces out of [base, base + bytes), which it does not own.
  ContextMemory(char* base, std::size_t bytes) : base_(base), size_(bytes) {}
  ContextMemory(const ContextMemory&) = delete;
  ContextMemory& operator=(const ContextMemory&) = delete;
  char* take(std::size_t bytes);  // carves the next piece, 64-byte aligned
  std::size_t size() const { return size_; }

 private:
  char* base_;
  std::size_t size_;
  std::size_t used_ = 0;
};

struct RequestContext {
  // One mapping holds the object and its buffers; destroy() unmaps it.
  static RequestContext* create(const ProxySettings& settings);
  static void destroy(RequestContext* ctx);
  static void* operator new(std::size_t) = delete;
  static void operator delete(void*) = delete;

  RequestContext(const ProxySettings& settings, char* buffers, std::size_t buffer_bytes);
  void reset_request();  // between requests on one connection; keeps buffered bytes

  ContextMemory memory;

  // Client side: the head is parsed in place; spans point into `client`.
  ByteBuffer client;
  std::size_t scanned = 0;
  http::HeaderField* request_fields;
  http::RequestHead request;

  // Upstream side.
  ByteBuffer upstream;
  std::size_t upstream_scanned = 0;
  http::HeaderField* response_fields;
  http::ResponseHead response;

  // Rebuilt heads and error bodies.
  ByteBuffer out;

  // The normalised path when it differs from the one received.
  char* path_buffer;
  std::string_view path;  // what was matched and is forwarded (before strip_prefix)

  // ---- per request ----
  std::uint64_t start_ns = 0;
  std::uint64_t upstream_start_ns = 0;
  std::uint64_t upstream_ns = 0;
  std::int32_t route = -1;
  std::uint32_t service = 0;
  LocalPtr<WorkerTable> table;
  LocalPtr<InstanceRuntime> instance;
  LocalPtr<UpstreamConn> upstream_conn;
  static constexpr std::uint8_t kMaxAttempts = 10;  // the config's ceiling for retry.attempts
  std::uint8_t attempts = 0;
  std::uint32_t tried[kMaxAttempts] = {};
  std::uint64_t key_hash = 0;  // hash policies: the request's key, hashed at its first pick, reused by retries

  char request_id[132] = {};
  std::uint8_t request_id_length = 0;
  bool request_id_from_client = false;
  char client_ip[48] = {};
  std::uint8_t client_ip_length = 0;

  BodyKind request_body = BodyKind::none;
  std::uint64_t request_remaining = 0;  // fixed bodies
  http::ChunkedScanner request_chunks;
  std::uint64_t bytes_in = 0;           // request body bytes forwarded
  bool request_body_done = true;
  bool request_body_streamed = false;   // bytes were read after the head: the body is not kept whole
  // A read on the upstream socket is pending while the request body streams,
  // so an early response (e.g. 413 or 401 before the body ends) is seen.
  bool upstream_read_pending = false;
  bool body_prefix_known = false;       // request_body_in_head_buffer computed
  std::uint32_t request_body_in_head_buffer = 0;  // body bytes sent with the head
  std::size_t head_offset = 0;          // where the request head starts in `client`
  bool stale_retry_used = false;

  BodyKind response_body = BodyKind::none;
  bool response_done = false;
  bool response_dechunk = false;   // chunked upstream body to an HTTP/1.0 client
  bool upstream_answered = false;  // an upstream response head was relayed
  std::uint64_t response_remaining = 0;
  http::ChunkedScanner response_chunks;
  std::uint64_t bytes_out = 0;          // response body bytes sent

  std::uint16_t status = 0;
  ErrorKind error = ErrorKind::none;
  bool keep_alive = true;               // client connection stays open after this response
  bool upstream_reusable = true;
  bool response_started = false;        // a byte of the response went to the client
  bool sent_continue = false;

  // Upgrade (e.g. WebSocket): the client asked to switch protocols and the
  // request qualifies for a tunnel (HTTP/1.1, no body). After a 101 both
  // sockets are relayed byte for byte until both sides have finished or
  // nothing moved for the service's idle timeout.
  bool upgrade = false;
  bool tunnel_client_done = false;    // the client sent FIN; upstream write side shut
  bool tunnel_upstream_done = false;  // the upstream sent FIN; client write side shut
  std::uint64_t tunnel_activity_ms = 0;  // last byte either way (worker clock)

  // Copies for the access log (the head buffer is reused for body bytes).
  std::string log_method;
  std::string log_host;
  std::string log_path;
};

}  // namespace tg::proxy
