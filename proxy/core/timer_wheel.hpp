// One lazy deadline per connection (docs/architecture.md, Decisions).
//
// A connection stores its deadline in a plain field as often as it likes (a
// store, no syscall, no timer object per I/O). The wheel only looks at the
// entry when the slot it was filed under comes round: a deadline that has
// moved later is re-filed, one that has passed fires. Moving a deadline earlier
// re-files at once so it is never missed.
#pragma once

#include <cstdint>

namespace tg::proxy {

class TimerWheel;

class DeadlineEntry {
 public:
  DeadlineEntry() = default;
  DeadlineEntry(const DeadlineEntry&) = delete;
  DeadlineEntry& operator=(const DeadlineEntry&) = delete;

  // Called on the worker thread when the deadline has passed. The entry is
  // already unlinked; it may set a new deadline or destroy itself.
  virtual void on_deadline() = 0;

  std::uint64_t deadline_ms() const { return deadline_ms_; }

 protected:
  ~DeadlineEntry();

 private:
  friend class TimerWheel;
  void unlink();
  bool linked() const { return next_ != nullptr; }

  DeadlineEntry* prev_ = nullptr;
  DeadlineEntry* next_ = nullptr;
  std::uint64_t deadline_ms_ = 0;  // 0: none
  std::uint64_t filed_ms_ = 0;     // the slot time it is filed under
};

class TimerWheel {
 public:
  static constexpr std::uint64_t kTickMs = 10;
  static constexpr std::uint32_t kSlots = 512;  // one turn covers 5.12 s

  explicit TimerWheel(std::uint64_t now_ms);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Sets (or moves) the entry's deadline. Cheap when it only moves later.
  void set(DeadlineEntry& entry, std::uint64_t deadline_ms);
  // Forgets the deadline (the entry is dropped lazily or when destroyed).
  static void clear(DeadlineEntry& entry) { entry.deadline_ms_ = 0; }

  // Fires entries whose deadline is <= now_ms. Granularity is one tick: an
  // entry fires at most kTickMs after its deadline, never before it.
  void advance(std::uint64_t now_ms);

 private:
  struct Sentinel : DeadlineEntry {
    Sentinel() { reset(); }
    void reset();
    void on_deadline() override {}
    bool empty() const;
    void push(DeadlineEntry& e);
    DeadlineEntry* front();
  };
  void file(DeadlineEntry& entry);

  Sentinel slots_[kSlots];
  std::uint64_t current_ms_;  // slot time of the next slot to process
  bool advancing_ = false;
};

}  // namespace tg::proxy
