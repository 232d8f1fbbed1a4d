// The Telemetry gRPC service (telemetry.proto) on the callback API: one
// Report stream per proxy, on the same port and with the same bearer-token
// check as Discovery.StreamTable (role proxy or admin; server/auth.hpp).
//
// Threading: reactor callbacks run on gRPC threads and only post to the
// owner loop; everything else — the stream's state, StartRead, StartWrite,
// Finish — happens there. A batch read is handed to telemetry::Ingest, whose
// answer comes back on the owner loop once the writer committed it; acks are
// written in the order of the batches (one write in flight), whatever order
// their answers arrive in. Flow control: at most `max_in_flight` batches of a
// stream read and not yet acked; beyond, the stream stops reading until acks
// go out (the proxy's window is smaller: this bounds a misbehaving client).
// A commit that failed ends the stream with its status (UNAVAILABLE): the
// proxy keeps its unacked batches and sends them again on a new stream.
#pragma once

#include "server/auth.hpp"
#include "server/core.hpp"
#include "telemetry/ingest.hpp"

#include "tenantgate/v1/telemetry.grpc.pb.h"

#include <memory>
#include <set>

namespace tg::control {

class TelemetryService final : public tenantgate::v1::Telemetry::CallbackService {
 public:
  static constexpr std::size_t default_max_in_flight = 64;

  TelemetryService(Core& core, telemetry::Ingest& ingest, const TokenSet& tokens,
                   std::size_t max_in_flight = default_max_in_flight)
      : core_(core), ingest_(ingest), tokens_(tokens), max_in_flight_(max_in_flight) {}

  grpc::ServerBidiReactor<tenantgate::v1::TelemetryBatch, tenantgate::v1::TelemetryAck>* Report(
      grpc::CallbackServerContext* context) override;

  // Owner loop: ends every open stream (UNAVAILABLE), before the server shuts down.
  void shutdown();
  // Owner loop: streams open now.
  std::size_t streams() const { return streams_.size(); }

  struct StreamState;  // server/telemetry_service.cpp

 private:
  friend struct StreamOps;
  Core& core_;
  telemetry::Ingest& ingest_;
  const TokenSet& tokens_;
  const std::size_t max_in_flight_;
  bool shut_down_ = false;                           // owner loop
  std::set<std::shared_ptr<StreamState>> streams_;  // owner loop
};

}  // namespace tg::control
