// ClientSession, phase 6 (forward): connect or reuse a pooled upstream
// connection, send the rebuilt head with the body bytes already read in one
// gathered write, stream the rest of the body with bounded buffers, read the
// response head, and stream the response back.
//
// Retry rule (docs/life-of-a-request.md, Retries): a failed try may go to another instance
// when (a) no byte of it reached the upstream (connect failure), whatever the
// method, or (b) the method is idempotent
// and its body was kept whole (it fitted in the first read) — in both cases
// only for the failure kinds `retry.on` lists and within `retry.attempts`.
#include "balancing/feedback.hpp"
#include "runtime/worker.hpp"
#include "session/client_session.hpp"
#include "session/write_all.hpp"

#include "http/head_writer.hpp"

#include <array>

namespace tg::proxy {

namespace {
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::size_t status_class(std::uint16_t status) { return status >= 100 && status < 600 ? status / 100 - 1 : 4; }
}  // namespace

void ClientSession::count_upstream_error(UpstreamError kind) {
  if (ctx_->instance) ++ctx_->instance->errors[static_cast<std::size_t>(kind)];
}

void ClientSession::connect_upstream() {
  RequestContext& c = *ctx_;
  phase_ = Phase::connect;
  set_deadline_in(service().timeouts.connect.count());
  c.upstream_conn.reset(new UpstreamConn(worker_.pool_host(), *c.instance));
  // Non-blocking for write_all's synchronous first try; set before the
  // connect, which then needs no flag change of its own (one ioctl, not two).
  {
    boost::system::error_code ignored;
    Socket& s = c.upstream_conn->socket();
    s.open(c.instance->endpoint.protocol(), ignored);
    s.non_blocking(true, ignored);
  }
  c.upstream_conn->socket().async_connect(
      c.instance->endpoint,
      [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec) { self->on_connected(ec); });
}

void ClientSession::on_connected(const boost::system::error_code& ec) {
  if (phase_ == Phase::closed) return;
  if (ec) {
    count_upstream_error(UpstreamError::connect_failure);
    try_failed(ErrorKind::connect_failure, true);
    return;
  }
  boost::system::error_code ignored;
  ctx_->upstream_conn->socket().set_option(tcp::no_delay(true), ignored);
  send_request_head();
}

void ClientSession::send_request_head() {
  RequestContext& c = *ctx_;
  const http::RequestHead& req = c.request;
  char* base = c.client.data.get() + c.head_offset;
  phase_ = Phase::send_request;
  c.upstream_start_ns = steady_now_ns();

  // Body bytes that arrived with the head go out with it (computed once: a
  // retry resends the same bytes, which are still in the buffer).
  if (!c.body_prefix_known) {
    c.body_prefix_known = true;
    std::size_t available = c.client.end - (c.head_offset + req.head_length);
    std::size_t take = 0;
    if (c.request_body == BodyKind::fixed) {
      take = static_cast<std::size_t>(std::min<std::uint64_t>(available, c.request_remaining));
      c.request_remaining -= take;
      c.request_body_done = c.request_remaining == 0;
    } else if (c.request_body == BodyKind::chunked) {
      auto r = c.request_chunks.consume(base + req.head_length, available, take);
      if (r == http::ChunkedScanner::Result::error) {
        end_try(false);
        send_error(400, ErrorKind::bad_request);
        return;
      }
      if (c.request_chunks.data_bytes() > service().limits.max_body) {
        end_try(false);
        send_error(413, ErrorKind::body_too_large);
        return;
      }
      c.request_body_done = r == http::ChunkedScanner::Result::done;
    }
    c.request_body_in_head_buffer = static_cast<std::uint32_t>(take);
    c.client.begin = c.head_offset + req.head_length + take;
    c.bytes_in = take;
  }

  // Expect: 100-continue is answered by the proxy, once it has accepted the
  // request; the upstream never sees the expectation.
  bool drop_expect = false;
  if (req.expect_continue && req.version_minor == 1) {
    drop_expect = true;
    if (!c.request_body_done && !c.sent_continue) {
      c.sent_continue = true;
      boost::system::error_code ec;
      std::size_t n = socket_.write_some(asio::buffer(kContinue), ec);
      if (n != kContinue.size()) {
        close();
        return;
      }
    }
  }

  std::string_view path = c.path;
  const RouteDef& route = c.table->snapshot->routes[static_cast<std::size_t>(c.route)];
  if (!route.strip_prefix.empty() && path.starts_with(route.strip_prefix)) path.remove_prefix(route.strip_prefix.size());

  http::UpstreamRequest in;
  in.base = base;
  in.head = &req;
  in.path = path;
  in.client_ip = {c.client_ip, c.client_ip_length};
  in.fallback_host = c.table->snapshot->instances[c.tried[c.attempts - 1]].address;
  in.request_id = {c.request_id, c.request_id_length};
  in.request_id_from_client = c.request_id_from_client;
  in.drop_expect = drop_expect;
  in.upgrade = c.upgrade;
  c.out.end = http::write_upstream_request(c.out.data.get(), c.out.capacity, in);
  if (c.out.end == 0) {
    end_try(false);
    send_error(431, ErrorKind::headers_too_large);
    return;
  }
  const std::array<asio::const_buffer, 2> buffers{
      asio::const_buffer(c.out.data.get(), c.out.end),
      asio::const_buffer(base + req.head_length, c.request_body_in_head_buffer)};
  set_deadline_in(service().timeouts.idle.count());
  write_all(c.upstream_conn->socket(), buffers,
            [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec) {
              self->on_request_head_sent(ec);
            });
}

void ClientSession::on_request_head_sent(const boost::system::error_code& ec) {
  if (phase_ == Phase::closed) return;
  if (ec) {
    count_upstream_error(timed_out_ ? UpstreamError::timeout : UpstreamError::reset);
    // Part of the head may have reached the upstream: only rule (b) applies.
    try_failed(timed_out_ ? ErrorKind::timeout : ErrorKind::upstream_reset, false);
    return;
  }
  if (ctx_->request_body_done) {
    await_response();
  } else {
    watch_upstream();
    read_request_body();
  }
}

void ClientSession::read_request_body() {
  RequestContext& c = *ctx_;
  phase_ = Phase::stream_request;
  set_deadline_in(service().timeouts.idle.count());
  if (c.client.begin == c.client.end) c.client.clear();
  if (c.client.space() == 0) c.client.compact();
  socket_.async_read_some(asio::buffer(c.client.write_ptr(), c.client.space()),
                          [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t n) {
                            self->on_request_body_read(ec, n);
                          });
}

void ClientSession::on_request_body_read(const boost::system::error_code& ec, std::size_t n) {
  // Any other phase: the body was stopped by an early response (this read was
  // cancelled), or the connection closed.
  if (phase_ != Phase::stream_request) return;
  RequestContext& c = *ctx_;
  if (ec) {
    // The client stopped sending (closed or stalled): the upstream has a
    // partial request, so neither side can be reused.
    c.error = timed_out_ ? ErrorKind::timeout : ErrorKind::client_closed;
    close();
    return;
  }
  c.request_body_streamed = true;
  c.client.end += n;
  std::size_t take = 0;
  const char* data = c.client.read_ptr();
  if (c.request_body == BodyKind::fixed) {
    take = static_cast<std::size_t>(std::min<std::uint64_t>(c.client.size(), c.request_remaining));
    c.request_remaining -= take;
    c.request_body_done = c.request_remaining == 0;
  } else {
    auto r = c.request_chunks.consume(data, c.client.size(), take);
    if (r == http::ChunkedScanner::Result::error) {
      end_try(false);
      send_error(400, ErrorKind::bad_request);
      return;
    }
    if (c.request_chunks.data_bytes() > service().limits.max_body) {
      end_try(false);
      send_error(413, ErrorKind::body_too_large);
      return;
    }
    c.request_body_done = r == http::ChunkedScanner::Result::done;
  }
  c.bytes_in += take;
  write_all(c.upstream_conn->socket(), asio::buffer(data, take),
            [self = LocalPtr<ClientSession>(this), take](const boost::system::error_code& e) {
              self->on_request_body_sent(e, take);
            });
}

void ClientSession::on_request_body_sent(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ != Phase::stream_request) return;
  RequestContext& c = *ctx_;
  if (ec) {
    count_upstream_error(timed_out_ ? UpstreamError::timeout : UpstreamError::reset);
    try_failed(timed_out_ ? ErrorKind::timeout : ErrorKind::upstream_reset, false);
    return;
  }
  c.client.begin += n;
  if (c.request_body_done) {
    await_response();
  } else {
    read_request_body();
  }
}

