// Process-wide data-plane settings from tg-proxy's flags (not from the table).
#pragma once

#include "balancing/ip_address.hpp"
#include "http/message_head.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tg::proxy {

struct ProxySettings {
  http::ParseLimits limits;  // request and upstream response heads
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds keepalive_timeout{60'000};
  std::chrono::milliseconds drain_timeout{15'000};
  // A keep-alive connection keeps its buffers this long after a response, so
  // a busy client does not pay for re-arming readiness; then it goes idle with
  // no buffers at all.
  std::chrono::milliseconds buffer_grace{200};
  std::size_t body_buffer_bytes = 64 * 1024;  // --relay-buffer-kib; only touched pages are resident
  bool merge_slashes = false;  // "//" in paths collapsed before matching
  unsigned workers = 1;
  // Peers whose X-Forwarded-For is believed when finding the client address
  // for ip_hash and the client_ip hash key (balancing/hash_key.hpp). Empty:
  // the peer address is always the client.
  std::vector<balancing::Cidr> trusted_proxies;
  // --trust-request-id: a valid client X-Request-Id is kept from any peer.
  // Off: kept only from trusted_proxies, others get a generated id
  // (pipeline/request_id.hpp).
  bool trust_request_id = false;
  // --telemetry-instance-histograms (with telemetry on): phase 7 also
  // records each request's latency on the instance of its last try.
  bool telemetry_instance_histograms = false;
  // Telemetry is on (--control, --telemetry-interval not 0): the workers
  // keep breaker transitions for the collector (proxy/telemetry/).
  bool telemetry_events = false;
};

}  // namespace tg::proxy
