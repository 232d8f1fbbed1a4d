#include "stream/debounce_timer.hpp"

namespace tg::control {

void AsioDebounceTimer::arm(std::chrono::microseconds after, std::function<void()> fire) {
  timer_.expires_after(after);
  timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
}

}  // namespace tg::control
