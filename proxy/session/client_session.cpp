// ClientSession, client side: phases 1–5 (read header … pick instance),
// 7 (record) and 8 (keep-alive or close), and locally generated errors.
// The upstream exchange (phase 6) is in upstream_exchange.cpp.
#include "session/client_session.hpp"

#include "balancing/hash_key.hpp"
#include "runtime/slab.hpp"
#include "runtime/worker.hpp"
#include "session/write_all.hpp"

#include "http/head_writer.hpp"
#include "http/path_normalise.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <netinet/tcp.h>
#include <unistd.h>

namespace tg::proxy {

ClientSession::ClientSession(Worker& worker, Socket socket, const tcp::endpoint& peer)
    : worker_(worker), socket_(std::move(socket)) {
  // TCP_NODELAY is inherited from the listener.
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  family_v6_ = peer.protocol() == tcp::v6();
  peer_port_ = peer.port();
  if (peer.address().is_v4()) {
    auto bytes = peer.address().to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), peer_address_.begin());
  } else {
    auto v6 = peer.address().to_v6();
    if (v6.is_v4_mapped()) {
      auto bytes = asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes();
      std::copy(bytes.begin(), bytes.end(), peer_address_.begin());
    } else {
      peer_v6_ = true;
      auto bytes = v6.to_bytes();
      std::copy(bytes.begin(), bytes.end(), peer_address_.begin());
    }
  }
  worker_.session_opened(*this);
}

ClientSession::~ClientSession() {
  release_context();
  worker_.session_closed();
}

namespace {
Slab& session_slab() {
  thread_local Slab slab(sizeof(ClientSession));
  return slab;
}
}  // namespace

void* ClientSession::operator new(std::size_t size) {
  (void)size;  // always sizeof(ClientSession): the class is final
  return session_slab().allocate();
}

void ClientSession::operator delete(void* p) { session_slab().deallocate(p); }

void ClientSession::set_deadline_in(std::uint64_t ms) { worker_.wheel().set(*this, worker_.now_ms() + ms); }

void ClientSession::start() {
  ctx_ = worker_.acquire_context();
  phase_ = Phase::read_header;
  set_deadline_in(worker_.settings().header_timeout.count());
  read_header();
}

void ClientSession::release_context() {
  if (!ctx_) return;
  worker_.release_context(ctx_);
  ctx_ = nullptr;
}

// ---- 1. read header ---------------------------------------------------------

void ClientSession::read_header() {
  ByteBuffer& in = ctx_->client;
  if (in.begin == in.end) in.clear();
  if (in.space() == 0) in.compact();
  socket_.async_read_some(asio::buffer(in.write_ptr(), in.space()),
                          [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t n) {
                            self->on_header_bytes(ec, n);
                          });
}

void ClientSession::on_header_bytes(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ == Phase::closed) return;
  if (ec) {
    if (ec == asio::error::operation_aborted && release_on_abort_) {
      // Grace period over with nothing read: give the buffers back.
      release_on_abort_ = false;
      wait_idle();
      return;
    }
    if (timed_out_ && phase_ == Phase::read_header) ++worker_.stats().header_timeouts;
    close();
    return;
  }
  release_on_abort_ = false;
  ctx_->client.end += n;
  parse_header();
}

void ClientSession::parse_header() {
  ByteBuffer& in = ctx_->client;
  if (phase_ == Phase::buffered_idle) {
    // First bytes of the next request: the header-read deadline starts now.
    phase_ = Phase::read_header;
    release_on_abort_ = false;
    set_deadline_in(worker_.settings().header_timeout.count());
  }
  const auto status = http::parse_request(in.read_ptr(), in.size(), ctx_->scanned, worker_.settings().limits,
                                          ctx_->request_fields, ctx_->request);
  switch (status) {
    case http::ParseStatus::incomplete:
      read_header();
      return;
    case http::ParseStatus::error: {
      const auto e = ctx_->request.error;
      const bool too_large = e == http::ParseError::head_too_large || e == http::ParseError::too_many_headers;
      request_active_ = true;
      ctx_->start_ns = steady_now_ns();
      ctx_->request_id_length = static_cast<std::uint8_t>(worker_.next_request_id(ctx_->request_id));
      ctx_->keep_alive = false;
      send_error(too_large ? 431 : 400, too_large ? ErrorKind::headers_too_large : ErrorKind::bad_request);
      return;
    }
    case http::ParseStatus::complete:
      handle_request();
      return;
  }
}

