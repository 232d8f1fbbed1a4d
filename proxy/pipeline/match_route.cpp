// Phase 3: match the route (docs/life-of-a-request.md): host hash, longest
// path prefix, header equality, each indexed so the cost does not grow with
// the number of routes.
#include "http/host.hpp"
#include "http/path_normalise.hpp"
#include "pipeline/phases.hpp"
#include "routing/route_table.hpp"
#include "runtime/worker.hpp"

namespace tg::proxy {

Step match_route(PhaseInput& in) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  const http::RequestHead& req = c.request;
  const char* base = c.client.data.get() + ex.head_offset;

  char host_buffer[256];
  routing::RouteQuery query;
  query.host = http::normalise_host(req.host.view(base), host_buffer, sizeof host_buffer);
  query.path = ex.path;
  query.method = req.method.view(base);
  query.headers = req.headers;
  query.header_count = req.header_count;
  query.base = base;
  const Snapshot& snapshot = *ex.table->snapshot;
  // A header some route matches on, sent twice: the route would depend on
  // which copy a reader takes (docs/http-conformance.md).
  if (snapshot.table->repeats_routing_header(query)) {
    ex.keep_alive = false;
    return Step::respond(400, ErrorKind::bad_request);
  }
  ex.route = snapshot.table->match(query);
  if (ex.route == routing::RouteTable::kNoRoute) {
    // A request that waited and finds its route gone was routable when it
    // arrived: not the client's mistake, so not a 404.
    if (ex.resumed) return Step::respond(503, ErrorKind::route_removed);
    return Step::respond(404, ErrorKind::no_route);
  }
  const RouteDef& route = snapshot.routes[static_cast<std::size_t>(ex.route)];
  ex.service = route.service;
  ex.service_def = &ex.table->snapshot->services[route.service];
  if (route.reject_encoded_slashes && http::has_encoded_slash(ex.path)) {
    ex.keep_alive = false;
    return Step::respond(400, ErrorKind::bad_request);
  }

  // Body limit: a declared length is refused before anything is forwarded;
  // chunked bodies are counted as they arrive.
  if (req.content_length >= 0 && static_cast<std::uint64_t>(req.content_length) > in.service().limits.max_body)
    return Step::respond(413, ErrorKind::body_too_large);
  return Step::proceed();
}

}  // namespace tg::proxy
