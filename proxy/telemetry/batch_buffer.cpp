#include "telemetry/batch_buffer.hpp"

namespace tg::proxy::telemetry {

namespace v1 = tenantgate::v1;

void BatchBuffer::push(BatchPtr batch) {
  while (held_.size() >= capacity_) {
    held_.pop_front();
    if (sent_) --sent_;
    ++dropped_full_;
  }
  held_.push_back(std::move(batch));
}

BatchPtr BatchBuffer::next_to_send(std::size_t window) const {
  if (sent_ >= held_.size() || sent_ >= window) return nullptr;
  return held_[sent_];
}

void BatchBuffer::mark_sent() {
  if (sent_ < held_.size()) ++sent_;
}

bool BatchBuffer::ack(std::uint64_t seq, v1::TelemetryResult result) {
  if (result != v1::TELEMETRY_RESULT_STORED && result != v1::TELEMETRY_RESULT_DUPLICATE &&
      result != v1::TELEMETRY_RESULT_REFUSED)
    return false;
  // Acks come in the order of the batches: the one acked is almost always
  // the first held.
  for (std::size_t i = 0; i < held_.size(); ++i) {
    if (held_[i]->seq() != seq) continue;
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    if (i < sent_) --sent_;
    if (result == v1::TELEMETRY_RESULT_STORED) ++stored_;
    else if (result == v1::TELEMETRY_RESULT_DUPLICATE) ++duplicate_;
    else ++refused_;
    return true;
  }
  return false;
}

}  // namespace tg::proxy::telemetry