void ClientSession::wait_idle() {
  release_context();
  phase_ = Phase::idle;
  const std::uint64_t keepalive = worker_.settings().keepalive_timeout.count();
  worker_.wheel().set(*this, idle_since_ms_ + keepalive);
  // Hand the descriptor to the IdleWatcher (idle_watcher.hpp): asio's state
  // for it goes back to asio's pool until the client sends again.
  boost::system::error_code ec;
  const int fd = socket_.release(ec);
  if (ec) {
    close();
    return;
  }
  idle_fd_ = fd;
  if (!worker_.idle_watcher().watch(fd, *this, idle_registered_)) {
    close();
    return;
  }
  intrusive_ptr_add_ref(this);
  idle_reference_ = true;
  ++worker_.stats().idle_connections;
}

void ClientSession::on_idle_readable() {
  if (phase_ != Phase::idle) return;
  LocalPtr<ClientSession> keep(this);
  drop_idle_reference();
  boost::system::error_code ec;
  socket_.assign(family_v6_ ? tcp::v6() : tcp::v4(), idle_fd_, ec);
  if (ec) {
    close();  // closes idle_fd_
    return;
  }
  idle_fd_ = -1;
  socket_.non_blocking(true, ec);
  ctx_ = worker_.acquire_context();
  phase_ = Phase::buffered_idle;  // parse_header() starts the header deadline
  read_header();
}

void ClientSession::drop_idle_reference() {
  if (!idle_reference_) return;
  idle_reference_ = false;
  --worker_.stats().idle_connections;
  intrusive_ptr_release(this);  // never the last: callers hold a LocalPtr
}

// ---- 2.–5. validate, match route, tenant checks, pick instance -------------

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

void ClientSession::handle_request() {
  RequestContext& c = *ctx_;
  const http::RequestHead& req = c.request;
  const char* base = c.client.read_ptr();
  request_active_ = true;
  c.start_ns = steady_now_ns();
  c.table = worker_.table();
  c.head_offset = c.client.begin;
  // The head is consumed now, whatever happens next; the spans stay valid
  // because the bytes are not overwritten before the head is forwarded.
  c.client.begin += req.head_length;

  // Request id: the client's when valid, else a new one.
  if (req.x_request_id >= 0 && http::valid_request_id(req.headers[req.x_request_id].value.view(base))) {
    auto id = req.headers[req.x_request_id].value.view(base);
    std::memcpy(c.request_id, id.data(), id.size());
    c.request_id_length = static_cast<std::uint8_t>(id.size());
    c.request_id_from_client = true;
  } else {
    c.request_id_length = static_cast<std::uint8_t>(worker_.next_request_id(c.request_id));
  }
  if (!c.client_ip_length) {
    if (!inet_ntop(peer_v6_ ? AF_INET6 : AF_INET, peer_address_.data(), c.client_ip, sizeof c.client_ip))
      std::strcpy(c.client_ip, "unknown");
    c.client_ip_length = static_cast<std::uint8_t>(std::strlen(c.client_ip));
  }
  // 2. normalise: the path matched is the path forwarded.
  c.path = req.path.view(base);
  if (c.path.empty()) {
    c.path = "/";  // absolute-form target with no path
  } else if (c.path != "*") {
    std::size_t length = 0;
    switch (http::normalise_path(c.path, worker_.settings().merge_slashes, c.path_buffer, length)) {
      case http::PathResult::unchanged:
        break;
      case http::PathResult::changed:
        c.path = {c.path_buffer, length};
        break;
      case http::PathResult::invalid:
        c.keep_alive = false;
        send_error(400, ErrorKind::bad_request);
        return;
    }
  }
  if (worker_.access_log()) {
    // The path without the query: queries often carry tokens.
    c.log_method.assign(req.method.view(base));
    c.log_host.assign(req.host.view(base).substr(0, 256));
    c.log_path.assign(c.path.substr(0, 2048));
  }

  // Framing of the request body.
  if (req.chunked) {
    c.request_body = BodyKind::chunked;
    c.request_body_done = false;
  } else if (req.content_length > 0) {
    c.request_body = BodyKind::fixed;
    c.request_remaining = static_cast<std::uint64_t>(req.content_length);
    c.request_body_done = false;
  }
  c.keep_alive = req.keep_alive_requested() && !draining_ && !worker_.draining();
  // Upgrade (WebSocket and the like): tunnelled when the client asks for it
  // with Connection: upgrade and an Upgrade header, over HTTP/1.1, without a
  // request body (whose end would be ambiguous with the tunnel's first bytes).
  // Otherwise Upgrade is dropped as hop-by-hop and the request is plain HTTP.
  if (req.connection_upgrade && req.version_minor >= 1 && c.request_body == BodyKind::none) {
    for (std::uint16_t i = 0; i < req.header_count; ++i) {
      if (req.headers[i].kind == http::HeaderKind::upgrade && !req.headers[i].value.empty()) c.upgrade = true;
    }
  }

  // 3. match route
  char host_buffer[256];
  routing::RouteQuery query;
  query.host = normalise_host(req.host.view(base), host_buffer, sizeof host_buffer);
  query.path = c.path;
  query.method = req.method.view(base);
  query.headers = req.headers;
  query.header_count = req.header_count;
  query.base = base;
  const Snapshot& snapshot = *c.table->snapshot;
  c.route = snapshot.table->match(query);
  if (c.route == routing::RouteTable::kNoRoute) {
    send_error(404, ErrorKind::no_route);
    return;
  }
  c.service = snapshot.routes[static_cast<std::size_t>(c.route)].service;
  const ServiceDef& svc = service();

  // Body limit: a declared length is refused before anything is forwarded;
  // chunked bodies are counted while they stream.
  if (req.content_length >= 0 && static_cast<std::uint64_t>(req.content_length) > svc.limits.max_body) {
    send_error(413, ErrorKind::body_too_large);
    return;
  }
  // 4. tenant checks: authentication arrives with the auth work; nothing to
  // verify yet.
  pick_instance();
}

