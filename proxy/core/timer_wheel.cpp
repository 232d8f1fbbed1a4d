#include "core/timer_wheel.hpp"

#include <algorithm>

namespace tg::proxy {

DeadlineEntry::~DeadlineEntry() { unlink(); }

void DeadlineEntry::unlink() {
  if (!next_) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void TimerWheel::Sentinel::reset() {
  DeadlineEntry* self = this;
  static_cast<Sentinel*>(self)->prev_ = self;
  static_cast<Sentinel*>(self)->next_ = self;
}

bool TimerWheel::Sentinel::empty() const { return next_ == this; }

void TimerWheel::Sentinel::push(DeadlineEntry& e) {
  e.prev_ = prev_;
  e.next_ = this;
  prev_->next_ = &e;
  prev_ = &e;
}

DeadlineEntry* TimerWheel::Sentinel::front() { return empty() ? nullptr : next_; }

TimerWheel::TimerWheel(std::uint64_t now_ms) : current_ms_(now_ms - now_ms % kTickMs) {}

TimerWheel::~TimerWheel() {
  // Entries outlive nothing here; detach them so their destructors do not
  // touch freed sentinels.
  for (Sentinel& s : slots_)
    while (DeadlineEntry* e = s.front()) e->unlink();
}

void TimerWheel::file(DeadlineEntry& entry) {
  // Never file in the past (the slot being processed is current_ms_), and
  // never more than one turn ahead: a far deadline is re-filed when its slot
  // comes round.
  // While a slot is being processed it is closed: file into the next one.
  const std::uint64_t first = advancing_ ? current_ms_ + kTickMs : current_ms_;
  std::uint64_t at = std::max(entry.deadline_ms_, first);
  at = std::min(at, current_ms_ + (kSlots - 1) * kTickMs);
  at -= at % kTickMs;
  entry.filed_ms_ = at;
  slots_[(at / kTickMs) % kSlots].push(entry);
}

void TimerWheel::set(DeadlineEntry& entry, std::uint64_t deadline_ms) {
  entry.deadline_ms_ = deadline_ms;
  if (entry.linked()) {
    if (entry.filed_ms_ <= deadline_ms) return;  // moved later: fixed lazily
    entry.unlink();
  }
  file(entry);
}

void TimerWheel::advance(std::uint64_t now_ms) {
  advancing_ = true;
  while (current_ms_ <= now_ms) {
    Sentinel& slot = slots_[(current_ms_ / kTickMs) % kSlots];
    // Detach the slot first: callbacks may add to it or destroy entries.
    Sentinel pending;
    if (!slot.empty()) {
      pending.next_ = slot.next_;
      pending.prev_ = slot.prev_;
      pending.next_->prev_ = &pending;
      pending.prev_->next_ = &pending;
      slot.reset();
    }
    while (DeadlineEntry* e = pending.front()) {
      e->unlink();
      if (e->deadline_ms_ == 0) continue;  // cleared
      if (e->deadline_ms_ <= now_ms) {
        e->deadline_ms_ = 0;
        e->on_deadline();
      } else {
        file(*e);
      }
    }
    current_ms_ += kTickMs;
  }
  advancing_ = false;
}

}  // namespace tg::proxy
