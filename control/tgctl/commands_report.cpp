// tgctl report event|status|heartbeat: what a tenant container reports, sent
// over HTTP to tg-control's ingest endpoints (POST /v1/ingest/...) with the
// secret of an ingest credential (--token-file), not over the Admin API.
// The flags mirror the JSON fields; --http ADDR (or $TG_HTTP) names the port.
#include "tgctl/commands_report.hpp"

#include "tgctl/command_flags.hpp"
#include "tgctl/exit_code.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/token.hpp"

#include "tg_client.hpp"

#include <charconv>
#include <functional>

namespace tg::tgctl {

namespace {

struct ReportFlags {
  std::string http = "127.0.0.1:7001";
  std::string token_file, timeout = "10s", output = "table", server;
  std::string service, instance, kind, level = "error", message, detail, fingerprint;
  TextFlag time, cpu, memory_bytes, restarts, load;
};

double parse_number(const std::string& text, std::string_view flag) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0)
    throw UsageError(std::string(flag) + ": expected a number >= 0, got \"" + text + "\"");
  return value;
}

// A JSON object as given on the command line, checked only for its braces
// (tg-control validates it and names the field).
void check_detail(const std::string& detail) {
  if (detail.empty()) return;
  const auto first = detail.find_first_not_of(" \t\n");
  const auto last = detail.find_last_not_of(" \t\n");
  if (first == std::string::npos || detail[first] != '{' || detail[last] != '}')
    throw UsageError("--detail: expected a JSON object, {\"key\": \"value\"}");
}

// Global flags that take a value (skipped when looking for the noun).
bool takes_value(const std::string& flag) {
  return flag == "--server" || flag == "--token-file" || flag == "-o" || flag == "--output" || flag == "--timeout";
}

}  // namespace

