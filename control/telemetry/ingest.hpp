// tg-control's side of Telemetry.Report (telemetry.proto), one per process,
// on the owner loop. For each batch a stream read:
//   1. checked (batch.hpp): malformed → REFUSED with the reason, counted;
//   2. at or below the known mark of its (node, boot) → DUPLICATE at once;
//   3. placed in time (its interval start; receive time when skewed or
//      late), its series passed through the per-tenant cap, folded into one
//      TelemetryCommit (deltas per series and minute, events, the mark);
//   4. submitted to the writer with nothing else to wait for, and answered
//      only from the commit's completion: STORED (then, and only then, added
//      to the 10 s window and the /metrics totals) or DUPLICATE (the store
//      found the mark already there: a resend that raced its original).
//      A failed commit answers no ack: the caller ends the stream with the
//      status, and the proxy sends the batch again.
// Marks are loaded at start and kept for every (node, boot) seen, so resends
// after a restart are answered without a commit; the store's mark stays the
// authority (checked inside the transaction).
#pragma once

#include "clock.hpp"
#include "status.hpp"
#include "store/store.hpp"
#include "telemetry/series_cap.hpp"
#include "telemetry/window.hpp"

#include "tenantgate/v1/telemetry.pb.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace tg::control::telemetry {

// What one stored delta adds to the window.
struct WindowDelta {
  SeriesKey series;
  RollupCounters counters;
  std::uint64_t timeouts = 0;  // gateway errors of kind "timeout"
};

struct IngestOptions {
  std::size_t max_series_per_tenant = 10'000;  // 0 = no cap
};

// Totals for /metrics and tests.
struct IngestCounters {
  std::uint64_t stored = 0, duplicate = 0, refused = 0, failed = 0;
  std::uint64_t late = 0;     // stored in the minute of their receipt, interval more than 2 min old
  std::uint64_t skewed = 0;   // bucketed by receive time: the proxy's clock is off by more than 5 s
  std::uint64_t overflow = 0; // series deltas folded into a tenant's overflow series
};

class Ingest {
 public:
  // Proxies not heard from for this long leave the per-proxy gauges.
  static constexpr std::int64_t kProxyGaugeTtlMs = 600'000;

  // Commits `batch` on the writer; `done` (owner loop) gets the outcome and
  // the batch back (TelemetryCommit::duplicate set by the store).
  using Submit = std::function<void(CommitBatch batch, std::function<void(const Status&, CommitBatch&&)> done)>;
  // The ack to send, or nullopt with the failure when the batch was not
  // stored (the stream ends with that status; the proxy resends).
  using Done = std::function<void(std::optional<tenantgate::v1::TelemetryAck> ack, const Status& failure)>;

  Ingest(const Clock& clock, Submit submit, IngestOptions options = {});

  // At start, from the store: the marks, the series (for the cap) and the
  // last hour's minute rollups (the window).
  void load(const std::vector<TelemetryMark>& marks, const std::vector<SeriesKey>& series,
            const std::vector<RollupRow>& last_hour);

  void receive(const tenantgate::v1::TelemetryBatch& batch, Done done);

  const Window& window();  // pruned to the last hour first
  const IngestCounters& counters() const { return counters_; }
  std::optional<std::uint64_t> mark(const std::string& node_id, const std::string& boot_id) const;

  // Prometheus text of the families tg_control_tenant_* and tg_control_telemetry_*.
  std::string render_metrics() const;

 private:
  void stored(const TelemetryCommit& commit, const tenantgate::v1::TelemetryBatch& batch,
              const std::vector<WindowDelta>& window_deltas, std::int64_t placed_unix_ms,
              bool late);

  const Clock& clock_;
  Submit submit_;
  SeriesCap cap_;
  Window window_;
  IngestCounters counters_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> marks_;  // committed (node, boot) → seq
  // /metrics totals since start, from route series, by (tenant, service).
  std::map<std::pair<std::string, std::string>, RollupCounters> totals_;
  struct Proxy {
    std::int64_t lag_ms = 0;  // receive time - interval end of its newest stored batch
    std::uint64_t dropped_batches = 0;
    std::int64_t last_unix_ms = 0;
  };
  std::map<std::string, Proxy> proxies_;
};

}  // namespace tg::control::telemetry
