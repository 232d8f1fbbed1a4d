// Phase 6 for upgraded connections (docs/life-of-a-request.md, "Upgrade
// tunnels"): the upstream answered 101 Switching Protocols to a request that
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
//
// A view, like UpstreamTry: its state is the exchange's TunnelState.
#pragma once

#include "connection/downstream.hpp"

namespace tg::proxy {

class Tunnel {
 public:
  explicit Tunnel(Downstream& connection) : d_(connection), c_(*connection.ctx_), ex_(connection.ctx_->exchange) {}

  // The upstream's 101 head is parsed in the context: relay it and start.
  void start();
  void on_deadline();

 private:
  void on_head_sent(const boost::system::error_code& ec);
  void read_client();
  void on_client_read(const boost::system::error_code& ec, std::size_t n);
  void read_upstream();
  void on_upstream_read(const boost::system::error_code& ec, std::size_t n);
  void side_done(bool client_side);
  void end(ErrorKind error);
  bool active() const { return d_.state_ == Downstream::State::tunnel; }

  Downstream& d_;
  RequestContext& c_;
  Exchange& ex_;
};

}  // namespace tg::proxy
