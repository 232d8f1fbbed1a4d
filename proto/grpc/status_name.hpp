// Names of gRPC status codes, as the gRPC documentation writes them, for
// messages and logs of every gRPC client here (tgctl, tg-proxy --control).
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

namespace tg {

// "NOT_FOUND", "DEADLINE_EXCEEDED", ...; "UNKNOWN" for a value gRPC does not define.
std::string_view grpc_status_name(grpc::StatusCode code);

}  // namespace tg
