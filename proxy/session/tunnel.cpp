// ClientSession, phase 6 for upgraded connections (docs/life-of-a-request.md,
// "Upgrade tunnels"): the upstream answered 101 Switching Protocols to a request that
// asked for an upgrade, so after relaying that head the proxy copies bytes
// both ways without interpreting them.
//
// Each direction is a read → write loop on its own buffer (client → upstream
// through the context's client buffer, upstream → client through its upstream
// buffer), so at most one buffer's worth is in flight per direction and a slow
// reader throttles its writer (back-pressure, bounded memory).
//
// Ending: a FIN from one side is passed on as a write shutdown to the other,
// and the tunnel ends when both sides have finished, when either resets, or
// when no byte moved either way for the service's idle timeout (one lazy
// deadline, re-armed from the last activity only when it fires).
#include "runtime/worker.hpp"
#include "session/client_session.hpp"
#include "session/write_all.hpp"

#include "http/head_writer.hpp"

#include <array>

namespace tg::proxy {

void ClientSession::start_tunnel() {
  RequestContext& c = *ctx_;
  ByteBuffer& up = c.upstream;
  c.status = 101;
  c.upstream_answered = true;
  c.response_started = true;
  c.keep_alive = false;         // the connection now belongs to the new protocol
  c.upstream_reusable = false;  // and so does the upstream one
  ++c.instance->responses[0];

  http::DownstreamResponse out;
  out.base = up.read_ptr();
  out.head = &c.response;
  out.request_id = {c.request_id, c.request_id_length};
  out.upgrade = true;
  c.out.end = http::write_downstream_response(c.out.data.get(), c.out.capacity, out);
  if (c.out.end == 0) {
    count_upstream_error(UpstreamError::protocol);
    c.response_started = false;
    try_failed(ErrorKind::bad_upstream_response, false);
    return;
  }
  up.begin += c.response.head_length;
  // Bytes the upstream sent right after its 101 already belong to the tunnel.
  const std::size_t early = up.size();
  c.bytes_out = early;
  phase_ = Phase::tunnel;
  ++worker_.stats().tunnels_active;
  ++worker_.stats().tunnels_opened;
  c.tunnel_activity_ms = worker_.now_ms();
  set_deadline_in(service().timeouts.idle.count());
  const std::array<asio::const_buffer, 2> buffers{asio::const_buffer(c.out.data.get(), c.out.end),
                                                  asio::const_buffer(up.read_ptr(), early)};
  write_all(socket_, buffers, [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec) {
    self->on_tunnel_head_sent(ec);
  });
}

void ClientSession::on_tunnel_head_sent(const boost::system::error_code& ec) {
  if (phase_ != Phase::tunnel) return;
  RequestContext& c = *ctx_;
  if (ec) {
    end_tunnel(ErrorKind::client_closed);
    return;
  }
  c.upstream.clear();
  tunnel_read_upstream();
  // Bytes the client sent after its request head (before seeing the 101)
  // go first; they are still in the client buffer.
  if (c.client.size() > 0) {
    const std::size_t n = c.client.size();
    c.bytes_in += n;
    write_all(c.upstream_conn->socket(), asio::buffer(c.client.read_ptr(), n),
              [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& e) {
                if (self->phase_ != Phase::tunnel) return;
                if (e) {
                  self->end_tunnel(ErrorKind::upstream_reset);
                  return;
                }
                self->tunnel_read_client();
              });
    return;
  }
  tunnel_read_client();
}

void ClientSession::tunnel_read_client() {
  ByteBuffer& in = ctx_->client;
  in.clear();
  socket_.async_read_some(asio::buffer(in.data.get(), in.capacity),
                          [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t n) {
                            self->on_tunnel_client_read(ec, n);
                          });
}

void ClientSession::on_tunnel_client_read(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ != Phase::tunnel) return;
  RequestContext& c = *ctx_;
  if (ec) {
    if (ec == asio::error::eof) {
      tunnel_side_done(true);
    } else {
      end_tunnel(ErrorKind::client_closed);
    }
    return;
  }
  c.tunnel_activity_ms = worker_.now_ms();
  c.bytes_in += n;
  write_all(c.upstream_conn->socket(), asio::buffer(c.client.data.get(), n),
            [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& e) {
              if (self->phase_ != Phase::tunnel) return;
              if (e) {
                self->end_tunnel(ErrorKind::upstream_reset);
                return;
              }
              self->tunnel_read_client();
            });
}

void ClientSession::tunnel_read_upstream() {
  ByteBuffer& up = ctx_->upstream;
  up.clear();
  ctx_->upstream_conn->socket().async_read_some(
      asio::buffer(up.data.get(), up.capacity),
      [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& ec, std::size_t n) {
        self->on_tunnel_upstream_read(ec, n);
      });
}

void ClientSession::on_tunnel_upstream_read(const boost::system::error_code& ec, std::size_t n) {
  if (phase_ != Phase::tunnel) return;
  RequestContext& c = *ctx_;
  if (ec) {
    if (ec == asio::error::eof) {
      tunnel_side_done(false);
    } else {
      count_upstream_error(UpstreamError::reset);
      end_tunnel(ErrorKind::upstream_reset);
    }
    return;
  }
  c.tunnel_activity_ms = worker_.now_ms();
  c.bytes_out += n;
  write_all(socket_, asio::buffer(c.upstream.data.get(), n),
            [self = LocalPtr<ClientSession>(this)](const boost::system::error_code& e) {
              if (self->phase_ != Phase::tunnel) return;
              if (e) {
                self->end_tunnel(ErrorKind::client_closed);
                return;
              }
              self->tunnel_read_upstream();
            });
}

void ClientSession::tunnel_side_done(bool client_side) {
  RequestContext& c = *ctx_;
  boost::system::error_code ignored;
  if (client_side) {
    c.tunnel_client_done = true;
    c.upstream_conn->socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    c.tunnel_upstream_done = true;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }
  if (c.tunnel_client_done && c.tunnel_upstream_done) end_tunnel(ErrorKind::none);
}

void ClientSession::end_tunnel(ErrorKind error) {
  RequestContext& c = *ctx_;
  if (c.error == ErrorKind::none) c.error = error;
  // close() ends the try (the upstream connection is closed, never pooled),
  // records the request with status 101 and its byte counts, and closes the
  // client; the other direction's pending operation completes as aborted.
  close();
}

void ClientSession::on_tunnel_deadline() {
  RequestContext& c = *ctx_;
  const std::uint64_t idle = service().timeouts.idle.count();
  const std::uint64_t now = worker_.now_ms();
  if (now - c.tunnel_activity_ms < idle) {
    worker_.wheel().set(*this, c.tunnel_activity_ms + idle);
    return;
  }
  end_tunnel(ErrorKind::timeout);
}

}  // namespace tg::proxy
