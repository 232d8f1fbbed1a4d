// The one-shot timer of the table stream's debounce. The product uses the
// owner loop's steady timer (AsioDebounceTimer); tests fire it by hand.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>

namespace tg::control {

class DebounceTimer {
 public:
  virtual ~DebounceTimer() = default;
  // Replaces any armed callback.
  virtual void arm(std::chrono::microseconds after, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class AsioDebounceTimer final : public DebounceTimer {
 public:
  explicit AsioDebounceTimer(boost::asio::io_context& io) : timer_(io) {}
  void arm(std::chrono::microseconds after, std::function<void()> fire) override;
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace tg::control
