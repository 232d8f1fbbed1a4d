// BatchBuffer (proxy/telemetry/batch_buffer.hpp): bounded with the oldest
// dropped first, at most `window` in flight, sent in seq order, resent whole
// after restart(), removed on STORED/DUPLICATE, dropped and counted on REFUSED.
#include "telemetry/batch_buffer.hpp"

#include <catch2/catch.hpp>

#include <vector>

using tg::proxy::telemetry::BatchBuffer;
using tg::proxy::telemetry::BatchPtr;
namespace v1 = tenantgate::v1;

namespace {

BatchPtr batch(std::uint64_t seq) {
  auto b = std::make_shared<v1::TelemetryBatch>();
  b->set_seq(seq);
  return b;
}

// Sends what the window allows; returns the seqs sent.
std::vector<std::uint64_t> send_all(BatchBuffer& buffer, std::size_t window) {
  std::vector<std::uint64_t> sent;
  while (BatchPtr next = buffer.next_to_send(window)) {
    sent.push_back(next->seq());
    buffer.mark_sent();
  }
  return sent;
}

}  // namespace

TEST_CASE("batches go out in seq order, at most the window unacked", "[proxy][telemetry]") {
  BatchBuffer buffer(10);
  for (std::uint64_t s = 1; s <= 5; ++s) buffer.push(batch(s));
  CHECK(send_all(buffer, 3) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(buffer.in_flight() == 3);
  CHECK(buffer.ack(1, v1::TELEMETRY_RESULT_STORED));
  CHECK(send_all(buffer, 3) == std::vector<std::uint64_t>{4});
  CHECK(buffer.ack(2, v1::TELEMETRY_RESULT_STORED));
  CHECK(buffer.ack(3, v1::TELEMETRY_RESULT_STORED));
  CHECK(buffer.ack(4, v1::TELEMETRY_RESULT_STORED));
  CHECK(send_all(buffer, 3) == std::vector<std::uint64_t>{5});
  CHECK(buffer.ack(5, v1::TELEMETRY_RESULT_STORED));
  CHECK(buffer.empty());
  CHECK(buffer.stored() == 5);
  CHECK(buffer.dropped_total() == 0);
}

TEST_CASE("a full buffer drops the oldest first and counts it", "[proxy][telemetry]") {
  BatchBuffer buffer(3);
  for (std::uint64_t s = 1; s <= 5; ++s) buffer.push(batch(s));
  CHECK(buffer.size() == 3);
  CHECK(buffer.dropped_full() == 2);
  CHECK(buffer.dropped_total() == 2);
  CHECK(send_all(buffer, 8) == std::vector<std::uint64_t>{3, 4, 5});
  // Dropping a batch that is in flight: its late ack is ignored.
  buffer.push(batch(6));
  CHECK(buffer.in_flight() == 2);
  CHECK_FALSE(buffer.ack(3, v1::TELEMETRY_RESULT_STORED));
  CHECK(send_all(buffer, 8) == std::vector<std::uint64_t>{6});
}

TEST_CASE("a new stream resends everything unacked, in seq order", "[proxy][telemetry]") {
  BatchBuffer buffer(10);
  for (std::uint64_t s = 1; s <= 4; ++s) buffer.push(batch(s));
  CHECK(send_all(buffer, 8) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(buffer.ack(1, v1::TELEMETRY_RESULT_STORED));
  buffer.restart();  // the stream broke with 2..4 unacked
  buffer.push(batch(5));
  CHECK(send_all(buffer, 8) == std::vector<std::uint64_t>{2, 3, 4, 5});
}

TEST_CASE("DUPLICATE removes the batch, REFUSED drops and counts it, unknown results keep it",
          "[proxy][telemetry]") {
  BatchBuffer buffer(10);
  for (std::uint64_t s = 1; s <= 3; ++s) buffer.push(batch(s));
  send_all(buffer, 8);
  CHECK(buffer.ack(1, v1::TELEMETRY_RESULT_DUPLICATE));
  CHECK(buffer.ack(2, v1::TELEMETRY_RESULT_REFUSED));
  CHECK_FALSE(buffer.ack(3, v1::TELEMETRY_RESULT_UNSPECIFIED));
  CHECK(buffer.size() == 1);
  CHECK(buffer.duplicate() == 1);
  CHECK(buffer.refused() == 1);
  CHECK(buffer.stored() == 0);
  CHECK(buffer.dropped_total() == 1);
  buffer.restart();
  CHECK(send_all(buffer, 8) == std::vector<std::uint64_t>{3});
  CHECK_FALSE(buffer.ack(99, v1::TELEMETRY_RESULT_STORED));
}
