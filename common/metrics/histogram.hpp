// The fixed latency-histogram bucket layout shared by every component
// (proxy /metrics now, telemetry to the control plane later).
//
// Buckets follow a 1-2-5 log-linear series from 50 µs to 60 s, so every
// exporter and aggregator agrees on bucket boundaries without negotiation.
#pragma once

#include <array>
#include <cstdint>

namespace tg::metrics {

// Upper bounds in microseconds; the last bucket (+Inf) is implicit.
inline constexpr std::array<std::uint64_t, 20> kLatencyBoundsUs = {
    50,      100,     200,     500,      1'000,    2'000,     5'000,
    10'000,  20'000,  50'000,  100'000,  200'000,  500'000,   1'000'000,
    2'000'000, 5'000'000, 10'000'000, 20'000'000, 30'000'000, 60'000'000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsUs.size() + 1;

inline std::size_t latency_bucket(std::uint64_t micros) {
  std::size_t i = 0;
  while (i < kLatencyBoundsUs.size() && micros > kLatencyBoundsUs[i]) ++i;
  return i;
}

// A plain (single-writer) histogram; owners copy it out for exposition.
struct LatencyHistogram {
  std::array<std::uint64_t, kLatencyBuckets> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum_us = 0;

  void record(std::uint64_t micros) {
    ++buckets[latency_bucket(micros)];
    ++count;
    sum_us += micros;
  }
  void add(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kLatencyBuckets; ++i) buckets[i] += other.buckets[i];
    count += other.count;
    sum_us += other.sum_us;
  }
};

}  // namespace tg::metrics
