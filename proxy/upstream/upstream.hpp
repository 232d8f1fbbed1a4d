// The upstream side of one worker: per-instance runtime state and pooled
// upstream connections.
//
// InstanceRuntime is per worker and per instance id. It survives table swaps
// (remapped by id, so in-flight counts, balancer state and pooled connections
// carry over) and dies when no table and no request refers to it any more: an
// instance removed and re-added starts fresh.
#pragma once

#include "core/ref_counted.hpp"
#include "core/runtime_serial.hpp"
#include "core/socket.hpp"
#include "core/timer_wheel.hpp"
#include "core/wait_list.hpp"
#include "metrics/histogram.hpp"
#include "resilience/breaker_cell.hpp"
#include "upstream/peak_ewma.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tg::proxy {

class UpstreamConn;

// What pooled connections need from the worker that owns them: its executor,
// deadline wheel, clock and open-connection gauge. The worker keeps one for
// its lifetime; the references point into the worker.
struct PoolHost {
  Executor executor;
  TimerWheel& wheel;
  const std::uint64_t& now_ms;       // the worker's steady milliseconds
  std::uint64_t& open_connections;  // the worker's gauge of upstream connections
};

enum class UpstreamError : std::uint8_t { connect_failure, reset, timeout, protocol };
inline constexpr std::size_t kUpstreamErrorKinds = 4;

struct InstanceRuntime : LocalRefCounted<InstanceRuntime> {
  InstanceRuntime(std::string id_, std::string service_, tcp::endpoint endpoint_);
  ~InstanceRuntime();

  std::string id;
  std::string service;
  tcp::endpoint endpoint;
  // For the access log, formatted once: the id JSON-escaped, the endpoint as
  // "IP:PORT" ("[IPv6]:PORT").
  std::string id_json;
  std::string address;

  // Balancing.
  std::uint32_t in_flight = 0;    // this worker's tries under way (least_request, peak_ewma)
  std::int64_t swrr_current = 0;  // smooth weighted round robin
  PeakEwma ewma;       // peak_ewma latency estimate
  std::uint64_t avoid_until_ms = 0;  // peak_ewma: answered 503/429; avoided until then (Worker::now_ms)

  // Passive outlier detection (services with `outlier`; else null): the
  // instance's breaker, one per proxy, shared with the other workers
  // (InstanceDef::breaker of the table this worker serves).
  std::shared_ptr<resilience::BreakerCell> breaker;

  // Pool: idle connections, most recently used last.
  std::vector<LocalPtr<UpstreamConn>> idle;
  std::uint32_t open_connections = 0;
  // This worker's share of limits.max_connections_per_instance, max(1,
  // limit / workers), busy and idle connections together (WorkerTable::build).
  std::uint32_t connection_limit = 1;

  // Pending queue (docs/life-of-a-request.md, "Pending queue"): requests of
  // phase 5 that found the instance at its connection share wait here, FIFO,
  // at most this worker's share of limits.max_pending_per_instance (0: none
  // wait). A connection parked or closed wakes as many as there is room for.
  WaitList pending{0};
  std::uint64_t pending_waits = 0;  // requests that started waiting here

  // Connections a request could take now: idle ones, and room under the share.
  std::uint32_t room() const {
    const auto idle_count = static_cast<std::uint32_t>(idle.size());
    return idle_count + (open_connections < connection_limit ? connection_limit - open_connections : 0);
  }
  // Wakes waiters until those woken and not resumed yet match the room.
  void wake_pending();

  // Counters (single writer: this worker).
  std::array<std::uint64_t, 5> responses{};  // by status class 1xx..5xx
  std::array<std::uint64_t, kUpstreamErrorKinds> errors{};
  // For telemetry (proxy/telemetry/), by phase 7 for the request's last try:
  // body bytes, and its latency with --telemetry-instance-histograms.
  std::uint64_t bytes_in = 0, bytes_out = 0;
  metrics::LatencyHistogram latency;
  const std::uint64_t serial = next_runtime_serial();
};

class UpstreamConn final : public LocalRefCounted<UpstreamConn>, public DeadlineEntry {
 public:
  UpstreamConn(PoolHost& host, InstanceRuntime& instance);
  ~UpstreamConn();

  Socket& socket() { return socket_; }
  InstanceRuntime* instance() const { return instance_; }
  bool reused() const { return requests_ > 0; }
  void count_request() { ++requests_; }

  // Returns the connection to its instance's pool; it waits there for the
  // next request or its idle timeout. A connection the upstream closed
  // meanwhile is found by take() and closed there.
  void park(std::uint64_t idle_timeout_ms);
  // Takes the most recently used idle connection of `instance`, or null.
  static LocalPtr<UpstreamConn> take(InstanceRuntime& instance);
  // Closes the socket and detaches from the instance; the object dies with
  // its last reference.
  void close();

  void on_deadline() override;  // idle timeout while parked

 private:
  friend struct InstanceRuntime;
  void drop_from_pool();
  bool alive();

  PoolHost& host_;
  InstanceRuntime* instance_;  // owned by the pool while parked, by the request while busy
  Socket socket_;
  std::uint32_t requests_ = 0;
  bool parked_ = false;
  bool closed_ = false;
};

}  // namespace tg::proxy