void ClientSession::await_response() {
  RequestContext& c = *ctx_;
  phase_ = Phase::await_response;
  const ServiceDef& svc = service();
  const auto wait = svc.retry.per_try_timeout.count() > 0
                        ? std::min(svc.retry.per_try_timeout, svc.timeouts.response_headers)
                        : svc.timeouts.response_headers;
  set_deadline_in(static_cast<std::uint64_t>(wait.count()));
  // The read started while the body streamed is still pending (and may hold
  // the start of a head): its completion continues here.
  if (c.upstream_read_pending) return;
  c.upstream.clear();
  c.upstream_scanned = 0;
  read_response_head();
}

void ClientSession::read_response_head() {
  ByteBuffer& up = ctx_->upstream;
  ctx_->upstream_read_pending = true;
  ctx_->upstream_conn->socket().async_read_some(
      asio::buffer(up.write_ptr(), up.space()),
      [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t n) {
        self->on_response_bytes(ec, n);
      });
}

void ClientSession::on_response_bytes(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ == Phase::closed) return;
  RequestContext& c = *ctx_;
  c.upstream_read_pending = false;
  if (phase_ == Phase::stream_request) {
    on_early_response_bytes(ec, n);
    return;
  }
  // The try this read belonged to has ended (its connection was closed).
  if (phase_ != Phase::await_response) return;
  if (ec) {
    response_head_read_failed();
    return;
  }
  c.upstream.end += n;
  parse_response_head();
}

