// Where suspended requests wait (docs/life-of-a-request.md, "Suspension").
//
// A phase that must wait for something other than socket I/O — a free
// connection in a pending queue, a container being started, a link
// assignment — adds the request's Waiter to a WaitList and returns
// Step::suspend(). Every list has a bound (add() refuses beyond it, and the
// phase answers at once instead of waiting) and every waiter a deadline, past
// which the connection answers the waiter's `on_timeout` step (and records
// its `timeout_fate`). Whoever owns the event wakes waiters in FIFO order; a
// woken request runs phases 3-5 again on the worker's current table.
//
// A wake is not lost: a woken waiter keeps its place (at the front, counted
// by woken()) until its request resumes (take_wake). If it goes away first —
// deadline, client gone, connection closed — cancel() passes the wake on to
// the next waiter, so one event still wakes one request that can use it.
//
// Worker-local: lists and waiters belong to one worker thread; nothing here
// is locked.
//
// Here in core/ so that an upstream's runtime (upstream/upstream.hpp: the
// pending queue) can hold a list without depending on the pipeline; the
// answer a waiter gives at its deadline is a pipeline Step, built by
// pipeline/wait_list.hpp, which callers that add or read one include.
#pragma once

#include "resilience/fate.hpp"

#include <boost/intrusive/list.hpp>

#include <cstddef>
#include <cstdint>

namespace tg::proxy {

class WaitList;
struct Step;                         // pipeline/step.hpp
enum class ErrorKind : std::uint8_t;  // pipeline/step.hpp
using resilience::Fate;

struct Waiter : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() { cancel(); }

  // Called by WaitList::wake_*() with the waiter marked woken; the owner
  // (the connection) resumes the request, posted so that a waker never runs
  // another request's phases under its own feet.
  using WakeFn = void (*)(void* owner);
  WakeFn wake = nullptr;
  void* owner = nullptr;

  WaitList* list = nullptr;     // while in a list: waiting, or woken and not resumed yet
  bool woken = false;
  std::uint64_t deadline_ms = 0;
  // The answer when the deadline passes first (a Step::respond; on_timeout()
  // in pipeline/wait_list.hpp), and the request's fate then (unset: decided
  // at record).
  std::uint16_t timeout_status = 0;
  ErrorKind timeout_error{};
  Fate timeout_fate = Fate::unset;
  Step on_timeout() const;

  bool waiting() const { return list != nullptr && !woken; }
  // The woken request resumes: it leaves the list, taking up the wake.
  void take_wake();
  // Leaves the list without taking anything up (client gone, connection
  // closed); a wake it had goes to the next waiter.
  void cancel();
  // The deadline passed: cancel(), counted by the list (expired()).
  void expire();
};

class WaitList {
 public:
  explicit WaitList(std::size_t max_waiting) : max_(max_waiting) {}
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList();

  // Queues `waiter` at the back with its deadline, timeout answer and fate;
  // false (nothing queued, refused() counts it) when `max_waiting` requests
  // are in the list already. A waiter is in one list at a time.
  // (Defined in pipeline/wait_list.hpp.)
  bool add(Waiter& waiter, std::uint64_t deadline_ms, Step on_timeout, Fate timeout_fate = Fate::unset);
  // The same with the answer's status and error kind.
  bool add(Waiter& waiter, std::uint64_t deadline_ms, std::uint16_t status, ErrorKind error, Fate timeout_fate);
  // Wakes the longest-waiting request not woken yet; false when none.
  bool wake_one();
  // Wakes every request not woken yet; returns how many.
  std::size_t wake_all();

  // In the list: waiting, or woken and not resumed yet (the bound counts both).
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t woken() const { return woken_; }
  std::size_t max() const { return max_; }
  void set_max(std::size_t max_waiting) { max_ = max_waiting; }
  std::uint64_t refused() const { return refused_; }  // add() refused: the list was full
  std::uint64_t expired() const { return expired_; }  // waiters whose deadline passed in the list

 private:
  friend struct Waiter;
  using List = boost::intrusive::list<Waiter, boost::intrusive::constant_time_size<false>>;
  void leave(Waiter& waiter);
  List waiters_;  // woken ones first (a wake takes the first not woken), then by arrival
  std::size_t size_ = 0;
  std::size_t woken_ = 0;
  std::size_t max_;
  std::uint64_t refused_ = 0;
  std::uint64_t expired_ = 0;
};

}  // namespace tg::proxy