const ServiceDef& ClientSession::service() const { return ctx_->table->snapshot->services[ctx_->service]; }

void ClientSession::pick_instance() {
  RequestContext& c = *ctx_;
  const Snapshot& snapshot = *c.table->snapshot;
  const ServiceDef& svc = service();
  // Hash policies hash the request's key once, at its first pick; retries
  // reuse it to walk on from the same place.
  if (c.attempts == 0 && balancing::uses_key_hash(svc.policy)) {
    c.key_hash = balancing::request_key_hash(svc.policy, svc.hash_key, c.request, c.client.data.get() + c.head_offset,
                                             {peer_address_, peer_v6_}, worker_.settings().trusted_proxies);
  }
  const balancing::PickRequest request{{c.tried, c.attempts}, c.key_hash, worker_.now_ms()};
  const std::int64_t index = c.attempts < RequestContext::kMaxAttempts
                                 ? balancing::pick(svc, snapshot, *c.table, request, worker_.random())
                                 : balancing::kNone;
  if (index == balancing::kNone) {
    if (c.attempts == 0) {
      send_error(503, ErrorKind::no_instance);
    } else {
      send_error(c.error == ErrorKind::timeout ? 504 : 502, c.error);
    }
    return;
  }
  c.tried[c.attempts++] = static_cast<std::uint32_t>(index);
  c.instance = c.table->instances[static_cast<std::size_t>(index)];
  c.upstream_conn = UpstreamConn::take(*c.instance);
  if (c.upstream_conn) {
    try_active_ = true;
    ++c.instance->in_flight;
    send_request_head();
    return;
  }
  const std::uint32_t per_worker_limit =
      std::max<std::uint32_t>(1, svc.limits.max_connections_per_instance / worker_.settings().workers);
  if (c.instance->open_connections >= per_worker_limit) {
    send_error(503, ErrorKind::overflow);
    return;
  }
  try_active_ = true;
  ++c.instance->in_flight;
  connect_upstream();
}

// ---- errors -----------------------------------------------------------------

namespace {
std::string_view reason(std::uint16_t status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}
}  // namespace