void ClientSession::response_head_read_failed() {
  // The deadline fired, the upstream closed before a byte, or it closed
  // inside a head.
  if (timed_out_) {
    count_upstream_error(UpstreamError::timeout);
    try_failed(ErrorKind::timeout, false);
  } else if (ctx_->upstream.size() == 0) {
    count_upstream_error(UpstreamError::reset);
    try_failed(ErrorKind::upstream_reset, false);
  } else {
    count_upstream_error(UpstreamError::protocol);
    try_failed(ErrorKind::bad_upstream_response, false);
  }
}

void ClientSession::parse_response_head() {
  RequestContext& c = *ctx_;
  ByteBuffer& up = c.upstream;
  for (;;) {
    if (up.size() == 0) {
      up.clear();
      read_response_head();
      return;
    }
    const auto status = http::parse_response(up.read_ptr(), up.size(), c.upstream_scanned,
                                             worker_.settings().limits, c.response_fields, c.response);
    if (status == http::ParseStatus::error) {
      count_upstream_error(UpstreamError::protocol);
      try_failed(ErrorKind::bad_upstream_response, false);
      return;
    }
    if (status == http::ParseStatus::incomplete) {
      if (up.space() == 0) up.compact();
      read_response_head();
      return;
    }
    const std::uint16_t code = c.response.status;
    if (code >= 200) break;
    if (code == 101) {
      if (c.upgrade) {
        start_tunnel();
        return;
      }
      // An upgrade the client did not ask for (or one the proxy does not
      // tunnel: HTTP/1.0, a request body) cannot be honoured.
      count_upstream_error(UpstreamError::protocol);
      try_failed(ErrorKind::bad_upstream_response, false);
      return;
    }
    // Interim responses. 100 Continue is the proxy's to send (it answers
    // Expect itself and does not forward it); others (102, 103 Early Hints)
    // go to HTTP/1.1 clients (RFC 9110 §15.2) — HTTP/1.0 clients cannot take them.
    if (code != 100 && c.request.version_minor >= 1) {
      relay_interim_response();
      return;
    }
    up.begin += c.response.head_length;
    c.upstream_scanned = 0;
  }
  final_response_head();
}

