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
//
// A KeyRequest read from a stream goes to the KeyRequestHandler on the owner
// loop (the jwks_url refetch, control/keys/), not to the hub: it is no part
// of the hello / update / ACK protocol. Its fields are bounded (tenant id 63
// bytes, key id 256) and anything larger is dropped.
#pragma once

#include "server/auth.hpp"
#include "server/core.hpp"
#include "stream/table_hub.hpp"

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <atomic>
#include <functional>

namespace tg::control {

// A proxy's KeyRequest (a token named a key id its tenant's JWK Set lacks),
// run on the owner loop. Not answered: a refetched set reaches the proxy as
// a new table version.
using KeyRequestHandler = std::function<void(const tenantgate::v1::KeyRequest& request)>;

class DiscoveryService final
    : public tenantgate::v1::Discovery::WithRawCallbackMethod_StreamTable<tenantgate::v1::Discovery::Service> {
 public:
  // Without `on_key_request` KeyRequests are dropped.
  DiscoveryService(Core& core, TableHub& hub, const TokenSet& tokens, KeyRequestHandler on_key_request = {})
      : core_(core), hub_(hub), tokens_(tokens), on_key_request_(std::move(on_key_request)) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamTable(
      grpc::CallbackServerContext* context) override;

 private:
  Core& core_;
  TableHub& hub_;
  const TokenSet& tokens_;
  KeyRequestHandler on_key_request_;
  std::atomic<TableHub::SubscriberId> next_id_{1};
};

}  // namespace tg::control
