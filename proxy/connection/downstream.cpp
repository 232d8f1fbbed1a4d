// Downstream: phase 1 (read head), the body kept whole, suspension, local
// answers, and phase 8 (keep-alive or close). Phases 2-5 and 7 run through
// the driver (pipeline/phases.hpp); phase 6 is UpstreamTry (upstream_try.cpp).
#include "connection/downstream.hpp"

#include "connection/tunnel.hpp"
#include "connection/upstream_try.hpp"
#include "connection/write_all.hpp"
#include "pipeline/request_body.hpp"
#include "runtime/slab.hpp"
#include "runtime/worker.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unistd.h>

namespace tg::proxy {

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

balancing::IpAddress peer_address(const tcp::endpoint& peer) {
  balancing::IpAddress out;
  if (peer.address().is_v4()) {
    auto bytes = peer.address().to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    return out;
  }
  auto v6 = peer.address().to_v6();
  if (v6.is_v4_mapped()) {
    auto bytes = asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    return out;
  }
  out.v6 = true;
  auto bytes = v6.to_bytes();
  std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  return out;
}

Slab& connection_slab() {
  thread_local Slab slab(sizeof(Downstream));
  return slab;
}

std::string_view reason(std::uint16_t status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

}  // namespace

Downstream::Downstream(Worker& worker, Socket socket, const tcp::endpoint& peer)
    : worker_(worker), socket_(std::move(socket)) {
  // TCP_NODELAY is inherited from the listener.
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  family_v6_ = peer.protocol() == tcp::v6();
  peer_port_ = peer.port();
  peer_ = peer_address(peer);
  worker_.connection_opened(*this);
}

Downstream::~Downstream() {
  release_context();
  worker_.connection_closed();
}

void* Downstream::operator new(std::size_t size) {
  (void)size;  // always sizeof(Downstream): the class is final
  return connection_slab().allocate();
}

void Downstream::operator delete(void* p) { connection_slab().deallocate(p); }

void Downstream::accept(Worker& worker, Socket socket, const tcp::endpoint& peer) {
  LocalPtr<Downstream> connection(new Downstream(worker, std::move(socket), peer));
  connection->start();
}

void Downstream::set_deadline_in(std::uint64_t ms) { worker_.wheel().set(*this, worker_.now_ms() + ms); }

PhaseInput Downstream::phase_input() {
  return PhaseInput{*ctx_, ctx_->exchange, worker_, peer_, draining_ || worker_.draining(), worker_.admission_gates()};
}

void Downstream::start() {
  ctx_ = RequestContext::acquire(worker_);
  state_ = State::read_head;
  set_deadline_in(worker_.settings().header_timeout.count());
  read_head();
}

void Downstream::release_context() {
  if (!ctx_) return;
  RequestContext::release(worker_, ctx_);
  ctx_ = nullptr;
}

// ---- 1. read head -----------------------------------------------------------

void Downstream::read_head() {
  ByteBuffer& in = ctx_->client;
  if (in.begin == in.end) in.clear();
  if (in.relay_space() == 0) in.compact();
  socket_.async_read_some(asio::buffer(in.write_ptr(), in.relay_space()),
                          [self = LocalPtr<Downstream>(this)](const boost::system::error_code& ec, std::size_t n) {
                            self->on_head_bytes(ec, n);
                          });
}

void Downstream::on_head_bytes(const boost::system::error_code& ec, std::size_t n) {
  if (state_ == State::closed) return;
  if (ec) {
    if (ec == asio::error::operation_aborted && release_on_abort_) {
      // Grace period over with nothing read: give the buffers back.
      release_on_abort_ = false;
      wait_idle();
      return;
    }
    if (timed_out_ && state_ == State::read_head) ++worker_.stats().header_timeouts;
    close();
    return;
  }
  release_on_abort_ = false;
  ctx_->client.end += n;
  parse_head();
}

void Downstream::parse_head() {
  ByteBuffer& in = ctx_->client;
  if (state_ == State::buffered_idle) {
    // First bytes of the next request: the header-read deadline starts now.
    state_ = State::read_head;
    release_on_abort_ = false;
    set_deadline_in(worker_.settings().header_timeout.count());
  }
  RequestContext& c = *ctx_;
  const auto status =
      http::parse_request(in.read_ptr(), in.size(), c.scanned, worker_.settings().limits, c.request_fields, c.request);
  switch (status) {
    case http::ParseStatus::incomplete:
      read_head();
      return;
    case http::ParseStatus::error: {
      Exchange& ex = c.exchange;
      const auto e = c.request.error;
      const bool too_large = e == http::ParseError::head_too_large || e == http::ParseError::too_many_headers;
      request_active_ = true;
      ex.start_ns = steady_now_ns();
      ex.request_id_length = static_cast<std::uint8_t>(worker_.next_request_id(ex.request_id));
      ex.keep_alive = false;
      ex.answered_by = PhaseId::read_head;
      {
        PhaseInput input = phase_input();
        describe_refused_head(input, in.read_ptr(), in.size());
      }
      respond(too_large ? 431 : 400, too_large ? ErrorKind::headers_too_large : ErrorKind::bad_request);
      return;
    }
    case http::ParseStatus::complete:
      begin_request();
      return;
  }
}

// ---- 2.-5. the driver, and what it says -------------------------------------

void Downstream::begin_request() {
  RequestContext& c = *ctx_;
  Exchange& ex = c.exchange;
  request_active_ = true;
  ex.start_ns = steady_now_ns();
  ex.table = worker_.table();
  ex.head_offset = c.client.begin;
  // The head is consumed now, whatever happens next; the spans stay valid
  // because the bytes are not overwritten before the head is forwarded.
  c.client.begin += c.request.head_length;
  run(PhaseId::normalise);
}

void Downstream::run(PhaseId first) {
  PhaseInput in = phase_input();
  if (first <= PhaseId::admit) {
    const PhaseOutcome outcome = run_phases(in, first, PhaseId::admit);
    if (outcome.step.kind != Step::Kind::proceed) {
      act(outcome);
      return;
    }
    if (!ctx_->exchange.body.done && wants_body_kept_whole()) {
      receive_body();
      return;
    }
  }
  act(run_phases(in, PhaseId::pick_instance, PhaseId::pick_instance));
}

void Downstream::act(const PhaseOutcome& outcome) {
  Exchange& ex = ctx_->exchange;
  switch (outcome.step.kind) {
    case Step::Kind::proceed:
      state_ = State::forward;
      UpstreamTry(*this).start();
      return;
    case Step::Kind::respond:
      // Phase 5 answering after tries: the failure was the forward's.
      ex.answered_by = outcome.phase == PhaseId::pick_instance && ex.attempts > 0 ? PhaseId::forward : outcome.phase;
      respond(outcome.step.status, outcome.step.error);
      return;
    case Step::Kind::suspend:
      ex.suspended_in = outcome.phase;
      suspend();
      return;
  }
}

// Phase 5 again (a retry, or the first pick after a body kept whole).
void Downstream::retry() {
  PhaseInput in = phase_input();
  act(run_phases(in, PhaseId::pick_instance, PhaseId::pick_instance));
}

// ---- the body kept whole ----------------------------------------------------

bool Downstream::wants_body_kept_whole() {
  RequestContext& c = *ctx_;
  Exchange& ex = c.exchange;
  if (ex.body.done || ex.body.prefix_known) return false;
  const std::uint64_t limit = service().limits.buffer_body;
  if (limit == 0) return false;
  if (ex.body.kind == BodyKind::fixed) {
    if (ex.body.remaining > limit) return false;
    // Already whole after the head (the common small POST): nothing to wait
    // for; the try sends it with the head and may replay it (send_head scans it).
    if (ex.body.remaining <= c.client.end - (ex.head_offset + c.request.head_length)) {
      ++worker_.stats().bodies_kept_whole;
      return false;
    }
  }
  // Head and body must fit the client buffer together: the head moves to its
  // front (its spans are relative to the head's start).
  if (ex.head_offset > 0) {
    char* const data = c.client.data.get();
    // The path, when not normalised into its own buffer, is a view into the head.
    if (ex.path.data() >= data && ex.path.data() < data + c.client.capacity)
      ex.path = {ex.path.data() - ex.head_offset, ex.path.size()};
    std::memmove(data, data + ex.head_offset, c.client.end - ex.head_offset);
    c.client.end -= ex.head_offset;
    c.client.begin -= ex.head_offset;
    ex.head_offset = 0;
  }
  if (ex.body.kind == BodyKind::fixed && c.request.head_length + ex.body.remaining > c.client.capacity) return false;
  return true;
}

void Downstream::receive_body() {
  RequestContext& c = *ctx_;
  Exchange& ex = c.exchange;
  state_ = State::receive_body;
  // The request passed phases 2-4: the client may send its body now.
  if (c.request.expect_continue && c.request.version_minor == 1 && !ex.sent_continue) {
    ex.sent_continue = true;
    boost::system::error_code ec;
    if (socket_.write_some(asio::buffer(kContinue), ec) != kContinue.size()) {
      close();
      return;
    }
  }
  // Account for what is in the buffer after the head (or after what was
  // accounted already).
  const std::size_t scanned_end = ex.head_offset + c.request.head_length + ex.body.in_head_buffer;
  std::size_t take = 0, send = 0;
  char* const scan_from = c.client.data.get() + scanned_end;
  const BodyScan scan =
      scan_request_body(ex.body, scan_from, c.client.end - scanned_end, take, send, service().limits.max_body);
  if (scan != BodyScan::ok) {
    refuse_body(scan, PhaseId::receive_body);
    return;
  }
  // The canonical framing may be shorter than what arrived: what follows
  // (more body, a held-back byte of a size line, a pipelined request) moves
  // up so the kept body stays one contiguous run after the head.
  if (send < take) {
    std::memmove(scan_from + send, scan_from + take, c.client.end - (scanned_end + take));
    c.client.end -= take - send;
    take = send;
  }
  ex.body.in_head_buffer += static_cast<std::uint32_t>(send);
  c.client.begin = scanned_end + take;
  const bool chunked_too_large =
      ex.body.kind == BodyKind::chunked && ex.body.chunks.data_bytes() > service().limits.buffer_body;
  if (ex.body.done || chunked_too_large || c.client.space() == 0) {
    // Whole (it can be replayed), or larger than kept whole: it streams.
    ex.body.prefix_known = true;
    if (ex.body.done) ++worker_.stats().bodies_kept_whole;
    retry();  // phase 5, as for a retry: the first pick
    return;
  }
  set_deadline_in(service().timeouts.idle.count());
  socket_.async_read_some(asio::buffer(c.client.write_ptr(), c.client.space()),
                          [self = LocalPtr<Downstream>(this)](const boost::system::error_code& ec, std::size_t n) {
                            self->on_body_bytes(ec, n);
                          });
}

void Downstream::on_body_bytes(const boost::system::error_code& ec, std::size_t n) {
  if (state_ != State::receive_body) return;
  Exchange& ex = ctx_->exchange;
  if (ec) {
    if (timed_out_) {
      // The body stopped arriving; nothing reached an upstream.
      timed_out_ = false;
      ++worker_.stats().body_timeouts;
      ex.answered_by = PhaseId::receive_body;
      respond(408, ErrorKind::request_timeout);
      return;
    }
    ex.error = ErrorKind::client_closed;
    close();
    return;
  }
  ctx_->client.end += n;
  receive_body();
}

void Downstream::refuse_body(BodyScan scan, PhaseId phase) {
  ctx_->exchange.answered_by = phase;
  if (scan == BodyScan::bad_framing) {
    respond(400, ErrorKind::bad_request);
  } else {
    respond(413, ErrorKind::body_too_large);
  }
}

// ---- suspension -------------------------------------------------------------

void Downstream::suspend() {
  Exchange& ex = ctx_->exchange;
  // A waiting request pins no table: it matches again when it resumes.
  ex.instance.reset();
  ex.table.reset();
  ex.route = -1;
  ex.service_def = nullptr;
  ex.verified_tenant = {};  // a view into the table; phase 4 runs again
  ex.waiter.wake = &Downstream::wake;
  ex.waiter.owner = this;
  state_ = State::suspended;
  ++worker_.stats().suspended;
  ++worker_.stats().suspensions;
  ex.held = true;
  // Nothing else refers to a waiting connection: it holds itself.
  intrusive_ptr_add_ref(this);
  idle_reference_ = true;
  worker_.wheel().set(*this, ex.waiter.deadline_ms);
  // The client going away frees the slot at once (EPOLLRDHUP); the socket
  // is not read meanwhile, so TCP flow control holds any body.
  if (!worker_.idle_watcher().watch_close(socket_.native_handle(), *this, watch_registered_)) {
    ex.waiter.cancel();
    leave_suspension();
    close();
  }
}

void Downstream::wake(void* owner) {
  auto* self = static_cast<Downstream*>(owner);
  // Posted: the waker (another request, a table install) is not run under.
  asio::post(self->worker_.io(), [keep = LocalPtr<Downstream>(self)] { keep->resume(); });
}

void Downstream::leave_suspension() {
  worker_.idle_watcher().unwatch(socket_.native_handle(), watch_registered_);
  --worker_.stats().suspended;
  state_ = State::forward;
  drop_idle_reference();  // callers hold a LocalPtr
}

void Downstream::resume() {
  if (state_ != State::suspended) return;
  LocalPtr<Downstream> keep(this);
  Exchange& ex = ctx_->exchange;
  ex.waiter.take_wake();
  leave_suspension();
  ex.resumed = true;
  ex.table = worker_.table();
  run(PhaseId::match_route);
}

// ---- local answers ----------------------------------------------------------

void Downstream::respond(std::uint16_t status, ErrorKind kind) {
  RequestContext& c = *ctx_;
  Exchange& ex = c.exchange;
  if (ex.response.started) {
    // The client already has part of a response: all we can do is cut it.
    ex.error = kind;
    ex.keep_alive = false;
    finish_request();
    return;
  }
  ex.error = kind;
  ex.status = status;
  // An unread request body would be taken for the next request: close.
  if (!ex.body.done) ex.keep_alive = false;
  const std::string_view id(ex.request_id, ex.request_id_length);
  char body[256];
  auto body_end = fmt::format_to_n(body, sizeof body, R"({{"error":"{}","request_id":"{}"}})", to_string(kind), id);
  const std::size_t body_length = std::min(body_end.size, sizeof body);
  ex.response.bytes = body_length;  // the access log's bytes_out: this body, as for an upstream's
  ByteBuffer& out = c.out;
  out.clear();
  // Retry-After on every 503; a 429 from the limits adds its RateLimit fields.
  char extra_buffer[256];
  std::string_view extra = status == 503 ? "Retry-After: 1\r\n" : "";
  if (kind == ErrorKind::rate_limited)
    extra = {extra_buffer, limits::format_refusal_headers(ex.limits.refusal, extra_buffer, sizeof extra_buffer)};
  auto head_end = fmt::format_to_n(out.data.get(), out.capacity,
                                   "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                                   "X-Request-Id: {}\r\n{}{}{}\r\n",
                                   status, reason(status), body_length, id, extra, ex.answer_headers,
                                   ex.keep_alive ? "" : "Connection: close\r\n");
  out.end = std::min(head_end.size, out.capacity);
  std::memcpy(out.data.get() + out.end, body, std::min(body_length, out.capacity - out.end));
  out.end += std::min(body_length, out.capacity - out.end);
  ex.response.started = true;
  state_ = State::respond;
  set_deadline_in(worker_.settings().keepalive_timeout.count());
  write_all(socket_, asio::buffer(out.data.get(), out.end),
            [self = LocalPtr<Downstream>(this)](const boost::system::error_code& ec) {
              if (self->state_ == State::closed) return;
              if (ec) self->ctx_->exchange.keep_alive = false;
              self->finish_request();
            });
}

// ---- 7. record, 8. keep-alive or close ---------------------------------------

void Downstream::finish_request() {
  RequestContext& c = *ctx_;
  Exchange& ex = c.exchange;
  UpstreamTry(*this).end(ex.upstream.reusable && ex.error == ErrorKind::none);
  if (request_active_) {
    request_active_ = false;
    PhaseInput in = phase_input();
    record(in, peer_port_);
  }
  if (!ex.keep_alive || draining_ || worker_.draining()) {
    if (!ex.body.done || c.client.size() > 0) {
      linger_close();
    } else {
      close();
    }
    return;
  }
  next_request();
}

void Downstream::next_request() {
  RequestContext& c = *ctx_;
  // Bytes after this request (pipelining) stay in the client buffer.
  c.next_request();
  idle_since_ms_ = worker_.now_ms();
  timed_out_ = false;
  state_ = State::buffered_idle;
  if (c.client.size() > 0) {
    // Pipelined request already buffered. Posted rather than called: answers
    // written synchronously would otherwise recurse once per request.
    asio::post(socket_.get_executor(), [self = LocalPtr<Downstream>(this)] {
      if (self->state_ == State::buffered_idle) self->parse_head();
    });
    return;
  }
  c.client.clear();
  const std::uint64_t grace =
      std::min<std::uint64_t>(worker_.settings().buffer_grace.count(), worker_.settings().keepalive_timeout.count());
  set_deadline_in(grace);
  read_head();
}

void Downstream::wait_idle() {
  release_context();
  state_ = State::idle;
  const std::uint64_t keepalive = worker_.settings().keepalive_timeout.count();
  worker_.wheel().set(*this, idle_since_ms_ + keepalive);
  // Hand the descriptor to the IdleWatcher (runtime/idle_watcher.hpp): asio's
  // state for it goes back to asio's pool until the client sends again.
  boost::system::error_code ec;
  const int fd = socket_.release(ec);
  if (ec) {
    close();
    return;
  }
  idle_fd_ = fd;
  if (!worker_.idle_watcher().watch(fd, *this, watch_registered_)) {
    close();
    return;
  }
  intrusive_ptr_add_ref(this);
  idle_reference_ = true;
  ++worker_.stats().idle_connections;
}

void Downstream::on_watch_event() {
  if (state_ == State::suspended) {
    // The client closed or reset while its request waited: the slot is freed
    // and the request recorded as client_closed.
    LocalPtr<Downstream> keep(this);
    ctx_->exchange.waiter.cancel();
    leave_suspension();
    ++worker_.stats().suspension_client_closed;
    ctx_->exchange.error = ErrorKind::client_closed;
    close();
    return;
  }
  if (state_ != State::idle) return;
  LocalPtr<Downstream> keep(this);
  --worker_.stats().idle_connections;
  drop_idle_reference();
  boost::system::error_code ec;
  socket_.assign(family_v6_ ? tcp::v6() : tcp::v4(), idle_fd_, ec);
  if (ec) {
    close();  // closes idle_fd_
    return;
  }
  idle_fd_ = -1;
  socket_.non_blocking(true, ec);
  ctx_ = RequestContext::acquire(worker_);
  state_ = State::buffered_idle;  // parse_head() starts the header deadline
  read_head();
}

void Downstream::drop_idle_reference() {
  if (!idle_reference_) return;
  idle_reference_ = false;
  intrusive_ptr_release(this);  // never the last: callers hold a LocalPtr
}

void Downstream::drain() {
  draining_ = true;
  const bool nothing_read = state_ == State::read_head && ctx_ && ctx_->client.size() == 0;
  if (state_ == State::idle || state_ == State::buffered_idle || nothing_read) close();
  // Otherwise the response in progress carries "Connection: close".
}

void Downstream::on_deadline() {
  switch (state_) {
    case State::closed:
      return;
    case State::idle:
    case State::linger:
      close();
      return;
    case State::tunnel:
      Tunnel(*this).on_deadline();
      return;
    case State::suspended: {
      // Waited too long: the waiter's own answer (503, 504...).
      LocalPtr<Downstream> keep(this);
      Exchange& ex = ctx_->exchange;
      const Step answer = ex.waiter.on_timeout();
      if (ex.waiter.timeout_fate != Fate::unset) ex.fate = ex.waiter.timeout_fate;
      ex.waiter.expire();
      leave_suspension();
      ++worker_.stats().suspension_timeouts;
      // For the per-route counters: the route as it is now, if it still is.
      ex.table = worker_.table();
      PhaseInput in = phase_input();
      if (match_route(in).kind != Step::Kind::proceed) ex.route = -1;
      ex.answered_by = ex.suspended_in;
      respond(answer.status, answer.error);
      return;
    }
    case State::buffered_idle:
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
        if (ctx_ && ctx_->exchange.upstream.conn) ctx_->exchange.upstream.conn->socket().cancel(ignored);
      }
      return;
  }
}

