// The last hour of telemetry in memory (docs/control-plane.md, "Telemetry"):
// 10 s buckets per series, what Top (and the alert rules) read. Fed on the
// owner loop with committed batches only, so a resend is never counted;
// re-seeded at start from the minute rollups of the last hour (each minute
// lands in the bucket at its start: minute resolution until the first hour
// after a restart has passed).
//
// Compact by design: per series, only the buckets that received data, each
// 160 bytes (32-bit counts, which a 10 s bucket cannot overflow in practice
// and which saturate if it does; 64-bit bytes and latency sum); buckets
// older than an hour are dropped as new ones arrive and by prune().
// Single-threaded (owner loop).
#pragma once

#include "store/rollups.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tg::control::telemetry {

inline constexpr std::int64_t kBucketMs = 10'000;
inline constexpr std::int64_t kWindowMs = 3'600'000;

// The start of the 10 s bucket / the minute that holds `unix_ms`.
inline std::int64_t bucket_of(std::int64_t unix_ms) { return unix_ms - ((unix_ms % kBucketMs) + kBucketMs) % kBucketMs; }
inline std::int64_t minute_of(std::int64_t unix_ms) { return unix_ms - ((unix_ms % 60'000) + 60'000) % 60'000; }

class Window {
 public:
  struct Bucket {
    std::int64_t start_unix_ms = 0;
    std::array<std::uint32_t, 5> requests_by_class{};
    std::uint32_t gateway_errors = 0, retries = 0, auth_failures = 0, rate_limited = 0, held = 0;
    std::uint32_t latency_count = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0, latency_sum_us = 0;
    std::array<std::uint32_t, metrics::kLatencyBuckets> latency_buckets{};
    std::uint32_t timeouts = 0;  // gateway errors of kind "timeout" (alert rules)

    void add(const RollupCounters& c);
    void add_to(RollupCounters& out) const;
  };

  // Adds a series' counters to the bucket holding `time_unix_ms`. Data older
  // than an hour before `now_unix_ms` is not kept. `timeouts`: the gateway
  // errors of kind "timeout" among them (the alert metric timeout_rate); the
  // minute rollups keep error kinds apart, so re-seeded minutes have none.
  void add(const SeriesKey& series, std::int64_t time_unix_ms, const RollupCounters& counters,
           std::int64_t now_unix_ms, std::uint64_t timeouts = 0);
  // A proxy reported in the bucket holding `time_unix_ms`.
  void reported(const std::string& node_id, std::int64_t time_unix_ms);
  // Drops buckets older than an hour before `now_unix_ms`, and series left empty.
  void prune(std::int64_t now_unix_ms);

  // Calls `visit` for every series with its buckets (oldest first).
  void for_each(const std::function<void(const SeriesKey&, const std::deque<Bucket>&)>& visit) const;
  // Distinct proxies that reported in buckets starting at or after `since_unix_ms`.
  std::size_t proxies_since(std::int64_t since_unix_ms) const;
  std::size_t series_count() const { return series_.size(); }
  std::size_t bucket_count() const;

 private:
  std::map<SeriesKey, std::deque<Bucket>> series_;
  std::map<std::int64_t, std::set<std::string>> reporters_;  // bucket start → node ids
};

}  // namespace tg::control::telemetry
