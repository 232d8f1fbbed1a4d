// Authentication failures per client address, per worker: each failure takes
// a token from the address's bucket (kBurst tokens, refilled at kPerSecond);
// an address with no token left gets 401 without its credential being
// checked, so a flood of bad tokens costs a table lookup each instead of a
// signature check. Bounded: 4-way set-associative, the way that failed
// longest ago replaced (an address not in the table has a full bucket).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tg::proxy::auth {

class FailureLimiter {
 public:
  static constexpr std::size_t kWays = 4;
  static constexpr double kBurst = 20;
  static constexpr double kPerSecond = 1;

  explicit FailureLimiter(std::size_t capacity);

  // `address`: the client address's bytes (4 for IPv4, 16 for IPv6).
  // Whether `address` may have a credential checked at `now_ms`.
  bool allowed(std::string_view address, std::uint64_t now_ms);
  // `address` failed a check at `now_ms`.
  void failed(std::string_view address, std::uint64_t now_ms);

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<char, 16> bytes{};
    std::uint8_t length = 0;
    bool used = false;
    double tokens = 0;
    std::uint64_t at_ms = 0;  // when `tokens` was computed
  };
  Entry* find(std::string_view address, std::uint64_t now_ms);
  Entry* set_of(std::string_view address);

  std::vector<Entry> entries_;
  std::size_t sets_;
  std::size_t size_ = 0;
};

}  // namespace tg::proxy::auth
