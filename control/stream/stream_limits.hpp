// What one table stream and the proxy records may hold, and for how long
// (tg-control --hello-timeout, --stream-write-timeout, --proxy-retention,
// --proxy-retention-keep; docs/operations.md, "Limits").
#pragma once

#include <chrono>
#include <cstddef>

namespace tg::control {

struct StreamLimits {
  // A stream that sent no hello this long after it opened is ended
  // (DEADLINE_EXCEEDED).
  std::chrono::milliseconds hello_timeout{10'000};
  // A write (one update; every stream has at most one in flight) not
  // completed this long after it started — the proxy reads nothing — ends
  // the stream and drops the write, freeing what it holds.
  std::chrono::milliseconds write_timeout{60'000};
  // Records of disconnected proxies are dropped this long after the
  // disconnect, except the `retention_keep` most recent ones.
  std::chrono::milliseconds proxy_retention{std::chrono::hours(1)};
  std::size_t retention_keep = 100;
  // At most this many disconnected records whatever their age (node ids
  // churning faster than the retention drops them): the oldest go first.
  std::size_t max_disconnected = 10'000;
  // How often the deadlines above are checked.
  std::chrono::milliseconds sweep_interval{1'000};
};

}  // namespace tg::control