// A final (>= 200) response head is parsed in ctx->response: retry on its
// status, or relay it.
void ClientSession::final_response_head() {
  RequestContext& c = *ctx_;
  ByteBuffer& up = c.upstream;
  const std::uint16_t code = c.response.status;
  // peak_ewma learns from every final response head, retried ones included.
  if (service().policy == config::LbPolicy::peak_ewma) {
    balancing::observe_response_head(*c.instance, c.response, up.read_ptr(), steady_now_ns() - c.upstream_start_ns,
                                     worker_.now_ms());
  }
  const std::uint32_t on = service().retry.on;
  const bool retry_status = (code == 502 && (on & config::retry_502)) || (code == 503 && (on & config::retry_503)) ||
                            (code == 504 && (on & config::retry_504));
  // Only when another instance is left: otherwise the client is better served
  // by the upstream's own answer than by a 502.
  const bool untried_left = service().instances.size() > c.attempts;
  if (retry_status && untried_left && c.attempts < service().retry.attempts &&
      can_retry(ErrorKind::bad_upstream_response, false)) {
    ++c.instance->responses[status_class(code)];
    c.error = ErrorKind::bad_upstream_response;
    end_try(false);
    pick_instance();
    return;
  }
  handle_response_head();
}

void ClientSession::relay_interim_response() {
  RequestContext& c = *ctx_;
  ByteBuffer& up = c.upstream;
  http::DownstreamResponse out;
  out.base = up.read_ptr();
  out.head = &c.response;
  out.request_id = {c.request_id, c.request_id_length};
  out.interim = true;
  c.out.end = http::write_downstream_response(c.out.data.get(), c.out.capacity, out);
  up.begin += c.response.head_length;
  c.upstream_scanned = 0;
  if (c.out.end == 0) {  // does not fit our buffer: interim responses are optional
    parse_response_head();
    return;
  }
  ++worker_.stats().interim_responses;
  write_all(socket_, asio::buffer(c.out.data.get(), c.out.end),
            [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec) {
              if (self->phase_ == Phase::closed) return;
              if (ec) {
                self->ctx_->error = ErrorKind::client_closed;
                self->close();
                return;
              }
              self->parse_response_head();
            });
}

std::size_t ClientSession::take_response_body(char* data, std::size_t size, std::size_t& send) {
  RequestContext& c = *ctx_;
  std::size_t take = 0;
  send = 0;
  switch (c.response_body) {
    case BodyKind::none:
      c.response_done = true;
      break;
    case BodyKind::fixed:
      take = static_cast<std::size_t>(std::min<std::uint64_t>(size, c.response_remaining));
      c.response_remaining -= take;
      c.response_done = c.response_remaining == 0;
      send = take;
      break;
    case BodyKind::chunked: {
      auto r = c.response_dechunk ? c.response_chunks.consume_decoding(data, size, take, send)
                                  : c.response_chunks.consume(data, size, take);
      if (r == http::ChunkedScanner::Result::error) {
        count_upstream_error(UpstreamError::protocol);
        c.error = ErrorKind::bad_upstream_response;
        c.upstream_reusable = false;
        c.keep_alive = false;
        c.response_done = true;  // cut here; the client sees a truncated body
        send = 0;
        return 0;
      }
      if (!c.response_dechunk) send = take;
      c.response_done = r == http::ChunkedScanner::Result::done;
      break;
    }
    case BodyKind::until_close:
      take = size;
      send = take;
      break;
  }
  // Bytes past the end of the response: the upstream is out of step.
  if (c.response_done && take < size) c.upstream_reusable = false;
  return take;
}

