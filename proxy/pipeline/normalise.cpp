// Phase 2: normalise and validate (docs/life-of-a-request.md). The parser
// (phase 1) has already refused smuggling shapes; here the request gets its
// id, the path its normal form, and the body its framing.
#include "http/head_writer.hpp"
#include "http/path_normalise.hpp"
#include "pipeline/request_id.hpp"
#include "pipeline/phases.hpp"
#include "runtime/worker.hpp"

#include <arpa/inet.h>
#include <cstring>

namespace tg::proxy {

void format_client_ip(RequestContext& c, const balancing::IpAddress& peer) {
  if (c.client_ip_length) return;
  if (!inet_ntop(peer.v6 ? AF_INET6 : AF_INET, peer.bytes.data(), c.client_ip, sizeof c.client_ip))
    std::strcpy(c.client_ip, "unknown");
  c.client_ip_length = static_cast<std::uint8_t>(std::strlen(c.client_ip));
}

void describe_refused_head(PhaseInput& in, const char* base, std::size_t size) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  format_client_ip(c, in.peer);
  if (!in.worker.access_log() || c.request.error == http::ParseError::head_too_large) return;
  // What the parser got to before the error; spans outside the bytes read
  // (never set for this head) are left out.
  const auto text = [&](http::Span span, std::size_t limit) -> std::string_view {
    if (span.empty() || static_cast<std::size_t>(span.offset) + span.length > size) return {};
    return span.view(base).substr(0, limit);
  };
  ex.log_method.assign(text(c.request.method, 32));
  ex.log_host.assign(text(c.request.host, 256));
  ex.log_path.assign(text(c.request.path, 2048));
}

Step normalise(PhaseInput& in) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  const http::RequestHead& req = c.request;
  const char* base = c.client.data.get() + ex.head_offset;

  // Request id: the client's when valid, else a new one.
  if (req.x_request_id >= 0 && http::valid_request_id(req.headers[req.x_request_id].value.view(base)) &&
      keep_client_request_id(in.worker.settings().trust_request_id, in.worker.settings().trusted_proxies,
                                   in.peer)) {
    auto id = req.headers[req.x_request_id].value.view(base);
    std::memcpy(ex.request_id, id.data(), id.size());
    ex.request_id_length = static_cast<std::uint8_t>(id.size());
    ex.request_id_from_client = true;
  } else {
    ex.request_id_length = static_cast<std::uint8_t>(in.worker.next_request_id(ex.request_id));
  }
  format_client_ip(c, in.peer);
  // The path matched is the path forwarded.
  ex.path = req.path.view(base);
  if (ex.path.empty()) {
    ex.path = "/";  // absolute-form target with no path
  } else if (ex.path != "*") {
    std::size_t length = 0;
    switch (http::normalise_path(ex.path, in.worker.settings().merge_slashes, c.path_buffer, length)) {
      case http::PathResult::unchanged:
        break;
      case http::PathResult::changed:
        ex.path = {c.path_buffer, length};
        break;
      case http::PathResult::invalid:
        ex.keep_alive = false;
        return Step::respond(400, ErrorKind::bad_request);
    }
  }
  if (in.worker.access_log()) {
    // The path without the query: queries often carry tokens.
    ex.log_method.assign(req.method.view(base));
    ex.log_host.assign(req.host.view(base).substr(0, 256));
    ex.log_path.assign(ex.path.substr(0, 2048));
  }

  // Framing of the request body.
  if (req.chunked) {
    ex.body.kind = BodyKind::chunked;
    ex.body.done = false;
  } else if (req.content_length > 0) {
    ex.body.kind = BodyKind::fixed;
    ex.body.remaining = static_cast<std::uint64_t>(req.content_length);
    ex.body.done = false;
  }
  ex.keep_alive = req.keep_alive_requested() && !in.draining;
  // Upgrade (WebSocket and the like): tunnelled when the client asks for it
  // with Connection: upgrade and an Upgrade header, over HTTP/1.1, without a
  // request body (whose end would be ambiguous with the tunnel's first bytes).
  // Otherwise Upgrade is dropped as hop-by-hop and the request is plain HTTP.
  if (req.connection_upgrade && req.version_minor >= 1 && ex.body.kind == BodyKind::none) {
    for (std::uint16_t i = 0; i < req.header_count; ++i) {
      if (req.headers[i].kind == http::HeaderKind::upgrade && !req.headers[i].value.empty()) ex.upgrade = true;
    }
  }
  return Step::proceed();
}

}  // namespace tg::proxy