void ClientSession::send_error(std::uint16_t status, ErrorKind kind) {
  RequestContext& c = *ctx_;
  if (c.response_started) {
    // The client already has part of a response: all we can do is cut it.
    c.error = kind;
    c.keep_alive = false;
    finish_request();
    return;
  }
  c.error = kind;
  c.status = status;
  // An unread request body would be taken for the next request: close.
  if (!c.request_body_done) c.keep_alive = false;
  const std::string_view id(c.request_id, c.request_id_length);
  char body[256];
  auto body_end = fmt::format_to_n(body, sizeof body, R"({{"error":"{}","request_id":"{}"}})", to_string(kind), id);
  const std::size_t body_length = std::min(body_end.size, sizeof body);
  c.bytes_out = body_length;  // the access log's bytes_out: this body, as for an upstream's
  ByteBuffer& out = c.out;
  out.clear();
  auto head_end = fmt::format_to_n(out.data.get(), out.capacity,
                                   "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                                   "X-Request-Id: {}\r\n{}{}\r\n",
                                   status, reason(status), body_length, id, status == 503 ? "Retry-After: 1\r\n" : "",
                                   c.keep_alive ? "" : "Connection: close\r\n");
  out.end = std::min(head_end.size, out.capacity);
  std::memcpy(out.data.get() + out.end, body, std::min(body_length, out.capacity - out.end));
  out.end += std::min(body_length, out.capacity - out.end);
  c.response_started = true;
  phase_ = Phase::send_error;
  set_deadline_in(worker_.settings().keepalive_timeout.count());
  write_all(socket_, asio::buffer(out.data.get(), out.end),
            [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec) {
              if (self->phase_ == Phase::closed) return;
              if (ec) self->ctx_->keep_alive = false;
              self->finish_request();
            });
}

// ---- 7. record, 8. keep-alive or close ---------------------------------------

void ClientSession::end_try(bool reusable) {
  RequestContext& c = *ctx_;
  if (try_active_) {
    try_active_ = false;
    if (c.instance) --c.instance->in_flight;
  }
  if (c.upstream_conn) {
    if (reusable && c.instance && !worker_.draining()) {
      c.upstream_conn->count_request();
      c.upstream_conn->park(service().timeouts.idle.count());
    } else {
      c.upstream_conn->close();
    }
    c.upstream_conn.reset();
  }
}

void ClientSession::record() {
  RequestContext& c = *ctx_;
  if (!request_active_) return;
  request_active_ = false;
  const std::uint64_t now_ns = steady_now_ns();
  // Upstream time: from the last try's head write to the end of the response.
  if (c.upstream_answered) c.upstream_ns = now_ns - c.upstream_start_ns;
  const std::uint64_t micros = (now_ns - c.start_ns) / 1000;
  const std::size_t cls = c.status >= 100 && c.status < 600 ? c.status / 100 - 1 : 4;
  // A request the client abandoned before any status is in the access log
  // (error client_closed), not in the per-route counters.
  if (c.route >= 0 && c.table) {
    RouteRuntime& route = *c.table->routes[static_cast<std::size_t>(c.route)];
    if (c.status) {
      ++route.requests[cls];
      route.latency.record(micros);
    }
  } else if (c.status) {
    ++worker_.stats().unrouted_requests[cls];
  }
  AccessLogBuffer* log = worker_.access_log();
  if (!log) return;
  AccessLogRecord entry;
  entry.request_id = {c.request_id, c.request_id_length};
  entry.client_ip = {c.client_ip, c.client_ip_length};
  entry.client_port = peer_port_;
  entry.method = c.log_method;
  entry.host = c.log_host;
  entry.path = c.log_path;
  if (c.route >= 0 && c.table) {
    const RouteRuntime& route = *c.table->routes[static_cast<std::size_t>(c.route)];
    entry.route = route.name_json;
    entry.service = route.service_json;
    entry.tenant = c.table->snapshot->services[c.service].tenant_json;
  }
  if (c.instance) {
    entry.instance = c.instance->id_json;
    entry.upstream = c.instance->address;
  }
  entry.status = c.status;
  entry.bytes_in = c.bytes_in;
  entry.bytes_out = c.bytes_out;
  entry.duration_ns = now_ns - c.start_ns;
  entry.upstream_ns = c.upstream_ns;
  entry.error = to_string(c.error);
  log->append(entry, worker_.now_ms());
}

