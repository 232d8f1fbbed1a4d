// The state of one request as it goes through the phases (the exchange), and
// the memory block it lives in (RequestContext).
//
// A RequestContext is taken from the worker's pool when a connection starts a
// request and given back when it goes idle, so an idle keep-alive connection
// holds none of it (docs/life-of-a-request.md, phase 8). The block holds the
// connection's buffers (they carry pipelined bytes from one request to the
// next) and the Exchange, which is reset between requests: per-request state
// lives there and nowhere else.
#pragma once

#include "config/retry_bounds.hpp"
#include "http/chunked.hpp"
#include "http/message_head.hpp"
#include "limits/request_limits.hpp"
#include "pipeline/step.hpp"
#include "pipeline/wait_list.hpp"
#include "core/ref_counted.hpp"
#include "runtime/settings.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

namespace tg::proxy {

class UpstreamConn;
class Worker;
struct InstanceRuntime;
struct ServiceDef;
struct ServiceRuntime;
struct WorkerTable;

enum class BodyKind : std::uint8_t { none, fixed, chunked, until_close };

// A view of part of the context's memory block.
struct ByteBuffer {
  struct NoDelete {
    void operator()(char*) const {}
  };
  std::unique_ptr<char[], NoDelete> data;
  std::size_t capacity = 0;
  // How much one relay read takes (--relay-buffer-kib): the client buffer is
  // larger, to keep a whole body (limits.buffer_body), but a streamed body
  // or a tunnel touches no more of it than this.
  std::size_t relay_capacity = 0;
  std::size_t begin = 0;  // first unconsumed byte
  std::size_t end = 0;    // one past the last byte read

  ByteBuffer(char* memory, std::size_t cap, std::size_t relay) : data(memory), capacity(cap), relay_capacity(relay) {}
  std::size_t size() const { return end - begin; }
  char* read_ptr() { return data.get() + begin; }
  char* write_ptr() { return data.get() + end; }
  std::size_t space() const { return capacity - end; }
  // Room for one read at write_ptr() within the first relay_capacity bytes
  // (compact() when it is 0).
  std::size_t relay_space() const { return end < relay_capacity ? relay_capacity - end : 0; }
  void clear() { begin = end = 0; }
  // Moves unconsumed bytes to the front.
  void compact();
};

// The request body as received from the client.
struct RequestBody {
  BodyKind kind = BodyKind::none;
  std::uint64_t remaining = 0;   // fixed bodies: bytes not yet received
  http::ChunkedScanner chunks;
  bool done = true;              // the whole body has been received (or there is none)
  // Bytes were read from the client after the first try started: the body
  // is not kept whole, so a try that sent part of it cannot be replayed.
  bool streamed = false;
  bool prefix_known = false;     // in_head_buffer computed
  std::uint32_t in_head_buffer = 0;  // body bytes after the head in the client buffer, sent with the head
  std::uint64_t bytes = 0;       // body bytes forwarded (the access log's bytes_in)
};

// Where a try is (phase 6): completions of operations started in an earlier
// stage find the try moved on and do nothing.
enum class TryStage : std::uint8_t {
  none,
  connect,          // connecting to the upstream
  send_head,        // request head (+ first body bytes) to the upstream
  stream_body,      // rest of the request body
  await_response,   // waiting for the upstream response head
  send_response,    // response head (+ first body bytes) to the client
  stream_response,  // rest of the response body
};

// One try against one instance (phase 6).
struct TryState {
  LocalPtr<UpstreamConn> conn;
  TryStage stage = TryStage::none;
  bool active = false;           // counted in the instance's in_flight
  // A read on the upstream socket is pending while the request body streams,
  // so an early response (e.g. 413 or 401 before the body ends) is seen.
  bool read_pending = false;
  bool reusable = true;          // the upstream connection may be pooled after this try
  std::size_t scanned = 0;       // response-head parse progress in the upstream buffer
};

// The response relayed to the client.
struct ResponseState {
  BodyKind body = BodyKind::none;
  std::uint64_t remaining = 0;
  http::ChunkedScanner chunks;
  bool done = false;
  bool dechunk = false;          // chunked upstream body to an HTTP/1.0 client
  bool from_upstream = false;    // an upstream response head was relayed
  bool started = false;          // a byte of the response went to the client
  std::uint64_t bytes = 0;       // response body bytes sent (the access log's bytes_out)
};

// Upgrade (e.g. WebSocket): after a 101 both sockets are relayed byte for
// byte until both sides have finished or nothing moved for the idle timeout.
struct TunnelState {
  bool client_done = false;      // the client sent FIN; upstream write side shut
  bool upstream_done = false;    // the upstream sent FIN; client write side shut
  std::uint64_t activity_ms = 0; // last byte either way (worker clock)
};

struct Exchange {
  void reset();

