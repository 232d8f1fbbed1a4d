// Where a proxy's request outcomes go besides /metrics: with --control, the
// Telemetry.Report client (proxy/telemetry/report_client.hpp), which sends
// the counters' deltas to tg-control every --telemetry-interval. The server
// owns the workers and knows how to copy their counters; the sink decides
// when and what to send. Nothing here is on the request path.
#pragma once

#include "runtime/worker.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace tg::proxy {

// What /metrics shows about telemetry (a copy, taken under the sink's lock).
struct TelemetryStatus {
  std::uint64_t stored = 0;     // batches acked STORED
  std::uint64_t duplicate = 0;  // batches acked DUPLICATE (a resend of a committed batch)
  std::uint64_t refused = 0;    // batches acked REFUSED, dropped
  std::uint64_t dropped_buffer_full = 0;  // oldest batches dropped unacked: the buffer was full
  std::uint64_t buffered = 0;   // batches held now, unacked
  std::uint64_t connects = 0;   // streams on which tg-control answered
};

// Copies every worker's counters on that worker (and takes the breaker
// transitions each kept); waits at most `timeout`. A worker that did not
// answer in time has no copy: its counts go into a later batch.
using TelemetryCollectFn = std::function<std::vector<std::optional<WorkerStatsCopy>>(std::chrono::milliseconds timeout)>;

class TelemetrySink {
 public:
  virtual ~TelemetrySink() = default;

  // Once the workers run: starts collecting and sending.
  virtual void start(TelemetryCollectFn collect) = 0;
  // Drain (SIGTERM), the workers still running: takes a last interval, waits
  // (bounded by the sink's flush timeout) for the acks of every batch held,
  // then stops. Blocks the caller.
  virtual void flush() = 0;
  // Any thread, returns at once: ends collecting, the stream and every wait.
  virtual void stop() = 0;
  // After stop() or flush(): waits for the sink's threads.
  virtual void join() = 0;
  virtual TelemetryStatus status() const = 0;
};

}  // namespace tg::proxy