void ClientSession::handle_response_head() {
  RequestContext& c = *ctx_;
  const http::ResponseHead& resp = c.response;
  ByteBuffer& up = c.upstream;
  c.status = resp.status;
  c.upstream_answered = true;
  ++c.instance->responses[status_class(resp.status)];

  if (c.request.method_id == http::Method::head || resp.status == 204 || resp.status == 304) {
    c.response_body = BodyKind::none;
  } else if (resp.chunked) {
    c.response_body = BodyKind::chunked;
    if (c.request.version_minor == 0) {
      // HTTP/1.0 has no chunked coding: send the data alone and mark its end
      // by closing.
      c.response_dechunk = true;
      c.keep_alive = false;
    }
  } else if (resp.content_length >= 0) {
    c.response_body = resp.content_length == 0 ? BodyKind::none : BodyKind::fixed;
    c.response_remaining = static_cast<std::uint64_t>(resp.content_length);
  } else {
    // Delimited by the upstream closing: nothing tells the client where it
    // ends but our close.
    c.response_body = BodyKind::until_close;
    c.upstream_reusable = false;
    c.keep_alive = false;
  }
  if (resp.connection_close || (resp.version_minor == 0 && !resp.connection_keep_alive) || !c.request_body_done)
    c.upstream_reusable = false;
  // An early response: the rest of the body stays unread on the client
  // connection, which therefore cannot carry another request.
  if (!c.request_body_done) c.keep_alive = false;
  if (draining_ || worker_.draining()) c.keep_alive = false;

  http::DownstreamResponse out;
  out.base = up.read_ptr();
  out.head = &resp;
  out.request_id = {c.request_id, c.request_id_length};
  out.keep_alive = c.keep_alive;
  out.client_http10 = c.request.version_minor == 0;
  out.dechunked = c.response_dechunk;
  c.out.end = http::write_downstream_response(c.out.data.get(), c.out.capacity, out);
  if (c.out.end == 0) {
    count_upstream_error(UpstreamError::protocol);
    try_failed(ErrorKind::bad_upstream_response, false);
    return;
  }
  up.begin += resp.head_length;
  char* body = up.read_ptr();
  std::size_t send = 0;
  const std::size_t take = take_response_body(body, up.size(), send);
  if (c.error == ErrorKind::bad_upstream_response) {
    // Bad framing in the first bytes: nothing has reached the client yet, so
    // it gets a clean 502 rather than a head followed by a cut body.
    end_try(false);
    send_error(502, ErrorKind::bad_upstream_response);
    return;
  }
  up.begin += take;
  c.bytes_out = send;
  c.response_started = true;
  phase_ = Phase::send_response;
  set_deadline_in(service().timeouts.idle.count());
  const std::array<asio::const_buffer, 2> buffers{asio::const_buffer(c.out.data.get(), c.out.end),
                                                  asio::const_buffer(body, send)};
  write_all(socket_, buffers, [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec) {
    self->on_response_head_sent(ec);
  });
}

void ClientSession::on_response_head_sent(const boost::system::error_code& ec) {
  if (phase_ == Phase::closed) return;
  if (ec) {
    ctx_->error = timed_out_ ? ErrorKind::timeout : ErrorKind::client_closed;
    close();
    return;
  }
  if (ctx_->response_done) {
    finish_request();
  } else {
    read_response_body();
  }
}

