// POST /v1/alerts/<id>/ack on tg-control's HTTP port: the ackURL every
// notification carries (docs/alerting.md). Whoever receives a notification
// acknowledges the alert with one request:
//
//   * Authorization: Bearer <admin token> (a token with role admin; anyone
//     without --token-file), or
//   * ?token=<the per-alert signed token of the ackURL> (an HMAC of the alert
//     id under tg-control's ack key), so a chat button or a pager can ack
//     without holding an admin token.
//
// Optional JSON body {"comment": "..."}. Answers the alert as proto3 JSON
// (the .proto field names) with 200; 404 unknown id, 409 not firing (pending
// or resolved), 401 no or unknown credentials, 403 a token without role
// admin or a signed token of another alert, 400 a bad id or body. The ack
// is committed (with an audit row, method "AckAlert") before the answer,
// like AckAlert; acknowledging an acknowledged alert again answers 200 and
// records the newer ack. Every answer is counted by result in /metrics.
//
// Threads: handle() runs on the HTTP server's io thread, which is the owner
// loop, so it calls the Book directly; only the store lookup that tells a
// resolved alert (409) from an unknown one (404) runs on the writer thread.
#pragma once

#include "server/alert_access.hpp"
#include "server/auth.hpp"
#include "server/core.hpp"

#include "netio/http_server.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg::control {

inline constexpr std::string_view alert_ack_prefix = "/v1/alerts/";

// The alert id of "/v1/alerts/<id>/ack"; nullopt for any other path.
std::optional<std::uint64_t> alert_ack_id(std::string_view path);
// The value of query parameter `name` in `target` (percent-decoded, '+' a
// space); nullopt when absent.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);

class AlertAckHttp {
 public:
  // The results counted (label `result` of tg_control_alert_ack_requests_total).
  enum class Result { acked, bad_request, unauthenticated, forbidden, not_found, not_firing, failed, count_ };

  AlertAckHttp(Core& core, const TokenSet& tokens, AlertAccess& alerts) : core_(core), tokens_(tokens), alerts_(alerts) {}

  net::HttpRoute route() const;
  // On the io thread (the owner loop).
  void handle(net::HttpRequest request, net::HttpRespond respond);
  // Prometheus text of the counters (any thread).
  std::string render_metrics() const;

 private:
  void answer(Result result, net::HttpRespond& respond, net::HttpResponse response);

  Core& core_;
  const TokenSet& tokens_;
  AlertAccess& alerts_;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Result::count_)> counts_{};
};

}  // namespace tg::control
