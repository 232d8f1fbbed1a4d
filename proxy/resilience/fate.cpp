#include "resilience/fate.hpp"

namespace tg::proxy::resilience {

std::string_view to_string(Fate fate) {
  switch (fate) {
    case Fate::unset: return "";
    case Fate::ok: return "ok";
    case Fate::retried_ok: return "retried_ok";
    case Fate::retry_budget_exhausted: return "retry_budget_exhausted";
    case Fate::not_retryable: return "not_retryable";
    case Fate::attempts_exhausted: return "attempts_exhausted";
    case Fate::ejected_all: return "ejected_all";
    case Fate::pending_timeout: return "pending_timeout";
    case Fate::held_timeout: return "held_timeout";
    case Fate::auth_failed: return "auth_failed";
    case Fate::rate_limited: return "rate_limited";
    case Fate::client_closed: return "client_closed";
  }
  return "unknown";
}

}  // namespace tg::proxy::resilience
