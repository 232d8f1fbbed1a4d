// One Admin call in flight, shared by the Admin service's source files
// (admin_service.cpp, admin_alerts.cpp): how a call starts (token and role
// checked on the gRPC thread), how its work is posted to the owner loop
// within --max-pending-calls, and how it is answered exactly once, counted
// and timed by method and code.
#pragma once

#include "server/auth.hpp"
#include "server/core.hpp"
#include "server/grpc_acceptor.hpp"

#include <boost/asio/post.hpp>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tg::control::admin_call {

using CallClock = std::chrono::steady_clock;

// One call in flight: answers exactly once, counting and timing it.
struct Call {
  Core* core;
  grpc::ServerUnaryReactor* reactor;
  const char* method;
  CallClock::time_point start;

  // Any thread. Metrics are the owner loop's, so the record hops there.
  void finish(const Status& status) const {
    const auto elapsed = CallClock::now() - start;
    boost::asio::post(core->io(), [core = core, method = std::string(method), code = status.code, elapsed] {
      core->metrics().record_call(method, code, elapsed);
    });
    if (!status.ok() && status.code != Code::not_found)
      spdlog::debug("tg-control: {} -> {}: {}", method, code_name(status.code), status.message);
    reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code), status.message));
  }
};

inline std::optional<Principal> authenticate(const TokenSet& tokens, grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  std::optional<std::string_view> header;
  if (auto it = metadata.find("authorization"); it != metadata.end())
    header = std::string_view(it->second.data(), it->second.size());
  return tokens.authenticate(header);
}

struct Started {
  Call call;
  std::optional<Principal> principal;  // nullopt: refused and already answered
};

// Starts a call: takes the context's reactor (DefaultReactor() may be called
// only once per call: a second call re-creates it), authenticates and checks
// the token's role on the gRPC thread. A refusal is answered here (and
// counted by method and code like every call).
inline Started begin(Core& core, const TokenSet& tokens, grpc::CallbackServerContext* context, const char* method,
                     Access access) {
  Started started{Call{&core, context->DefaultReactor(), method, CallClock::now()}, authenticate(tokens, context)};
  if (!started.principal) {
    started.call.finish(
        Status{Code::unauthenticated, "missing or unknown bearer token (metadata authorization: Bearer <token>)"});
    return started;
  }
  if (Status allowed = authorize(*started.principal, access, method); !allowed.ok()) {
    spdlog::info("tg-control: {} from {} refused: {}", method, grpc_peer(*context), allowed.message);
    started.principal.reset();
    started.call.finish(allowed);
  }
  return started;
}

inline Status too_many_pending(const Core& core) {
  return Status{Code::resource_exhausted, std::to_string(core.max_pending_calls()) +
                                              " calls are waiting to run (--max-pending-calls); retry later"};
}

// Posts a call's work to the owner loop, or answers RESOURCE_EXHAUSTED when
// --max-pending-calls calls are waiting already.
template <class Job>
void post(Core& core, const Call& call, Job job) {
  if (!core.post_call(std::move(job))) call.finish(too_many_pending(core));
}

}  // namespace tg::control::admin_call
