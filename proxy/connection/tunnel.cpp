#include "connection/tunnel.hpp"

#include "connection/upstream_try.hpp"
#include "connection/write_all.hpp"
#include "http/head_writer.hpp"
#include "runtime/worker.hpp"

#include <array>

namespace tg::proxy {

void Tunnel::start() {
  ByteBuffer& up = c_.upstream;
  ex_.status = 101;
  ex_.response.from_upstream = true;
  ex_.response.started = true;
  ex_.keep_alive = false;          // the connection now belongs to the new protocol
  ex_.upstream.reusable = false;   // and so does the upstream one
  ++ex_.instance->responses[0];

  http::DownstreamResponse out;
  out.base = up.read_ptr();
  out.head = &c_.response;
  out.request_id = {ex_.request_id, ex_.request_id_length};
  out.upgrade = true;
  c_.out.end = http::write_downstream_response(c_.out.data.get(), c_.out.capacity, out);
  if (c_.out.end == 0) {
    ++ex_.instance->errors[static_cast<std::size_t>(UpstreamError::protocol)];
    ex_.response.started = false;
    UpstreamTry(d_).failed(ErrorKind::bad_upstream_response, Sent::some);
    return;
  }
  up.begin += c_.response.head_length;
  // Bytes the upstream sent right after its 101 already belong to the tunnel.
  const std::size_t early = up.size();
  ex_.response.bytes = early;
  d_.state_ = Downstream::State::tunnel;
  ++d_.worker_.stats().tunnels_active;
  ++d_.worker_.stats().tunnels_opened;
  ex_.tunnel.activity_ms = d_.worker_.now_ms();
  d_.set_deadline_in(d_.service().timeouts.idle.count());
  const std::array<asio::const_buffer, 2> buffers{asio::const_buffer(c_.out.data.get(), c_.out.end),
                                                  asio::const_buffer(up.read_ptr(), early)};
  d_.write_all(d_.socket_, buffers, [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec) {
    Tunnel(*self).on_head_sent(ec);
  });
}

void Tunnel::on_head_sent(const boost::system::error_code& ec) {
  if (!active()) return;
  if (ec) {
    end(ErrorKind::client_closed);
    return;
  }
  c_.upstream.clear();
  read_upstream();
  // Bytes the client sent after its request head (before seeing the 101)
  // go first; they are still in the client buffer.
  if (c_.client.size() > 0) {
    const std::size_t n = c_.client.size();
    ex_.body.bytes += n;
    d_.write_all(ex_.upstream.conn->socket(), asio::buffer(c_.client.read_ptr(), n),
                 [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& e) {
                   Tunnel t(*self);
                   if (!t.active()) return;
                   if (e) {
                     t.end(ErrorKind::upstream_reset);
                     return;
                   }
                   t.read_client();
                 });
    return;
  }
  read_client();
}

void Tunnel::read_client() {
  ByteBuffer& in = c_.client;
  in.clear();
  d_.socket_.async_read_some(asio::buffer(in.data.get(), in.relay_capacity),
                             [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec, std::size_t n) {
                               Tunnel(*self).on_client_read(ec, n);
                             });
}

void Tunnel::on_client_read(const boost::system::error_code& ec, std::size_t n) {
  if (!active()) return;
  if (ec) {
    if (ec == asio::error::eof) {
      side_done(true);
    } else {
      end(ErrorKind::client_closed);
    }
    return;
  }
  ex_.tunnel.activity_ms = d_.worker_.now_ms();
  ex_.body.bytes += n;
  d_.write_all(ex_.upstream.conn->socket(), asio::buffer(c_.client.data.get(), n),
               [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& e) {
                 Tunnel t(*self);
                 if (!t.active()) return;
                 if (e) {
                   t.end(ErrorKind::upstream_reset);
                   return;
                 }
                 t.read_client();
               });
}

void Tunnel::read_upstream() {
  ByteBuffer& up = c_.upstream;
  up.clear();
  ex_.upstream.conn->socket().async_read_some(
      asio::buffer(up.data.get(), up.capacity),
      [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& ec, std::size_t n) {
        Tunnel(*self).on_upstream_read(ec, n);
      });
}

void Tunnel::on_upstream_read(const boost::system::error_code& ec, std::size_t n) {
  if (!active()) return;
  if (ec) {
    if (ec == asio::error::eof) {
      side_done(false);
    } else {
      ++ex_.instance->errors[static_cast<std::size_t>(UpstreamError::reset)];
      end(ErrorKind::upstream_reset);
    }
    return;
  }
  ex_.tunnel.activity_ms = d_.worker_.now_ms();
  ex_.response.bytes += n;
  d_.write_all(d_.socket_, asio::buffer(c_.upstream.data.get(), n),
               [self = LocalPtr<Downstream>(&d_)](const boost::system::error_code& e) {
                 Tunnel t(*self);
                 if (!t.active()) return;
                 if (e) {
                   t.end(ErrorKind::client_closed);
                   return;
                 }
                 t.read_upstream();
               });
}

void Tunnel::side_done(bool client_side) {
  boost::system::error_code ignored;
  if (client_side) {
    ex_.tunnel.client_done = true;
    ex_.upstream.conn->socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    ex_.tunnel.upstream_done = true;
    d_.socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }
  if (ex_.tunnel.client_done && ex_.tunnel.upstream_done) end(ErrorKind::none);
}

void Tunnel::end(ErrorKind error) {
  if (ex_.error == ErrorKind::none) ex_.error = error;
  // close() ends the try (the upstream connection is closed, never pooled),
  // records the request with status 101 and its byte counts, and closes the
  // client; the other direction's pending operation completes as aborted.
  d_.close();
}

void Tunnel::on_deadline() {
  const std::uint64_t idle = d_.service().timeouts.idle.count();
  const std::uint64_t now = d_.worker_.now_ms();
  if (now - ex_.tunnel.activity_ms < idle) {
    d_.worker_.wheel().set(d_, ex_.tunnel.activity_ms + idle);
    return;
  }
  end(ErrorKind::timeout);
}

}  // namespace tg::proxy