std::optional<int> run_report(const std::vector<std::string>& args, const Environment& environment,
                              const std::optional<std::string>& http, std::ostream& out, std::ostream& err) {
  std::size_t i = 0;
  while (i < args.size() && args[i].starts_with("-")) i += takes_value(args[i]) && args[i].find('=') == std::string::npos ? 2 : 1;
  if (i >= args.size() || args[i] != "report") return std::nullopt;

  CLI::App app("tgctl report: report as a tenant container (HTTP to tg-control's ingest endpoints)", "tgctl");
  app.require_subcommand(1);
  app.fallthrough();
  ReportFlags flags;
  if (environment.token_file) flags.token_file = *environment.token_file;
  if (http) flags.http = *http;
  app.add_option("--token-file", flags.token_file, "file holding the secret of an ingest credential ($TG_TOKEN_FILE)");
  app.add_option("--timeout", flags.timeout, "deadline of the request (250ms, 10s)")->capture_default_str();
  app.add_option("--server", flags.server, "ignored: report speaks to --http");
  app.add_option("-o,--output", flags.output, "ignored: the answer's JSON is printed");
  app.add_option("--http", flags.http, "tg-control's HTTP port ADDR:PORT ($TG_HTTP)")->capture_default_str();
  CLI::App* noun = app.add_subcommand("report", "report events, status, heartbeats");
  noun->require_subcommand(1);

  CLI::App* event = noun->add_subcommand("event", "report one event (POST /v1/ingest/events)");
  event->add_option("--service", flags.service, "the service (of the credential's tenant)")->required();
  event->add_option("--instance", flags.instance, "the instance");
  event->add_option("--kind", flags.kind, "what happened: OrderFailed, TimeoutError, ...")->required();
  event->add_option("--level", flags.level, "debug, info, warning, error or critical")
      ->check(CLI::IsMember({"debug", "info", "warning", "error", "critical"}))
      ->capture_default_str();
  event->add_option("--message", flags.message, "the message")->required();
  event->add_option("--detail", flags.detail, "a JSON object with more");
  event->add_option("--fingerprint", flags.fingerprint, "the group key (default: the message with ids masked)");
  add_text_flag(*event, flags.time, "--time", "when: Unix ms (default: when received)");

  CLI::App* status = noun->add_subcommand("status", "report an instance's status (POST /v1/ingest/status)");
  status->add_option("--instance", flags.instance, "the instance id")->required();
  add_text_flag(*status, flags.cpu, "--cpu", "cores in use (0.5)");
  add_text_flag(*status, flags.memory_bytes, "--memory-bytes", "memory in use, bytes");
  add_text_flag(*status, flags.restarts, "--restarts", "restarts so far");
  add_text_flag(*status, flags.load, "--load", "the instance's load figure");
  status->add_option("--detail", flags.detail, "a JSON object with more");

  CLI::App* heartbeat = noun->add_subcommand("heartbeat", "heartbeat a registered instance (POST /v1/ingest/heartbeat)");
  heartbeat->add_option("--instance", flags.instance, "the instance id")->required();

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::Success& success) {
    return app.exit(success, out, err);
  } catch (const CLI::ParseError& error) {
    err << "tgctl: " << error.what() << "\nRun with --help for more information.\n";
    return static_cast<int>(ExitCode::usage);
  }

  std::string label, path, body;
  std::chrono::milliseconds timeout{10'000};
  std::string token;
  try {
    timeout = std::chrono::milliseconds(parse_duration_ms(flags.timeout, "--timeout"));
    if (timeout.count() == 0) throw UsageError("--timeout: must be more than 0");
    check_detail(flags.detail);
    if (event->parsed()) {
      label = "report event";
      client::Event e;
      e.service = flags.service;
      e.instance = flags.instance;
      e.kind = flags.kind;
      e.level = flags.level;
      e.message = flags.message;
      e.detail_json = flags.detail;
      e.fingerprint = flags.fingerprint;
      if (flags.time.given()) e.time_unix_ms = static_cast<std::int64_t>(parse_uint64(flags.time.value, "--time"));
      path = "/v1/ingest/events";
      body = client::event_json(e);
    } else if (status->parsed()) {
      label = "report status";
      for (const auto& [flag, name] : {std::pair{&flags.cpu, "--cpu"}, std::pair{&flags.memory_bytes, "--memory-bytes"},
                                       std::pair{&flags.restarts, "--restarts"}, std::pair{&flags.load, "--load"}})
        if (!flag->given()) throw UsageError(std::string(name) + " is required");
      client::Status s;
      s.instance = flags.instance;
      s.cpu = parse_number(flags.cpu.value, "--cpu");
      s.memory_bytes = static_cast<std::int64_t>(parse_uint64(flags.memory_bytes.value, "--memory-bytes"));
      s.restarts = static_cast<std::int64_t>(parse_uint64(flags.restarts.value, "--restarts"));
      s.load = parse_number(flags.load.value, "--load");
      s.detail_json = flags.detail;
      path = "/v1/ingest/status";
      body = client::status_json(s);
    } else {
      label = "report heartbeat";
      path = "/v1/ingest/heartbeat";
      body = "{\"instance\":" + client::json_string(flags.instance) + "}";
    }
    if (flags.token_file.empty())
      throw UsageError("needs the secret of an ingest credential (--token-file or $TG_TOKEN_FILE)");
    token = read_token_file(flags.token_file);
  } catch (const UsageError& error) {
    err << "tgctl: " << (label.empty() ? std::string("report") : label) << ": " << error.what() << "\n";
    return static_cast<int>(ExitCode::usage);
  }

  const client::PostResult result = client::post_json(flags.http, path, token, body, timeout);
  if (result.status == 0) {
    err << "tgctl: " << label << ": tg-control at " << flags.http << " did not answer: " << result.error << "\n";
    return static_cast<int>(ExitCode::unreachable);
  }
  if (!result.ok()) {
    err << "tgctl: " << label << ": HTTP " << result.status << ": " << result.body;
    if (result.body.empty() || result.body.back() != '\n') err << "\n";
    return static_cast<int>(result.status == 429 || result.status == 503 ? ExitCode::unreachable : ExitCode::refused);
  }
  out << result.body;
  if (result.body.empty() || result.body.back() != '\n') out << "\n";
  return static_cast<int>(ExitCode::ok);
}

}  // namespace tg::tgctl