void Downstream::close() {
  if (state_ == State::closed) return;
  if (state_ == State::tunnel) --worker_.stats().tunnels_active;
  if (state_ == State::suspended) {
    ctx_->exchange.waiter.cancel();
    --worker_.stats().suspended;
  }
  if (state_ == State::idle) --worker_.stats().idle_connections;
  state_ = State::closed;
  TimerWheel::clear(*this);
  if (ctx_) {
    Exchange& ex = ctx_->exchange;
    if (request_active_ && ex.error == ErrorKind::none && ex.status == 0) ex.error = ErrorKind::client_closed;
    UpstreamTry(*this).end(false);
    if (request_active_) {
      request_active_ = false;
      PhaseInput in = phase_input();
      record(in, peer_port_);
    }
  }
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (idle_fd_ >= 0) {
    ::close(idle_fd_);  // also removes it from the IdleWatcher's set
    idle_fd_ = -1;
  }
  ConnectionHook::unlink();  // from the worker's connection list
  if (idle_reference_) {
    // The connection's reference to itself goes; it may be the last, so it
    // is dropped from a posted handler rather than under our caller's feet.
    LocalPtr<Downstream> keep(this);
    drop_idle_reference();
    asio::post(worker_.io(), [keep = std::move(keep)] {});
  }
}

void Downstream::linger_close() {
  // The client may still be sending a body we did not read. Closing now would
  // answer it with a reset, which can destroy our response in the client's
  // receive buffer; instead stop sending, then read and discard until the
  // client closes or kLingerMs have passed (one deadline, never extended).
  state_ = State::linger;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  set_deadline_in(kLingerMs);
  linger_read();
}

void Downstream::linger_read() {
  ctx_->client.clear();
  socket_.async_read_some(asio::buffer(ctx_->client.data.get(), ctx_->client.relay_capacity),
                          [self = LocalPtr<Downstream>(this)](const boost::system::error_code& ec, std::size_t) {
                            if (self->state_ != State::linger) return;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->linger_read();
                          });
}

}  // namespace tg::proxy
