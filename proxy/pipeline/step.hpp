// The vocabulary of the phase driver (docs/life-of-a-request.md): the phases,
// what a phase returns, and why a request ended badly.
#pragma once

#include "resilience/fate.hpp"

#include <cstdint>
#include <string_view>

namespace tg::proxy {

// Why a request ended badly: the access log's "error", the error body's
// "error", and the upstream-error metric's kind where it applies.
enum class ErrorKind : std::uint8_t {
  none,
  bad_request,
  no_route,
  route_removed,     // the route went away while the request was suspended
  body_too_large,
  headers_too_large,
  request_timeout,   // a buffered request body stopped arriving (408)
  connect_failure,
  upstream_reset,
  bad_upstream_response,
  no_instance,
  ejected,           // every instance of the service is ejected by its breaker (503)
  overflow,
  timeout,
  rate_limited,      // a rate or concurrency limit refused the request (429)
  client_closed,
  unauthenticated,   // 401: no credential, or one that does not verify
  forbidden,         // 403: a credential of another tenant than the route's
};
inline constexpr std::size_t kErrorKinds = 18;
std::string_view to_string(ErrorKind kind);

// A request's fate (resilience/fate.hpp), named here with the rest of the
// driver's vocabulary.
using resilience::Fate;
using resilience::kFates;

// The phases of a request, in order. Phases 1, 6 and 8 do I/O and belong to
// the connection (proxy/connection/); 2-5 and 7 are functions of the request
// alone (proxy/pipeline/).
enum class PhaseId : std::uint8_t {
  none,
  read_head,      // 1
  normalise,      // 2
  match_route,    // 3
  admit,          // 4
  receive_body,   // between 4 and 5: a body kept whole (limits.buffer_body)
  pick_instance,  // 5
  forward,        // 6
  record,         // 7
  keep_alive,     // 8
};
std::string_view to_string(PhaseId phase);

// What a phase returns to the driver.
struct Step {
  enum class Kind : std::uint8_t {
    proceed,  // on to the next phase
    respond,  // answer `status` with `error` now (the request ends here)
    suspend,  // the request waits for an event: the exchange's waiter is armed
  };
  Kind kind = Kind::proceed;
  std::uint16_t status = 0;
  ErrorKind error = ErrorKind::none;

  static constexpr Step proceed() { return {}; }
  static constexpr Step respond(std::uint16_t status, ErrorKind error) { return {Kind::respond, status, error}; }
  static constexpr Step suspend() { return {Kind::suspend, 0, ErrorKind::none}; }
};

}  // namespace tg::proxy
