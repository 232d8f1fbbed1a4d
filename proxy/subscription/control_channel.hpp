// The one gRPC channel setup for every stream a proxy opens to tg-control
// (the table stream, telemetry). Both streams pass the same arguments on
// purpose: to the same target, gRPC's subchannel pool then gives them one
// connection, so the proxy holds one connection to tg-control and reconnects
// it once.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

namespace tg::proxy::subscription {

std::shared_ptr<grpc::Channel> open_control_channel(const std::string& address);

}  // namespace tg::proxy::subscription