void ClientSession::finish_request() {
  RequestContext& c = *ctx_;
  end_try(c.upstream_reusable && c.error == ErrorKind::none);
  record();
  if (!c.keep_alive || draining_ || worker_.draining()) {
    if (!c.request_body_done || c.client.size() > 0) {
      linger_close();
    } else {
      close();
    }
    return;
  }
  next_request();
}

void ClientSession::next_request() {
  RequestContext& c = *ctx_;
  // Bytes after this request (pipelining) stay in the client buffer.
  const std::size_t leftover_begin = c.client.begin;
  const std::size_t leftover_end = c.client.end;
  c.reset_request();
  c.client.begin = leftover_begin;
  c.client.end = leftover_end;
  idle_since_ms_ = worker_.now_ms();
  timed_out_ = false;
  phase_ = Phase::buffered_idle;
  if (c.client.size() > 0) {
    // Pipelined request already buffered. Posted rather than called: answers
    // written synchronously would otherwise recurse once per request.
    asio::post(socket_.get_executor(), [self = LocalPtr<ClientSession>(this)] {
      if (self->phase_ == Phase::buffered_idle) self->parse_header();
    });
    return;
  }
  c.client.clear();
  const std::uint64_t grace =
      std::min<std::uint64_t>(worker_.settings().buffer_grace.count(), worker_.settings().keepalive_timeout.count());
  set_deadline_in(grace);
  read_header();
}

void ClientSession::drain() {
  draining_ = true;
  const bool nothing_read = phase_ == Phase::read_header && ctx_ && ctx_->client.size() == 0;
  if (phase_ == Phase::idle || phase_ == Phase::buffered_idle || nothing_read) close();
  // Otherwise the response in progress carries "Connection: close".
}

void ClientSession::on_deadline() {
  switch (phase_) {
    case Phase::closed:
      return;
    case Phase::idle:
    case Phase::linger:
      close();
      return;
    case Phase::tunnel:
      on_tunnel_deadline();
      return;
    case Phase::buffered_idle:
      if (worker_.now_ms() - idle_since_ms_ >= static_cast<std::uint64_t>(worker_.settings().keepalive_timeout.count())) {
        close();
        return;
      }
      release_on_abort_ = true;
      {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
      }
      return;
    default:
      timed_out_ = true;
      {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
        if (ctx_ && ctx_->upstream_conn) ctx_->upstream_conn->socket().cancel(ignored);
      }
      return;
  }
}

void ClientSession::close() {
  if (phase_ == Phase::closed) return;
  if (phase_ == Phase::tunnel) --worker_.stats().tunnels_active;
  phase_ = Phase::closed;
  TimerWheel::clear(*this);
  if (ctx_) {
    if (request_active_ && ctx_->error == ErrorKind::none && ctx_->status == 0) ctx_->error = ErrorKind::client_closed;
    end_try(false);
    record();
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (idle_fd_ >= 0) {
    ::close(idle_fd_);  // also removes it from the IdleWatcher's set
    idle_fd_ = -1;
  }
  SessionHook::unlink();  // from the worker's session list
  if (idle_reference_) {
    // The session's reference to itself goes; it may be the last, so it is
    // dropped from a posted handler rather than under our caller's feet.
    LocalPtr<ClientSession> keep(this);
    drop_idle_reference();
    asio::post(worker_.io(), [keep = std::move(keep)] {});
  }
}

void ClientSession::linger_close() {
  // The client may still be sending a body we did not read. Closing now would
  // answer it with a reset, which can destroy our response in the client's
  // receive buffer; instead stop sending, then read and discard until the
  // client closes or kLingerMs have passed (one deadline, never extended).
  phase_ = Phase::linger;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  set_deadline_in(kLingerMs);
  linger_read();
}

void ClientSession::linger_read() {
  ctx_->client.clear();
  socket_.async_read_some(asio::buffer(ctx_->client.data.get(), ctx_->client.capacity),
                          [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t) {
                            if (self->phase_ != Phase::linger) return;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->linger_read();
                          });
}

}  // namespace tg::proxy
