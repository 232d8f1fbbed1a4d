#include "tgctl/exit_code.hpp"

namespace tg::tgctl {

ExitCode exit_code_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return ExitCode::ok;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ExitCode::unreachable;
    default:
      return ExitCode::refused;
  }
}

}  // namespace tg::tgctl
