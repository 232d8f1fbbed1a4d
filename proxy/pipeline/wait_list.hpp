// Where suspended requests wait: core/wait_list.hpp (Waiter, WaitList), with
// the pipeline's vocabulary for a waiter's answer at its deadline (a Step).
#pragma once

#include "core/wait_list.hpp"
#include "pipeline/step.hpp"

namespace tg::proxy {

inline Step Waiter::on_timeout() const { return Step::respond(timeout_status, timeout_error); }

inline bool WaitList::add(Waiter& waiter, std::uint64_t deadline_ms, Step on_timeout, Fate timeout_fate) {
  return add(waiter, deadline_ms, on_timeout.status, on_timeout.error, timeout_fate);
}

}  // namespace tg::proxy
