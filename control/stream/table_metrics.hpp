// The balancer-table stream's numbers (docs/control-plane.md, Table stream),
// written by TableState and TableHub on the owner loop and rendered by
// server/metrics.cpp on that same loop: plain fields, no atomics.
#pragma once

#include <cstdint>
#include <string>

namespace tg::control {

struct TableMetrics {
  std::uint64_t generation = 0, counter = 0;
  std::uint64_t config_versions = 0, health_versions = 0;
  double build_seconds = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t subscribers = 0;
  std::uint64_t config_sent = 0, health_sent = 0, delta_sent = 0;  // updates written, by kind
  std::uint64_t config_bytes_sent = 0, health_bytes_sent = 0, delta_bytes_sent = 0;
  std::uint64_t delta_refused = 0;  // deltas a proxy NACKed (it got the full table next)
  std::uint64_t acks = 0, nacks = 0;
  // NACKs that did not refuse the table (retryable), and the resends they caused.
  std::uint64_t nacks_retryable = 0, resends = 0;
  std::string registry_id;
  bool older_than_fleet = false;
  std::uint64_t fenced_proxies = 0;
  std::uint64_t generation_lifts = 0;
  // A newer stream of a connected node id took over from the older one.
  std::uint64_t node_replacements = 0;
  // Streams refused: no valid token, a token whose role may not stream, or
  // a node id flapping between two live streams (ALREADY_EXISTS).
  std::uint64_t refused_unauthenticated = 0, refused_permission = 0, refused_node_clash = 0;
  // Streams tg-control ended because of StreamLimits or bad input.
  std::uint64_t ended_hello_timeout = 0, ended_write_timeout = 0, ended_bad_request = 0;
  // Proxy records kept (connected or not), and disconnected ones dropped.
  std::uint64_t proxy_records = 0, proxy_records_dropped = 0;
};

}  // namespace tg::control
