// tg-proxy's side of Telemetry.Report (proto/tenantgate/v1/telemetry.proto):
// every --telemetry-interval the counters' deltas and the breaker
// transitions go to tg-control as one TelemetryBatch.
//
// Three threads, none on the request path: the collector copies the
// workers' counters (posted to each worker, like /metrics), builds the batch
// and puts it in the buffer; the sender writes batches in seq order, at most
// `window` unacked; a reader per stream takes the acks. A stream that ends
// (tg-control away, UNAVAILABLE, any error) is opened again after a back-off
// and everything unacked is sent again: tg-control acks a resend DUPLICATE,
// so nothing is counted twice and nothing acked is lost.
#pragma once

#include "subscription/backoff.hpp"
#include "telemetry/telemetry_sink.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace tg::proxy::telemetry {

struct ReportOptions {
  std::string target;   // tg-control's gRPC address, HOST:PORT
  std::string node_id;  // as in the table stream's hello
  std::string boot_id;  // as in the table stream's hello
  std::string token;    // "authorization: Bearer <token>"; empty: none
  std::chrono::milliseconds interval{1000};
  std::size_t buffer_batches = 60;  // --telemetry-buffer / --telemetry-interval
  std::size_t window = 8;
  std::chrono::milliseconds flush_timeout{2000};
  std::size_t workers = 1;
  subscription::BackoffPolicy backoff;
};

class ReportClient final : public TelemetrySink {
 public:
  explicit ReportClient(ReportOptions options);
  ~ReportClient() override;  // stops and joins
  ReportClient(const ReportClient&) = delete;
  ReportClient& operator=(const ReportClient&) = delete;

  void start(TelemetryCollectFn collect) override;
  void flush() override;
  void stop() override;
  void join() override;
  TelemetryStatus status() const override;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread collector_;
  std::thread sender_;
};

}  // namespace tg::proxy::telemetry
