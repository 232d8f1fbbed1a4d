#include "core/wait_list.hpp"

namespace tg::proxy {

void WaitList::leave(Waiter& waiter) {
  waiter.unlink();
  --size_;
  if (waiter.woken) --woken_;
  waiter.list = nullptr;
  waiter.woken = false;
}

void Waiter::take_wake() {
  if (list) list->leave(*this);
}

void Waiter::cancel() {
  if (!list) return;
  WaitList& from = *list;
  const bool had_wake = woken;
  from.leave(*this);
  if (had_wake) from.wake_one();
}

void Waiter::expire() {
  if (list) ++list->expired_;
  cancel();
}

WaitList::~WaitList() {
  // Waiters outliving their list simply stop waiting; their deadline answers them.
  while (!waiters_.empty()) leave(waiters_.front());
}

bool WaitList::add(Waiter& waiter, std::uint64_t deadline_ms, std::uint16_t status, ErrorKind error,
                   Fate timeout_fate) {
  if (waiter.list) return false;
  if (size_ >= max_) {
    ++refused_;
    return false;
  }
  waiter.list = this;
  waiter.woken = false;
  waiter.deadline_ms = deadline_ms;
  waiter.timeout_status = status;
  waiter.timeout_error = error;
  waiter.timeout_fate = timeout_fate;
  waiters_.push_back(waiter);
  ++size_;
  return true;
}

bool WaitList::wake_one() {
  if (woken_ == size_) return false;
  // The woken ones are the front of the list: skip them.
  auto it = waiters_.begin();
  for (std::size_t skip = woken_; skip > 0; --skip) ++it;
  Waiter& w = *it;
  w.woken = true;
  ++woken_;
  if (w.wake) w.wake(w.owner);
  return true;
}

std::size_t WaitList::wake_all() {
  std::size_t woken = 0;
  while (wake_one()) ++woken;
  return woken;
}

}  // namespace tg::proxy
