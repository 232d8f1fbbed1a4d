// Phase 6, one try against the instance phase 5 picked (docs/life-of-a-request.md):
// connect or reuse a pooled connection, send the rebuilt head with the body
// bytes already received in one gathered write, stream the rest of the body
// with bounded buffers while watching for an early response, read the
// response head, and relay the response. A failed try asks the retry rule
// (pipeline/retry_rule.hpp) what to do next.
//
// UpstreamTry is a view: its state is the exchange's (TryState, ResponseState)
// and its lifetime the connection's, so a try costs no allocation. Completion
// handlers hold the connection and build a view again.
#pragma once

#include "connection/downstream.hpp"
#include "pipeline/retry_rule.hpp"
#include "upstream/upstream.hpp"

namespace tg::proxy {

class UpstreamTry {
 public:
  explicit UpstreamTry(Downstream& connection)
      : d_(connection), c_(*connection.ctx_), ex_(connection.ctx_->exchange) {}

  // Starts the try on the instance and connection phase 5 reserved.
  void start();
  // Ends the try: the upstream connection goes back to its pool when
  // `reusable`, else it is closed. Nothing when no try is under way.
  void end(bool reusable);
  // The try failed: retried (same instance on a fresh connection, or phase 5
  // again) when the retry rule allows, else answered 502/504.
  void failed(ErrorKind kind, Sent sent);

 private:
  void connect();
  void on_connected(const boost::system::error_code& ec);
  void send_head();
  void on_head_sent(const boost::system::error_code& ec);
  void read_body();
  void on_body_read(const boost::system::error_code& ec, std::size_t n);
  void on_body_sent(const boost::system::error_code& ec, std::size_t n);
  void await_response();
  void read_response_head();
  void on_response_bytes(const boost::system::error_code& ec, std::size_t n);
  void response_head_read_failed();
  void parse_response_head();
  void final_response_head();
  void relay_interim_response();
  void relay_response_head();
  void on_response_sent(const boost::system::error_code& ec, TryStage stage);
  void read_response_body();
  void on_response_body_read(const boost::system::error_code& ec, std::size_t n);
  // Early responses while the request body streams (early_response.cpp).
  void watch_for_early_response();
  void on_early_response_bytes(const boost::system::error_code& ec, std::size_t n);
  void stop_request_body();
  // Accounts for the response-body bytes at data[0, size): returns how many
  // belong to this response; `send` is how many of data[0, …) to write to the
  // client (fewer when the chunked framing is removed in place).
  std::size_t take_response_body(char* data, std::size_t size, std::size_t& send);
  void count(UpstreamError kind);
  // A retry the rule allows: whether the service's retry budget allows it
  // too (else the request's fate is retry_budget_exhausted).
  bool budget_allows_retry();
  const ServiceDef& service() const { return d_.service(); }
  bool is(TryStage stage) const;

  Downstream& d_;
  RequestContext& c_;
  Exchange& ex_;
};

}  // namespace tg::proxy
