// tgctl from command line to exit code: parse, call tg-control, print.
#pragma once

#include "tgctl/cli.hpp"
#include "tgctl/exit_code.hpp"

#include <grpcpp/channel.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace tg::tgctl {

// The whole program: `args` without the program name. Results go to `out`,
// messages ("tgctl: routes create: NOT_FOUND: ...") to `err`. Returns the
// exit code (exit_code.hpp).
int run(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
        std::ostream& err);

// A channel to `server` as tgctl opens it (insecure; receive limit raised for
// large lists).
std::shared_ptr<grpc::Channel> open_channel(const std::string& server);

struct CallResult {
  grpc::Status status;
  std::unique_ptr<google::protobuf::Message> response;  // set when status is OK
};

// One Admin call with the invocation's deadline and, when `token` is not
// empty, `authorization: Bearer <token>`.
CallResult call(AdminStub& stub, const Invocation& invocation, const std::string& token);

// The message for a call that failed, without the "tgctl: " lead-in:
// "routes create: NOT_FOUND: service \"x\" does not exist".
std::string failure_message(const Invocation& invocation, const grpc::Status& status);

}  // namespace tg::tgctl
