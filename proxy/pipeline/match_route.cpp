// Phase 3: match the route (docs/life-of-a-request.md): host hash, longest
// path prefix, header equality, each indexed so the cost does not grow with
// the number of routes.
#include "pipeline/phases.hpp"
#include "routing/route_table.hpp"
#include "runtime/worker.hpp"

namespace tg::proxy {

namespace {

// Lower-cases the host and drops a port; returns the view into `out`.
std::string_view normalise_host(std::string_view host, char* out, std::size_t capacity) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    auto colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  if (host.size() > capacity) host = host.substr(0, capacity);
  for (std::size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return {out, host.size()};
}

}  // namespace

const ServiceDef& PhaseInput::service() const { return ex.table->snapshot->services[ex.service]; }

Step match_route(PhaseInput& in) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  const http::RequestHead& req = c.request;
  const char* base = c.client.data.get() + ex.head_offset;

  char host_buffer[256];
  routing::RouteQuery query;
  query.host = normalise_host(req.host.view(base), host_buffer, sizeof host_buffer);
  query.path = ex.path;
  query.method = req.method.view(base);
  query.headers = req.headers;
  query.header_count = req.header_count;
  query.base = base;
  const Snapshot& snapshot = *ex.table->snapshot;
  ex.route = snapshot.table->match(query);
  if (ex.route == routing::RouteTable::kNoRoute) {
    // A request that waited and finds its route gone was routable when it
    // arrived: not the client's mistake, so not a 404.
    if (ex.resumed) return Step::respond(503, ErrorKind::route_removed);
    return Step::respond(404, ErrorKind::no_route);
  }
  ex.service = snapshot.routes[static_cast<std::size_t>(ex.route)].service;

  // Body limit: a declared length is refused before anything is forwarded;
  // chunked bodies are counted as they arrive.
  if (req.content_length >= 0 && static_cast<std::uint64_t>(req.content_length) > in.service().limits.max_body)
    return Step::respond(413, ErrorKind::body_too_large);
  return Step::proceed();
}

}  // namespace tg::proxy
