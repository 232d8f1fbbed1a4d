// Phase 6, one try (upstream_try.hpp). Early responses are in
// early_response.cpp, the tunnel after a 101 in tunnel.cpp.
#include "connection/upstream_try.hpp"

#include "balancing/feedback.hpp"
#include "connection/tunnel.hpp"
#include "connection/write_all.hpp"
#include "http/head_writer.hpp"
#include "pipeline/request_body.hpp"
#include "pipeline/outlier.hpp"
#include "upstream/peak_ewma.hpp"
#include "runtime/worker.hpp"

#include <array>
#include <optional>

namespace tg::proxy {

namespace {
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::size_t status_class(std::uint16_t status) { return status >= 100 && status < 600 ? status / 100 - 1 : 4; }
}  // namespace

bool UpstreamTry::is(TryStage stage) const {
  return d_.state_ == Downstream::State::forward && ex_.upstream.stage == stage;
}

void UpstreamTry::count(UpstreamError kind) {
  if (ex_.instance) ++ex_.instance->errors[static_cast<std::size_t>(kind)];
}

void UpstreamTry::start() {
  TryState& t = ex_.upstream;
  // The error of an earlier try was kept for phase 5 (the answer when no
  // instance is left); a new try starts without it, or a success after a
  // retry would be logged with it, its healthy connection closed instead of
  // pooled, and its body taken for bad framing (502).
  ex_.error = ErrorKind::none;
  t.reusable = true;
  t.read_pending = false;
  t.scanned = 0;
  if (t.conn) {
    send_head();
  } else {
    connect();
  }
}

void UpstreamTry::end(bool reusable) {
  TryState& t = ex_.upstream;
  t.stage = TryStage::none;
  if (t.active) {
    t.active = false;
    if (ex_.instance) --ex_.instance->in_flight;
  }
  if (t.conn) {
    if (reusable && ex_.instance && !d_.worker_.draining()) {
      t.conn->count_request();
      t.conn->park(service().timeouts.idle.count());
    } else {
      t.conn->close();
    }
    t.conn.reset();
  }
}

bool UpstreamTry::budget_allows_retry() {
  if (!ex_.budget) return true;
  const config::Retry& retry = service().retry;
  const std::uint32_t workers = std::max(1u, d_.worker_.settings().workers);
  const auto min_per_second = static_cast<std::uint32_t>((retry.min_retries_per_second + workers - 1) / workers);
  if (ex_.budget->budget.allow(d_.worker_.now_ms(), static_cast<std::uint32_t>(retry.budget_percent), min_per_second,
                               ex_.retrying)) {
    ex_.retrying = true;
    return true;
  }
  ex_.fate = Fate::retry_budget_exhausted;
  return false;
}

void UpstreamTry::connect() {
  ex_.upstream.stage = TryStage::connect;
  // retry.per_try_timeout bounds every try, its connect included.
  const ServiceDef& svc = service();
  const auto connect_wait = svc.retry.per_try_timeout.count() > 0
                                ? std::min(svc.retry.per_try_timeout, svc.timeouts.connect)
                                : svc.timeouts.connect;
  d_.set_deadline_in(static_cast<std::uint64_t>(connect_wait.count()));
  ex_.upstream.conn.reset(new UpstreamConn(d_.worker_.pool_host(), *ex_.instance));
  // Non-blocking for write_all's synchronous first try; set before the
  // connect, which then needs no flag change of its own (one ioctl, not two).
  {
    boost::system::error_code ignored;
    Socket& s = ex_.upstream.conn->socket();
    s.open(ex_.instance->endpoint.protocol(), ignored);
    s.non_blocking(true, ignored);
  }
  ex_.upstream.conn->socket().async_connect(
      ex_.instance->endpoint,
      [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec) { UpstreamTry(*self).on_connected(ec); });
}

void UpstreamTry::on_connected(const boost::system::error_code& ec) {
  if (!is(TryStage::connect)) return;
  if (ec) {
    count(UpstreamError::connect_failure);
    failed(ErrorKind::connect_failure, Sent::nothing);
    return;
  }
  boost::system::error_code ignored;
  ex_.upstream.conn->socket().set_option(tcp::no_delay(true), ignored);
  send_head();
}

void UpstreamTry::send_head() {
  const http::RequestHead& req = c_.request;
  char* base = c_.client.data.get() + ex_.head_offset;
  ex_.upstream.stage = TryStage::send_head;
  ex_.upstream_start_ns = steady_now_ns();

  // Body bytes that arrived with the head go out with it (computed once: a
  // retry resends the same bytes, which are still in the buffer).
  if (!ex_.body.prefix_known && ex_.body.kind != BodyKind::none) {
    ex_.body.prefix_known = true;
    std::size_t take = 0, send = 0;
    const std::size_t available = c_.client.end - (ex_.head_offset + req.head_length);
    const BodyScan scan =
        scan_request_body(ex_.body, base + req.head_length, available, take, send, service().limits.max_body);
    if (scan != BodyScan::ok) {
      end(false);
      d_.refuse_body(scan, PhaseId::forward);
      return;
    }
    ex_.body.in_head_buffer = static_cast<std::uint32_t>(send);
    c_.client.begin = ex_.head_offset + req.head_length + take;
  }
  ex_.body.bytes = ex_.body.in_head_buffer;

  // Expect: 100-continue is answered by the proxy, once it has accepted the
  // request; the upstream never sees the expectation.
  bool drop_expect = false;
  if (req.expect_continue && req.version_minor == 1) {
    drop_expect = true;
    if (!ex_.body.done && !ex_.sent_continue) {
      ex_.sent_continue = true;
      boost::system::error_code ec;
      std::size_t n = d_.socket_.write_some(asio::buffer(kContinue), ec);
      if (n != kContinue.size()) {
        d_.close();
        return;
      }
    }
  }

  std::string_view path = ex_.path;
  const RouteDef& route = ex_.table->snapshot->routes[static_cast<std::size_t>(ex_.route)];
  if (!route.strip_prefix.empty() && path.starts_with(route.strip_prefix)) path.remove_prefix(route.strip_prefix.size());

  http::UpstreamRequest in;
  in.base = base;
  in.head = &req;
  in.path = path;
  in.client_ip = {c_.client_ip, c_.client_ip_length};
  in.fallback_host = ex_.table->snapshot->instances[ex_.tried[ex_.attempts - 1]].address;
  in.request_id = {ex_.request_id, ex_.request_id_length};
  in.request_id_from_client = ex_.request_id_from_client;
  in.drop_expect = drop_expect;
  in.upgrade = ex_.upgrade;
  in.tenant_id = ex_.verified_tenant;
  in.strip_credentials = ex_.strip_credentials;
  c_.out.end = http::write_upstream_request(c_.out.data.get(), c_.out.capacity, in);
  if (c_.out.end == 0) {
    end(false);
    ex_.answered_by = PhaseId::forward;
    d_.respond(431, ErrorKind::headers_too_large);
    return;
  }
  const std::array<asio::const_buffer, 2> buffers{asio::const_buffer(c_.out.data.get(), c_.out.end),
                                                  asio::const_buffer(base + req.head_length, ex_.body.in_head_buffer)};
  d_.set_deadline_in(service().timeouts.idle.count());
  d_.write_all(ex_.upstream.conn->socket(), buffers,
               [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec) {
                 UpstreamTry(*self).on_head_sent(ec);
               });
}

void UpstreamTry::on_head_sent(const boost::system::error_code& ec) {
  if (!is(TryStage::send_head)) return;
  if (ec) {
    count(d_.timed_out_ ? UpstreamError::timeout : UpstreamError::reset);
    // Part of the head may have reached the upstream: only rule (b) applies.
    failed(d_.timed_out_ ? ErrorKind::timeout : ErrorKind::upstream_reset, Sent::some);
    return;
  }
  if (ex_.body.done) {
    await_response();
  } else {
    watch_for_early_response();
    read_body();
  }
}

void UpstreamTry::read_body() {
  ex_.upstream.stage = TryStage::stream_body;
  d_.set_deadline_in(service().timeouts.idle.count());
  ByteBuffer& in = c_.client;
  if (in.begin == in.end) in.clear();
  if (in.relay_space() == 0) in.compact();
  d_.socket_.async_read_some(asio::buffer(in.write_ptr(), in.relay_space()),
                             [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec, std::size_t n) {
                               UpstreamTry(*self).on_body_read(ec, n);
                             });
}

void UpstreamTry::on_body_read(const boost::system::error_code& ec, std::size_t n) {
  // Any other stage: the body was stopped by an early response (this read
  // was cancelled), or the connection closed.
  if (!is(TryStage::stream_body)) return;
  if (ec) {
    // The client stopped sending (closed or stalled): the upstream has a
    // partial request, so neither side can be reused.
    ex_.error = d_.timed_out_ ? ErrorKind::timeout : ErrorKind::client_closed;
    d_.close();
    return;
  }
  ex_.body.streamed = true;
  c_.client.end += n;
  std::size_t take = 0, send = 0;
  char* data = c_.client.read_ptr();
  const BodyScan scan = scan_request_body(ex_.body, data, c_.client.size(), take, send, service().limits.max_body);
  if (scan != BodyScan::ok) {
    end(false);
    d_.refuse_body(scan, PhaseId::forward);
    return;
  }
  ex_.body.bytes += send;
  d_.write_all(ex_.upstream.conn->socket(), asio::buffer(data, send),
               [self = LocalPtr<Downstream>(&d_), take](const boost::system::error_code& e) {
                 UpstreamTry(*self).on_body_sent(e, take);
               });
}

void UpstreamTry::on_body_sent(const boost::system::error_code& ec, std::size_t n) {
  if (!is(TryStage::stream_body)) return;
  if (ec) {
    count(d_.timed_out_ ? UpstreamError::timeout : UpstreamError::reset);
    failed(d_.timed_out_ ? ErrorKind::timeout : ErrorKind::upstream_reset, Sent::some);
    return;
  }
  c_.client.begin += n;
  if (ex_.body.done) {
    await_response();
  } else {
    read_body();
  }
}

void UpstreamTry::await_response() {
  ex_.upstream.stage = TryStage::await_response;
  const ServiceDef& svc = service();
  const auto wait = svc.retry.per_try_timeout.count() > 0
                        ? std::min(svc.retry.per_try_timeout, svc.timeouts.response_headers)
                        : svc.timeouts.response_headers;
  d_.set_deadline_in(static_cast<std::uint64_t>(wait.count()));
  // The read started while the body streamed is still pending (and may hold
  // the start of a head): its completion continues here.
  if (ex_.upstream.read_pending) return;
  c_.upstream.clear();
  ex_.upstream.scanned = 0;
  read_response_head();
}

void UpstreamTry::read_response_head() {
  ByteBuffer& up = c_.upstream;
  ex_.upstream.read_pending = true;
  ex_.upstream.conn->socket().async_read_some(
      asio::buffer(up.write_ptr(), up.space()),
      [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec, std::size_t n) {
        UpstreamTry(*self).on_response_bytes(ec, n);
      });
}

void UpstreamTry::on_response_bytes(const boost::system::error_code& ec, std::size_t n) {
  if (d_.state_ == Downstream::State::closed) return;
  ex_.upstream.read_pending = false;
  if (is(TryStage::stream_body)) {
    on_early_response_bytes(ec, n);
    return;
  }
  // The try this read belonged to has ended (its connection was closed).
  if (!is(TryStage::await_response)) return;
  if (ec) {
    response_head_read_failed();
    return;
  }
  c_.upstream.end += n;
  parse_response_head();
}

void UpstreamTry::response_head_read_failed() {
  // The deadline fired, the upstream closed before a byte, or it closed
  // inside a head.
  if (d_.timed_out_) {
    count(UpstreamError::timeout);
    failed(ErrorKind::timeout, Sent::some);
  } else if (c_.upstream.size() == 0) {
    count(UpstreamError::reset);
    failed(ErrorKind::upstream_reset, Sent::some);
  } else {
    count(UpstreamError::protocol);
    failed(ErrorKind::bad_upstream_response, Sent::some);
  }
}

void UpstreamTry::parse_response_head() {
  ByteBuffer& up = c_.upstream;
  for (;;) {
    if (up.size() == 0) {
      up.clear();
      read_response_head();
      return;
    }
    const auto status = http::parse_response(up.read_ptr(), up.size(), ex_.upstream.scanned,
                                             d_.worker_.settings().limits, c_.response_fields, c_.response);
    if (status == http::ParseStatus::error) {
      count(UpstreamError::protocol);
      failed(ErrorKind::bad_upstream_response, Sent::some);
      return;
    }
    if (status == http::ParseStatus::incomplete) {
      if (up.space() == 0) up.compact();
      read_response_head();
      return;
    }
    const std::uint16_t code = c_.response.status;
    if (code >= 200) break;
    if (code == 101) {
      if (ex_.upgrade) {
        Tunnel(d_).start();
        return;
      }
      // An upgrade the client did not ask for (or one the proxy does not
      // tunnel: HTTP/1.0, a request body) cannot be honoured.
      count(UpstreamError::protocol);
      failed(ErrorKind::bad_upstream_response, Sent::some);
      return;
    }
    // Interim responses. 100 Continue is the proxy's to send (it answers
    // Expect itself and does not forward it); others (102, 103 Early Hints)
    // go to HTTP/1.1 clients (RFC 9110 §15.2) — HTTP/1.0 clients cannot take them.
    if (code != 100 && c_.request.version_minor >= 1) {
      relay_interim_response();
      return;
    }
    up.begin += c_.response.head_length;
    ex_.upstream.scanned = 0;
  }
  final_response_head();
}

// A final (>= 200) response head is parsed in c_.response: retry on its
// status, or relay it.
void UpstreamTry::final_response_head() {
  ByteBuffer& up = c_.upstream;
  const std::uint16_t code = c_.response.status;
  const ServiceDef& svc = service();
  // peak_ewma learns from every final response head, retried ones included.
  if (svc.policy == config::LbPolicy::peak_ewma) {
    balancing::observe_response_head(*ex_.instance, c_.response, up.read_ptr(),
                                     steady_now_ns() - ex_.upstream_start_ns, d_.worker_.now_ms());
  }
  if (svc.outlier) [[unlikely]] {
    // 429/503 with Retry-After back the instance off; 5xx fail it with count_5xx.
    std::optional<std::uint64_t> wait_ms;
    if (code == 429 || code == 503) wait_ms = balancing::retry_after_ms(c_.response, up.read_ptr());
    if (wait_ms) {
      outlier_try_ended(d_.worker_, ex_, svc, OutlierOutcome::back_off, *wait_ms);
    } else if (code >= 500 && svc.breaker.count_5xx) {
      outlier_try_ended(d_.worker_, ex_, svc, OutlierOutcome::failure);
    } else if (!outlier_success_changes_nothing(*ex_.instance, ex_.probe)) {
      outlier_try_ended(d_.worker_, ex_, svc, OutlierOutcome::success);
    }
  }
  const std::uint32_t on = svc.retry.on;
  const bool retry_status = (code == 502 && (on & config::retry_502)) || (code == 503 && (on & config::retry_503)) ||
                            (code == 504 && (on & config::retry_504));
  if (retry_status) {
    // Only when another instance is left: otherwise the client is better
    // served by the upstream's own answer than by a 502.
    const bool untried_left = svc.instances.size() > ex_.attempts;
    Fate why = Fate::attempts_exhausted;
    if (untried_left &&
        decide_retry(ex_, c_.request, svc.retry, svc.limits.buffer_body,
                     {ErrorKind::bad_upstream_response, Sent::some, false}, &why) == RetryDecision::next_instance &&
        budget_allows_retry()) {
      ++ex_.instance->responses[status_class(code)];
      ex_.error = ErrorKind::bad_upstream_response;
      end(false);
      d_.retry();
      return;
    }
    if (ex_.fate == Fate::unset) ex_.fate = why;
  }
  relay_response_head();
}

void UpstreamTry::relay_interim_response() {
  ByteBuffer& up = c_.upstream;
  http::DownstreamResponse out;
  out.base = up.read_ptr();
  out.head = &c_.response;
  out.request_id = {ex_.request_id, ex_.request_id_length};
  out.interim = true;
  c_.out.end = http::write_downstream_response(c_.out.data.get(), c_.out.capacity, out);
  up.begin += c_.response.head_length;
  ex_.upstream.scanned = 0;
  if (c_.out.end == 0) {  // does not fit our buffer: interim responses are optional
    parse_response_head();
    return;
  }
  ++d_.worker_.stats().interim_responses;
  d_.write_all(d_.socket_, asio::buffer(c_.out.data.get(), c_.out.end),
               [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec) {
                 UpstreamTry t(*self);
                 if (!t.is(TryStage::await_response)) return;
                 if (ec) {
                   t.ex_.error = ErrorKind::client_closed;
                   self->close();
                   return;
                 }
                 t.parse_response_head();
               });
}

std::size_t UpstreamTry::take_response_body(char* data, std::size_t size, std::size_t& send) {
  ResponseState& r = ex_.response;
  std::size_t take = 0;
  send = 0;
  switch (r.body) {
    case BodyKind::none:
      r.done = true;
      break;
    case BodyKind::fixed:
      take = static_cast<std::size_t>(std::min<std::uint64_t>(size, r.remaining));
      r.remaining -= take;
      r.done = r.remaining == 0;
      send = take;
      break;
    case BodyKind::chunked: {
      // Relayed in canonical framing (a held-back '0' of a size line is
      // presented again with the next bytes: the caller keeps data[take, size)).
      auto result = r.dechunk ? r.chunks.consume_decoding(data, size, take, send)
                              : r.chunks.consume_canonical(data, size, take, send);
      if (result == http::ChunkedScanner::Result::error) {
        count(UpstreamError::protocol);
        ex_.error = ErrorKind::bad_upstream_response;
        ex_.upstream.reusable = false;
        ex_.keep_alive = false;
        r.done = true;  // cut here; the client sees a truncated body
        send = 0;
        return 0;
      }
      r.done = result == http::ChunkedScanner::Result::done;
      break;
    }
    case BodyKind::until_close:
      take = size;
      send = take;
      break;
  }
  // Bytes past the end of the response: the upstream is out of step.
  if (r.done && take < size) ex_.upstream.reusable = false;
  return take;
}

void UpstreamTry::relay_response_head() {
  const http::ResponseHead& resp = c_.response;
  ByteBuffer& up = c_.upstream;
  ResponseState& r = ex_.response;
  ex_.status = resp.status;
  r.from_upstream = true;
  ++ex_.instance->responses[status_class(resp.status)];

  if (c_.request.method_id == http::Method::head || resp.status == 204 || resp.status == 304) {
    r.body = BodyKind::none;
  } else if (resp.chunked) {
    r.body = BodyKind::chunked;
    if (c_.request.version_minor == 0) {
      // HTTP/1.0 has no chunked coding: send the data alone and mark its end
      // by closing.
      r.dechunk = true;
      ex_.keep_alive = false;
    }
  } else if (resp.content_length >= 0) {
    r.body = resp.content_length == 0 ? BodyKind::none : BodyKind::fixed;
    r.remaining = static_cast<std::uint64_t>(resp.content_length);
  } else {
    // Delimited by the upstream closing: nothing tells the client where it
    // ends but our close.
    r.body = BodyKind::until_close;
    ex_.upstream.reusable = false;
    ex_.keep_alive = false;
  }
  if (resp.connection_close || (resp.version_minor == 0 && !resp.connection_keep_alive) || !ex_.body.done)
    ex_.upstream.reusable = false;
  // An early response: the rest of the body stays unread on the client
  // connection, which therefore cannot carry another request.
  if (!ex_.body.done) ex_.keep_alive = false;
  if (d_.draining_ || d_.worker_.draining()) ex_.keep_alive = false;

  http::DownstreamResponse out;
  out.base = up.read_ptr();
  out.head = &resp;
  out.request_id = {ex_.request_id, ex_.request_id_length};
  out.keep_alive = ex_.keep_alive;
  out.client_http10 = c_.request.version_minor == 0;
  out.dechunked = r.dechunk;
  c_.out.end = http::write_downstream_response(c_.out.data.get(), c_.out.capacity, out);
  if (c_.out.end == 0) {
    count(UpstreamError::protocol);
    failed(ErrorKind::bad_upstream_response, Sent::some);
    return;
  }
  up.begin += resp.head_length;
  char* body = up.read_ptr();
  std::size_t send = 0;
  const std::size_t take = take_response_body(body, up.size(), send);
  if (ex_.error == ErrorKind::bad_upstream_response) {
    // Bad framing in the first bytes: nothing has reached the client yet, so
    // it gets a clean 502 rather than a head followed by a cut body.
    end(false);
    ex_.answered_by = PhaseId::forward;
    d_.respond(502, ErrorKind::bad_upstream_response);
    return;
  }
  up.begin += take;
  r.bytes = send;
  r.started = true;
  ex_.upstream.stage = TryStage::send_response;
  d_.set_deadline_in(service().timeouts.idle.count());
  const std::array<asio::const_buffer, 2> buffers{asio::const_buffer(c_.out.data.get(), c_.out.end),
                                                  asio::const_buffer(body, send)};
  d_.write_all(d_.socket_, buffers, [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec) {
    UpstreamTry(*self).on_response_sent(ec, TryStage::send_response);
  });
}

// A write of the response to the client (its head, or body bytes) completed.
void UpstreamTry::on_response_sent(const boost::system::error_code& ec, TryStage stage) {
  if (!is(stage)) return;
  if (ec) {
    ex_.error = d_.timed_out_ ? ErrorKind::timeout : ErrorKind::client_closed;
    d_.close();
    return;
  }
  if (ex_.response.done) {
    d_.finish_request();
  } else {
    read_response_body();
  }
}

void UpstreamTry::read_response_body() {
  ex_.upstream.stage = TryStage::stream_response;
  d_.set_deadline_in(service().timeouts.idle.count());
  // Bytes not yet taken (a held-back byte of a chunk-size line) stay in front.
  if (c_.upstream.begin == c_.upstream.end) {
    c_.upstream.clear();
  } else {
    c_.upstream.compact();
  }
  ex_.upstream.conn->socket().async_read_some(
      asio::buffer(c_.upstream.write_ptr(), c_.upstream.space()),
      [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec, std::size_t n) {
        UpstreamTry(*self).on_response_body_read(ec, n);
      });
}

void UpstreamTry::on_response_body_read(const boost::system::error_code& ec, std::size_t n) {
  if (!is(TryStage::stream_response)) return;
  if (ec) {
    ex_.upstream.reusable = false;
    if (ec == asio::error::eof && ex_.response.body == BodyKind::until_close) {
      d_.finish_request();  // the normal end of such a body
      return;
    }
    count(d_.timed_out_ ? UpstreamError::timeout : UpstreamError::reset);
    ex_.error = d_.timed_out_ ? ErrorKind::timeout : ErrorKind::upstream_reset;
    ex_.keep_alive = false;  // the client has a truncated body: only a close tells it
    d_.finish_request();
    return;
  }
  c_.upstream.end += n;
  char* data = c_.upstream.read_ptr();
  std::size_t send = 0;
  c_.upstream.begin += take_response_body(data, c_.upstream.size(), send);
  if (ex_.error == ErrorKind::bad_upstream_response) {
    d_.finish_request();
    return;
  }
  ex_.response.bytes += send;
  d_.write_all(d_.socket_, asio::buffer(data, send), [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& e) {
    UpstreamTry(*self).on_response_sent(e, TryStage::stream_response);
  });
}

// ---- a failed try -----------------------------------------------------------

void UpstreamTry::failed(ErrorKind kind, Sent sent) {
  const bool stale = ex_.upstream.conn && ex_.upstream.conn->reused() && kind == ErrorKind::upstream_reset &&
                     c_.upstream.size() == 0;
  ex_.error = kind;
  end(false);
  d_.timed_out_ = false;
  const ServiceDef& svc = service();
  // A stale pooled connection says nothing about the instance.
  if (svc.outlier && !stale) [[unlikely]] {
    if (ex_.response.started) {
      outlier_request_ended(ex_);  // its head was counted already
    } else {
      outlier_try_ended(d_.worker_, ex_, svc, OutlierOutcome::failure);
    }
  }
  Fate why = Fate::not_retryable;
  switch (decide_retry(ex_, c_.request, svc.retry, svc.limits.buffer_body, {kind, sent, stale}, &why)) {
    case RetryDecision::fresh_connection:
      ex_.stale_retry_used = true;
      ex_.upstream.active = true;
      ++ex_.instance->in_flight;
      d_.state_ = Downstream::State::forward;
      start();
      return;
    case RetryDecision::next_instance:
      if (budget_allows_retry()) {
        d_.retry();
        return;
      }
      break;
    case RetryDecision::answer:
      if (ex_.fate == Fate::unset) ex_.fate = why;
      break;
  }
  if (ex_.response.started) {
    ex_.keep_alive = false;
    d_.finish_request();
    return;
  }
  ex_.answered_by = PhaseId::forward;
  d_.respond(kind == ErrorKind::timeout ? 504 : 502, kind);
}

}  // namespace tg::proxy
