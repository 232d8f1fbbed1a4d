#include "pipeline/wait_list.hpp"

namespace tg::proxy {

void Waiter::cancel() {
  if (!list) return;
  unlink();
  --list->size_;
  list = nullptr;
}

WaitList::~WaitList() {
  // Waiters outliving their list simply stop waiting; their deadline answers them.
  while (!waiters_.empty()) waiters_.front().cancel();
}

bool WaitList::add(Waiter& waiter, std::uint64_t deadline_ms, Step on_timeout) {
  if (waiter.list || size_ >= max_) return false;
  waiter.list = this;
  waiter.deadline_ms = deadline_ms;
  waiter.on_timeout = on_timeout;
  waiters_.push_back(waiter);
  ++size_;
  return true;
}

bool WaitList::wake_one() {
  if (waiters_.empty()) return false;
  Waiter& w = waiters_.front();
  w.cancel();
  if (w.wake) w.wake(w.owner);
  return true;
}

std::size_t WaitList::wake_all() {
  std::size_t woken = 0;
  // Only those waiting now: a woken request that waits again (it is posted,
  // so it cannot) would otherwise be woken twice.
  const std::size_t n = size_;
  while (woken < n && wake_one()) ++woken;
  return woken;
}

}  // namespace tg::proxy
