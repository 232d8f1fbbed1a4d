// What the telemetry of the proxies becomes in the store (docs/control-plane.md,
// "Telemetry"): minute rollups per series, the (node, boot) → seq marks that
// make each batch count exactly once, and the queries that read them back.
// Plain data, no protobuf: the store stays free of the RPC layer.
#pragma once

#include "metrics/histogram.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace tg::control {

struct EventRecord;  // store/store.hpp

// A series as the proxies report it; "" where a part does not apply (a route
// series has instance "", an instance series route "").
struct SeriesKey {
  std::string tenant, route, service, instance;

  bool instance_series() const { return !instance.empty(); }
  friend bool operator<(const SeriesKey& a, const SeriesKey& b) {
    return std::tie(a.tenant, a.route, a.service, a.instance) < std::tie(b.tenant, b.route, b.service, b.instance);
  }
  friend bool operator==(const SeriesKey& a, const SeriesKey& b) {
    return a.tenant == b.tenant && a.route == b.route && a.service == b.service && a.instance == b.instance;
  }
};

// The counters of one series over some time (a batch's interval, a 10 s
// bucket, a minute rollup). Adding is the only operation: every figure is a
// count, the histogram included (buckets are not cumulative).
struct RollupCounters {
  std::array<std::uint64_t, 5> requests_by_class{};  // 1xx .. 5xx
  std::uint64_t gateway_errors = 0;  // all kinds
  std::uint64_t retries = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t held = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t latency_count = 0;
  std::uint64_t latency_sum_us = 0;
  std::array<std::uint64_t, metrics::kLatencyBuckets> latency_buckets{};

  std::uint64_t requests() const {
    std::uint64_t n = 0;
    for (std::uint64_t c : requests_by_class) n += c;
    return n;
  }
  std::uint64_t errors() const { return requests_by_class[4]; }  // 5xx, the gateway's own included
  void add(const RollupCounters& o) {
    for (std::size_t i = 0; i < requests_by_class.size(); ++i) requests_by_class[i] += o.requests_by_class[i];
    gateway_errors += o.gateway_errors;
    retries += o.retries;
    auth_failures += o.auth_failures;
    rate_limited += o.rate_limited;
    held += o.held;
    bytes_in += o.bytes_in;
    bytes_out += o.bytes_out;
    latency_count += o.latency_count;
    latency_sum_us += o.latency_sum_us;
    if (o.latency_count != 0)
      for (std::size_t i = 0; i < latency_buckets.size(); ++i) latency_buckets[i] += o.latency_buckets[i];
  }
};

// Named counts of a series' minute: gateway errors by kind, fates.
using NamedCounts = std::vector<std::pair<std::string, std::uint64_t>>;

// One series' deltas of a batch, in the minute they are stored under.
struct RollupDelta {
  SeriesKey series;
  std::int64_t minute_unix_ms = 0;  // a multiple of 60,000
  RollupCounters counters;
  NamedCounts error_kinds;
  NamedCounts fates;
};

// One proxy batch, committed with its mark or not at all. The store decides,
// inside the transaction, whether the batch is new (seq above the stored
// mark of (node_id, boot_id)) or a resend, and says so in `duplicate`: a
// resend's deltas are not added.
struct TelemetryCommit {
  std::string node_id, boot_id;
  std::uint64_t seq = 0;
  std::int64_t received_unix_ms = 0;  // stored with the mark (retention of old boots)
  std::vector<RollupDelta> deltas;
  std::vector<EventRecord> events;  // the batch's events (breaker transitions), recorded unless a resend
  mutable bool duplicate = false;  // output of Store::commit
};

struct TelemetryMark {
  std::string node_id, boot_id;
  std::uint64_t seq = 0;
  std::int64_t updated_unix_ms = 0;
};

// One stored minute of one series (re-seeding the in-memory window).
struct RollupRow {
  SeriesKey series;
  std::int64_t minute_unix_ms = 0;
  RollupCounters counters;
};

// The minutes [since, until) of the series matching a scope, summed per
// minute. Given parts must match; instance_series picks instance series
// (else route series, instance "").
struct RollupQuery {
  std::string tenant, route, service, instance;
  bool instance_series = false;
  std::int64_t since_unix_ms = 0;
  std::int64_t until_unix_ms = 0;
};

struct RollupMinute {
  std::int64_t minute_unix_ms = 0;
  RollupCounters counters;
};

}  // namespace tg::control
