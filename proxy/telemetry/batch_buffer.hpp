// The batches a proxy holds until tg-control acks them: bounded, oldest
// dropped first; sent in seq order with at most `window` unacked on the
// stream; resent whole on the next stream. Not thread-safe: the report
// client holds it under its lock.
#pragma once

#include "tenantgate/v1/telemetry.pb.h"

#include <cstdint>
#include <deque>
#include <memory>

namespace tg::proxy::telemetry {

using BatchPtr = std::shared_ptr<const tenantgate::v1::TelemetryBatch>;

class BatchBuffer {
 public:
  explicit BatchBuffer(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // Adds the next batch (seq above every held one). When full, the oldest is
  // dropped first (sent or not: an ack for it later is ignored) and counted.
  void push(BatchPtr batch);
  // The next batch to write on the current stream: the oldest not sent on
  // it, while fewer than `window` are sent and unacked; else null.
  BatchPtr next_to_send(std::size_t window) const;
  // The batch next_to_send() returned went out.
  void mark_sent();
  // An ack: STORED and DUPLICATE remove the batch, REFUSED drops it (and
  // counts it). false when no held batch has that seq or the result is
  // unknown (the batch stays, resent on the next stream).
  bool ack(std::uint64_t seq, tenantgate::v1::TelemetryResult result);
  // A new stream: everything held is unsent again, resent in seq order.
  void restart() { sent_ = 0; }

  std::size_t size() const { return held_.size(); }
  bool empty() const { return held_.empty(); }
  std::size_t in_flight() const { return sent_; }
  std::uint64_t stored() const { return stored_; }
  std::uint64_t duplicate() const { return duplicate_; }
  std::uint64_t refused() const { return refused_; }
  std::uint64_t dropped_full() const { return dropped_full_; }
  // Every batch given up (full or refused): the next batch's dropped_batches.
  std::uint64_t dropped_total() const { return refused_ + dropped_full_; }

 private:
  std::size_t capacity_;
  std::deque<BatchPtr> held_;  // seq order; the first sent_ of them are on the stream
  std::size_t sent_ = 0;
  std::uint64_t stored_ = 0, duplicate_ = 0, refused_ = 0, dropped_full_ = 0;
};

}  // namespace tg::proxy::telemetry