void ClientSession::read_response_body() {
  RequestContext& c = *ctx_;
  phase_ = Phase::stream_response;
  set_deadline_in(service().timeouts.idle.count());
  c.upstream.clear();
  c.upstream_conn->socket().async_read_some(
      asio::buffer(c.upstream.write_ptr(), c.upstream.space()),
      [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t n) {
        self->on_response_body_read(ec, n);
      });
}

void ClientSession::on_response_body_read(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ == Phase::closed) return;
  RequestContext& c = *ctx_;
  if (ec) {
    c.upstream_reusable = false;
    if (ec == asio::error::eof && c.response_body == BodyKind::until_close) {
      finish_request();  // the normal end of such a body
      return;
    }
    count_upstream_error(timed_out_ ? UpstreamError::timeout : UpstreamError::reset);
    c.error = timed_out_ ? ErrorKind::timeout : ErrorKind::upstream_reset;
    c.keep_alive = false;  // the client has a truncated body: only a close tells it
    finish_request();
    return;
  }
  c.upstream.end += n;
  char* data = c.upstream.read_ptr();
  std::size_t send = 0;
  take_response_body(data, c.upstream.size(), send);
  if (c.error == ErrorKind::bad_upstream_response) {
    finish_request();
    return;
  }
  c.bytes_out += send;
  write_all(socket_, asio::buffer(data, send),
            [self = LocalPtr<ClientSession>(this), send](const boost::system::error_code& e) {
              self->on_response_body_sent(e, send);
            });
}

void ClientSession::on_response_body_sent(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ == Phase::closed) return;
  RequestContext& c = *ctx_;
  if (ec) {
    c.error = timed_out_ ? ErrorKind::timeout : ErrorKind::client_closed;
    close();
    return;
  }
  (void)n;
  if (c.response_done) {
    finish_request();
  } else {
    read_response_body();
  }
}

// ---- failures and retries ---------------------------------------------------

bool ClientSession::can_retry(ErrorKind kind, bool nothing_sent) const {
  const RequestContext& c = *ctx_;
  const config::Retry& retry = service().retry;
  if (c.attempts >= retry.attempts) return false;
  std::uint32_t flag = 0;
  switch (kind) {
    case ErrorKind::connect_failure: flag = config::retry_connect_failure; break;
    case ErrorKind::upstream_reset: flag = config::retry_reset; break;
    case ErrorKind::timeout: flag = config::retry_timeout; break;
    case ErrorKind::bad_upstream_response: flag = ~0u; break;  // status retries: checked by the caller
    default: return false;
  }
  if (!(retry.on & flag)) return false;
  if (nothing_sent) return true;
  const std::uint64_t body = c.request_body_in_head_buffer;
  return c.request.idempotent() && c.request_body_done && !c.request_body_streamed && body <= retry.max_body;
}

void ClientSession::try_failed(ErrorKind kind, bool nothing_sent) {
  RequestContext& c = *ctx_;
  const bool stale = c.upstream_conn && c.upstream_conn->reused() && kind == ErrorKind::upstream_reset &&
                     c.upstream.size() == 0;
  c.error = kind;
  end_try(false);
  timed_out_ = false;
  if (c.response_started) {
    c.keep_alive = false;
    finish_request();
    return;
  }
  // A pooled connection the upstream had already closed (counted as a reset
  // above): try once more on a fresh connection to the same instance before
  // moving on to another instance or answering 502.
  const bool replayable = nothing_sent || (c.request.idempotent() && !c.request_body_streamed);
  if (stale && replayable && !c.stale_retry_used) {
    c.stale_retry_used = true;
    try_active_ = true;
    ++c.instance->in_flight;
    connect_upstream();
    return;
  }
  if (can_retry(kind, nothing_sent)) {
    pick_instance();
    return;
  }
  send_error(kind == ErrorKind::timeout ? 504 : 502, kind);
}

}  // namespace tg::proxy
