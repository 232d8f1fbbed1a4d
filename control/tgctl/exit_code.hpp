// tgctl's exit codes (docs/tgctl.md). Scripts rely on them; never renumber.
//
//   0  the call succeeded
//   1  the server answered and refused (any gRPC status but OK, UNAVAILABLE and
//      DEADLINE_EXCEEDED): bad argument, not found, exists, precondition,
//      unauthenticated, internal error
//   2  usage error: tgctl itself rejected the command line, a flag value, a
//      --json document or a file it had to read; nothing was sent
//   3  the server could not be reached or did not answer in time
//      (UNAVAILABLE, DEADLINE_EXCEEDED): the change may or may not have been
//      made when the deadline passed
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

namespace tg::tgctl {

enum class ExitCode : int {
  ok = 0,
  refused = 1,
  usage = 2,
  unreachable = 3,
};

ExitCode exit_code_for(grpc::StatusCode code);

}  // namespace tg::tgctl