  // Timing.
  std::uint64_t start_ns = 0;
  std::uint64_t upstream_start_ns = 0;
  std::uint64_t upstream_ns = 0;

  // Where the request goes: indexes into `table`'s snapshot. While a request
  // is suspended `table` and `instance` are null (a held request does not
  // pin an old table) and the indexes are stale until phases 3-5 run again.
  LocalPtr<WorkerTable> table;
  std::int32_t route = -1;
  std::uint32_t service = 0;
  const ServiceDef* service_def = nullptr;  // &table->snapshot->services[service], set with it by phase 3
  LocalPtr<InstanceRuntime> instance;
  static constexpr std::uint8_t kMaxAttempts = config::kMaxRetryAttempts;  // the config's ceiling for retry.attempts
  std::uint8_t attempts = 0;
  std::uint32_t tried[kMaxAttempts] = {};  // instance slots tried, in order
  std::uint64_t key_hash = 0;  // hash policies: the request's key, hashed at its first pick, reused by retries
  bool stale_retry_used = false;  // one replay on a fresh connection after a stale pooled one
  // Resilience: the service whose retry budget counts this request (set at
  // its first pick when retries are configured), whether it was allowed a
  // retry, whether the current try is a half-open probe, and its fate.
  LocalPtr<ServiceRuntime> budget;
  bool retrying = false;
  bool probe = false;
  Fate fate = Fate::unset;
  // Phase 4's rate and concurrency limits: decided, a tenant slot held, a refusal's answer.
  limits::RequestLimits limits;

  char request_id[132] = {};
  std::uint8_t request_id_length = 0;
  bool request_id_from_client = false;

  std::string_view path;         // normalised: what was matched and is forwarded (before strip_prefix)
  std::size_t head_offset = 0;   // where the request head starts in the client buffer
  bool upgrade = false;          // the request qualifies for a tunnel
  bool sent_continue = false;    // "100 Continue" went to the client
  // Set by phase 4 on a route with auth: the verified tenant (a view into the
  // table's AuthIndex, valid while `table` is held; cleared on suspension),
  // and whether the credential headers are dropped (no auth_forward).
  std::string_view verified_tenant;
  bool strip_credentials = false;

  RequestBody body;
  TryState upstream;
  ResponseState response;
  TunnelState tunnel;

  // Outcome.
  std::uint16_t status = 0;
  ErrorKind error = ErrorKind::none;
  PhaseId answered_by = PhaseId::none;  // the phase that answered an error locally
  // Header lines (each ending in CRLF) added to a locally generated answer,
  // e.g. WWW-Authenticate on a 401; the text outlives the request.
  std::string_view answer_headers;
  bool keep_alive = true;        // the client connection stays open after this response

  // Suspension (a phase waits for an event; pipeline/wait_list.hpp).
  Waiter waiter;
  PhaseId suspended_in = PhaseId::none;  // the phase that suspended the request
  bool resumed = false;          // phases 3-5 run again after a suspension
  bool held = false;             // the request waited at least once (telemetry's `held`)
  // Pending queue (phase 5): the instance whose queue the request waits in
  // (kept while it waits, so the queue outlives it), and the end of its wait,
  // set at its first wait and kept if it waits again.
  LocalPtr<InstanceRuntime> pending_on;
  std::uint64_t pending_deadline_ms = 0;

  // Copies for the access log (the head buffer is reused for body bytes).
  std::string log_method;
  std::string log_host;
  std::string log_path;
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
  // Bytes of one block (object and buffers) for these settings.
  static std::size_t block_bytes(const ProxySettings& settings);
  // Builds a context in a block from the worker's pool; release() destroys
  // it and gives the block back.
  static RequestContext* acquire(Worker& worker);
  static void release(Worker& worker, RequestContext* ctx);
  static void* operator new(std::size_t) = delete;
  static void operator delete(void*) = delete;

  RequestContext(const ProxySettings& settings, char* buffers, std::size_t buffer_bytes);
  // Between requests on one connection: the exchange is reset, buffered
  // bytes of the next request stay.
  void next_request();

  ContextMemory memory;

  // Client side: the head is parsed in place; spans point into `client`.
  ByteBuffer client;
  std::size_t scanned = 0;
  http::HeaderField* request_fields;
  http::RequestHead request;

  // Upstream side.
  ByteBuffer upstream;
  http::HeaderField* response_fields;
  http::ResponseHead response;

  // Rebuilt heads and error bodies.
  ByteBuffer out;

  // The normalised path when it differs from the one received.
  char* path_buffer;

  // The client's address as text, formatted at the connection's first
  // request that needs it.
  char client_ip[48] = {};
  std::uint8_t client_ip_length = 0;

  Exchange exchange;
};

}  // namespace tg::proxy
