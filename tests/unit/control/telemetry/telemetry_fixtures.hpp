// Batches and deltas for the telemetry tests.
#pragma once

#include "tenantgate/v1/telemetry.pb.h"

#include <cstdint>
#include <string>

namespace tg::control::test {

inline constexpr std::int64_t kT0 = 1'700'000'000'000;  // FakeClock's start; a multiple of 10 s, not of 60 s

// A route series: `ok` 2xx and `failed` 5xx answers, each taking `latency_us`.
inline tenantgate::v1::SeriesDelta route_delta(const std::string& tenant, const std::string& route,
                                               const std::string& service, std::uint64_t ok, std::uint64_t failed,
                                               std::uint64_t latency_us = 700) {
  tenantgate::v1::SeriesDelta d;
  d.set_tenant(tenant);
  d.set_route(route);
  d.set_service(service);
  for (std::uint64_t n : {std::uint64_t{0}, ok, std::uint64_t{0}, std::uint64_t{0}, failed}) d.add_requests_by_class(n);
  auto* h = d.mutable_latency();
  for (int i = 0; i < 21; ++i) h->add_buckets(0);
  std::size_t bucket = 0;
  const std::uint64_t bounds[] = {50,      100,     200,      500,      1000,     2000,     5000,
                                  10000,   20000,   50000,    100000,   200000,   500000,   1000000,
                                  2000000, 5000000, 10000000, 20000000, 30000000, 60000000};
  while (bucket < 20 && latency_us > bounds[bucket]) ++bucket;
  h->set_buckets(static_cast<int>(bucket), ok + failed);
  h->set_count(ok + failed);
  h->set_sum_us((ok + failed) * latency_us);
  if (failed) (*d.mutable_gateway_errors())["upstream_timeout"] = failed;
  (*d.mutable_fates())["ok"] = ok;
  d.set_bytes_out(ok * 100);
  return d;
}

inline tenantgate::v1::TelemetryBatch batch(const std::string& node, const std::string& boot, std::uint64_t seq,
                                            std::int64_t interval_start = kT0, std::int64_t sent = kT0 + 1000) {
  tenantgate::v1::TelemetryBatch b;
  b.set_node_id(node);
  b.set_boot_id(boot);
  b.set_seq(seq);
  b.set_interval_start_unix_ms(interval_start);
  b.set_interval_ms(1000);
  b.set_sent_unix_ms(sent);
  return b;
}

}  // namespace tg::control::test
