#include "tgctl/run.hpp"

#include "grpc/status_name.hpp"
#include "tgctl/commands_report.hpp"
#include "tgctl/commands_rules_test.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/render.hpp"
#include "tgctl/token.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <cstdlib>

namespace tg::tgctl {

std::shared_ptr<grpc::Channel> open_channel(const std::string& server) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 * 1024 * 1024);  // 50,000 instances fit
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), arguments);
}

CallResult call(AdminStub& stub, const Invocation& invocation, const std::string& token) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + invocation.global.timeout);
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  CallResult result;
  result.response = invocation.command.rpc->new_response();
  result.status = invocation.command.rpc->invoke(stub, &context, *invocation.command.request,
                                                 result.response.get());
  if (!result.status.ok()) result.response.reset();
  return result;
}

namespace {

// The server names API fields; the operator wrote flags. "take_ownership"
// (a refused edit of a file-owned object) becomes "--take-ownership".
std::string in_cli_words(std::string message) {
  static constexpr std::string_view field = "take_ownership";
  for (std::size_t at = message.find(field); at != std::string::npos; at = message.find(field, at)) {
    message.replace(at, field.size(), "--take-ownership");
    at += field.size() + 2;
  }
  return message;
}

}  // namespace

std::string failure_message(const Invocation& invocation, const grpc::Status& status) {
  std::string message = invocation.command.label + ": " +
                        std::string(grpc_status_name(status.error_code())) + ": ";
  const std::string& server = invocation.global.server;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      // tg-control's read-only mode answers UNAVAILABLE too (a retry later is
      // safe); its message starts so. Anything else is the transport.
      if (status.error_message().rfind("the database is full", 0) == 0) {
        message += "tg-control at " + server + " is read-only: " + status.error_message();
        break;
      }
      message += "cannot reach tg-control at " + server;
      if (!status.error_message().empty()) message += " (" + status.error_message() + ")";
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message += "no answer from " + server + " within " +
                 format_duration_ms(static_cast<std::uint64_t>(invocation.global.timeout.count())) +
                 " (--timeout); a change may or may not have been made";
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      message += status.error_message().empty() ? "(no message)" : status.error_message();
      if (invocation.global.token_file.empty()) {
        message += "; pass --token-file FILE or set TG_TOKEN_FILE (a file holding the admin token)";
      } else {
        message += "; the token in " + invocation.global.token_file +
                   " (--token-file or TG_TOKEN_FILE) was not accepted";
      }
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      // tg-control names the token, its role and the role the call needs.
      message += status.error_message().empty() ? "(no message)" : status.error_message();
      message += "; use a token of that role (the token in " +
                 (invocation.global.token_file.empty() ? std::string("--token-file or TG_TOKEN_FILE")
                                                       : invocation.global.token_file) +
                 " lacks it)";
      break;
    default:
      message += status.error_message().empty() ? "(no message)" : in_cli_words(status.error_message());
      break;
  }
  return message;
}

int run(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
        std::ostream& err) {
  // tgctl report ...: HTTP to the ingest endpoints, its own command line.
  const char* http = std::getenv("TG_HTTP");
  if (auto code = run_report(args, environment, http && *http ? std::optional<std::string>(http) : std::nullopt, out,
                             err))
    return *code;
  // tgctl rules test ...: offline, no server.
  if (auto code = run_rules_test(args, out, err)) return *code;
  ParseOutcome parsed = parse_command_line(args, environment, out, err);
  if (!parsed.invocation) return parsed.exit_code;
  const Invocation& invocation = *parsed.invocation;

  std::string token;
  if (!invocation.global.token_file.empty()) {
    try {
      token = read_token_file(invocation.global.token_file);
    } catch (const UsageError& error) {
      err << "tgctl: " << error.what() << "\n";
      return static_cast<int>(ExitCode::usage);
    }
  }

  const auto stub = tenantgate::v1::Admin::NewStub(open_channel(invocation.global.server));
  const CallResult result = call(*stub, invocation, token);
  if (!result.status.ok()) {
    err << "tgctl: " << failure_message(invocation, result.status) << "\n";
    return static_cast<int>(exit_code_for(result.status.error_code()));
  }
  render(invocation.command, *result.response, invocation.global.output, out);
  out.flush();
  return static_cast<int>(ExitCode::ok);
}

}  // namespace tg::tgctl
