// The Discovery gRPC service (discovery.proto) on the callback API: each
// StreamTable call becomes a TableStream reactor, a TableSubscriber of the
// TableHub. The method is registered raw (grpc::ByteBuffer both ways): the
// reactor parses what it reads, and writes an update's shared bytes
// (TableUpdate) as a slice that references them, so N streams of one version
// hold one encoding, not N copies.
//
// Threading: reactor callbacks run on gRPC threads and only post to the owner
// loop (hub.connect / receive / write_done / disconnect, by stream id); the
// hub calls StartWrite and Finish from the owner loop only. Every stream is
// finished by the hub (also after a cancel), and the reactor deletes itself
// in OnDone, which gRPC calls only after Finish, so the hub never holds a
// dangling subscriber. Authentication is the Admin service's bearer token
// check, on the gRPC thread; the token's role must be proxy or admin
// (PERMISSION_DENIED otherwise, server/auth.hpp).
#pragma once

#include "server/auth.hpp"
#include "server/core.hpp"
#include "stream/table_hub.hpp"

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <atomic>

namespace tg::control {

class DiscoveryService final
    : public tenantgate::v1::Discovery::WithRawCallbackMethod_StreamTable<tenantgate::v1::Discovery::Service> {
 public:
  DiscoveryService(Core& core, TableHub& hub, const TokenSet& tokens) : core_(core), hub_(hub), tokens_(tokens) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamTable(
      grpc::CallbackServerContext* context) override;

 private:
  Core& core_;
  TableHub& hub_;
  const TokenSet& tokens_;
  std::atomic<TableHub::SubscriberId> next_id_{1};
};

}  // namespace tg::control
