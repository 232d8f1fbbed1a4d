// A simulated proxy's side of Telemetry.Report (telemetry.proto), for tests
// and the ingest benchmark: one stream on its own channel, batches written
// and acks read synchronously, everything bounded by the stream's deadline.
#pragma once

#include "tenantgate/v1/telemetry.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tg::itest {

class TelemetryStream {
 public:
  // Opens the stream to `address` (host:port); `token` as Bearer when not empty.
  TelemetryStream(const std::string& address, const std::string& token = {},
                  std::chrono::milliseconds deadline = std::chrono::seconds(30));
  ~TelemetryStream();

  // False when the stream is broken (tg-control gone, stream ended).
  bool send(const tenantgate::v1::TelemetryBatch& batch);
  // The next ack; nullopt when the stream ended (then finish() says why).
  std::optional<tenantgate::v1::TelemetryAck> read();
  // Half-closes and waits for the status.
  grpc::Status finish();

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<tenantgate::v1::Telemetry::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<tenantgate::v1::TelemetryBatch, tenantgate::v1::TelemetryAck>> stream_;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace tg::itest
