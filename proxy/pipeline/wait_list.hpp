// Where suspended requests wait (docs/life-of-a-request.md, "Suspension").
//
// A phase that must wait for something other than socket I/O — a free
// connection in a pending queue, a container being started, a link
// assignment — adds the request's Waiter to a WaitList and returns
// Step::suspend(). Every list has a bound (add() refuses beyond it, and the
// phase answers at once instead of waiting) and every waiter a deadline, past
// which the connection answers the waiter's `on_timeout` step. Whoever owns
// the event wakes waiters in FIFO order; a woken request runs phases 3-5 again
// on the worker's current table.
//
// Worker-local: lists and waiters belong to one worker thread; nothing here
// is locked.
#pragma once

#include "pipeline/step.hpp"

#include <boost/intrusive/list.hpp>

#include <cstddef>
#include <cstdint>

namespace tg::proxy {

class WaitList;

struct Waiter : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() { cancel(); }

  // Called by WaitList::wake_*() after the waiter left its list; the owner
  // (the connection) resumes the request, posted so that a waker never runs
  // another request's phases under its own feet.
  using WakeFn = void (*)(void* owner);
  WakeFn wake = nullptr;
  void* owner = nullptr;

  WaitList* list = nullptr;     // while waiting
  std::uint64_t deadline_ms = 0;
  Step on_timeout;              // the answer when the deadline passes first

  bool waiting() const { return list != nullptr; }
  // Leaves the list without being woken (deadline, client gone, connection closed).
  void cancel();
};

class WaitList {
 public:
  explicit WaitList(std::size_t max_waiting) : max_(max_waiting) {}
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList();

  // Queues `waiter` at the back with its deadline and timeout answer; false
  // (and nothing queued) when `max_waiting` requests already wait.
  bool add(Waiter& waiter, std::uint64_t deadline_ms, Step on_timeout);
  // Wakes the longest-waiting request; false when none waits.
  bool wake_one();
  // Wakes every waiting request; returns how many.
  std::size_t wake_all();

  std::size_t size() const { return size_; }
  std::size_t max() const { return max_; }
  void set_max(std::size_t max_waiting) { max_ = max_waiting; }

 private:
  friend struct Waiter;
  using List = boost::intrusive::list<Waiter, boost::intrusive::constant_time_size<false>>;
  List waiters_;
  std::size_t size_ = 0;
  std::size_t max_;
};

}  // namespace tg::proxy
