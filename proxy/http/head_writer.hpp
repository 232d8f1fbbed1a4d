// Rebuilding heads for the next hop (docs/http-conformance.md, Headers the proxy owns).
//
// Kept header lines are copied verbatim from the parsed head (one memcpy each,
// no re-serialisation); hop-by-hop headers and the headers named by
// Connection are dropped; the proxy's own headers are appended.
#pragma once

#include "http/message_head.hpp"

#include <cstddef>
#include <string_view>

namespace tg::proxy::http {

struct UpstreamRequest {
  const char* base = nullptr;        // buffer `head` points into
  const RequestHead* head = nullptr;
  std::string_view path;             // after rewrites
  std::string_view client_ip;        // appended to X-Forwarded-For
  std::string_view fallback_host;    // Host when the request has none (HTTP/1.0): the instance address
  std::string_view request_id;       // sent as X-Request-Id
  bool request_id_from_client = false;  // keep the client's header line as it is
  bool drop_expect = false;          // the proxy answered 100-continue itself
  // The client asked to switch protocols (Connection: upgrade + Upgrade) and
  // the proxy will tunnel: Upgrade is kept and "Connection: Upgrade" sent.
  bool upgrade = false;
  // A route with auth: the verified tenant, sent as X-Tenant-ID instead of
  // any the client sent (empty: the client's lines pass as they are).
  std::string_view tenant_id;
  // Drop Authorization and X-Api-Key (a route with auth, without auth_forward).
  bool strip_credentials = false;
};

// Writes the request head for the upstream into `out`. Returns the length, or
// 0 when it does not fit in `capacity`.
std::size_t write_upstream_request(char* out, std::size_t capacity, const UpstreamRequest& in);

struct DownstreamResponse {
  const char* base = nullptr;
  const ResponseHead* head = nullptr;
  std::string_view request_id;       // sent as X-Request-Id (an upstream's own is dropped)
  bool keep_alive = true;            // the proxy keeps the client connection open
  bool client_http10 = false;        // say "keep-alive" explicitly to HTTP/1.0 clients
  bool dechunked = false;            // the body goes out without its chunked framing
  // 101 Switching Protocols for a tunnelled upgrade: Upgrade is kept and
  // "Connection: Upgrade" sent.
  bool upgrade = false;
  // An interim 1xx response (e.g. 103 Early Hints): no Connection header, the
  // final response decides the connection.
  bool interim = false;
};

std::size_t write_downstream_response(char* out, std::size_t capacity, const DownstreamResponse& in);

// A valid client X-Request-Id: 1..128 characters of [A-Za-z0-9._:-].
bool valid_request_id(std::string_view id);

}  // namespace tg::proxy::http
