#include "tgctl/cli.hpp"

#include "tgctl/command_flags.hpp"
#include "tgctl/exit_code.hpp"
#include "tgctl/flag_values.hpp"
#include "text/closest_match.hpp"

namespace tg::tgctl {

const CommandTable::Builder* CommandTable::find(const CLI::App* verb) const {
  const auto found = builders_.find(verb);
  return found == builders_.end() ? nullptr : &found->second;
}

namespace {

#ifndef TG_VERSION
#define TG_VERSION "unknown"
#endif

constexpr const char* kFooter =
    "Global flags (before or after NOUN VERB): --server ADDR:PORT, --token-file F, "
    "-o table|json|yaml, --timeout D; see tgctl --help.\n"
    "Exit codes: 0 ok, 1 the server refused the call, 2 usage error (nothing sent), "
    "3 the server could not be reached or the deadline passed.\n"
    "tgctl report event|status|heartbeat --help: report as a tenant container (HTTP to the ingest endpoints).";

// The verb chosen on the parsed tree: the deepest selected subcommand.
const CLI::App* chosen_leaf(const CLI::App& app) {
  const CLI::App* leaf = &app;
  for (;;) {
    const std::vector<const CLI::App*> selected = leaf->get_subcommands(
        [](const CLI::App* sub) { return sub->parsed(); });
    if (selected.empty()) return leaf;
    leaf = selected.front();
  }
}

// " (did you mean \"X\"?)" when a candidate is a likely typo of `word`, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::optional<std::string> guess = text::closest_match(word, candidates);
  return guess ? " (did you mean \"" + *guess + "\"?)" : std::string();
}

// The arguments no level of the parse took, from the leaf up.
std::vector<std::string> remaining_args(const CLI::App& leaf) {
  std::vector<std::string> extra;
  for (const CLI::App* level = &leaf; level != nullptr; level = level->get_parent()) {
    for (const std::string& arg : level->remaining()) extra.push_back(arg);
  }
  return extra;
}

// `unknown flag "--hots" (did you mean "--host"?)`: the candidates are the
// flags of the leaf and of every level above it (global flags work anywhere).
std::string unknown_flag(const CLI::App& leaf, const std::string& arg) {
  const std::string flag = arg.substr(0, arg.find('='));  // --hots=x
  std::vector<std::string> candidates;
  for (const CLI::App* level = &leaf; level != nullptr; level = level->get_parent()) {
    for (const CLI::Option* option : level->get_options()) {
      for (const std::string& name : option->get_lnames()) candidates.push_back("--" + name);
      for (const std::string& name : option->get_snames()) candidates.push_back("-" + name);
    }
  }
  return "unknown flag \"" + flag + "\"" + did_you_mean(flag, candidates);
}

// CLI11's message, after the command it is about. CLI11 says "A subcommand
// is required" both for a missing and for an unknown NOUN or VERB; name what
// the level accepts instead.
std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App* leaf = chosen_leaf(app);
  const std::string where = leaf == &app ? std::string() : command_label(*leaf) + ": ";
  const std::vector<const CLI::App*> choices = leaf->get_subcommands({});
  if (choices.empty()) {
    for (const std::string& arg : remaining_args(*leaf)) {
      if (arg.starts_with("-")) return where + unknown_flag(*leaf, arg);
    }
    return where + error.what();
  }
  const std::vector<std::string> extra = remaining_args(*leaf);
  std::string names;
  std::vector<std::string> candidates;
  for (const CLI::App* choice : choices) {
    if (!names.empty()) names += ", ";
    names += choice->get_name();
    candidates.push_back(choice->get_name());
  }
  if (!extra.empty()) {
    if (extra.front().starts_with("-")) return where + unknown_flag(*leaf, extra.front());
    return where + "unknown command \"" + extra.front() + "\"" + did_you_mean(extra.front(), candidates) +
           " (one of: " + names + ")";
  }
  return where + "a command is required (one of: " + names + ")";
}

}  // namespace

ParseOutcome parse_command_line(const std::vector<std::string>& args, const Environment& environment,
                                std::ostream& out, std::ostream& err) {
  CLI::App app("tgctl: the tenantgate admin CLI (Admin API of tg-control)", "tgctl");
  app.footer(kFooter);
  app.fallthrough();  // global flags are accepted after NOUN VERB too (inherited)
  app.require_subcommand(1);
  app.set_version_flag("--version", "tgctl " TG_VERSION);

  GlobalOptions global;
  if (environment.server) global.server = *environment.server;
  if (environment.token_file) global.token_file = *environment.token_file;
  std::string output = "table";
  std::string timeout = "10s";
  app.add_option("--server", global.server, "tg-control Admin address ADDR:PORT ($TG_SERVER)")
      ->capture_default_str();
  app.add_option("--token-file", global.token_file,
                 "file holding the bearer token: TOKEN or NAME TOKEN ($TG_TOKEN_FILE)");
  app.add_option("-o,--output", output, "output format")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  app.add_option("--timeout", timeout, "deadline of the call (250ms, 10s, 1m)")
      ->capture_default_str();

  CommandTable table(environment);
  add_tenant_commands(app, table);
  add_service_commands(app, table);
  add_instance_commands(app, table);
  add_route_commands(app, table);
  add_apply_command(app, table);
  add_audit_commands(app, table);
  add_event_commands(app, table);
  add_proxy_commands(app, table);
  add_metrics_commands(app, table);
  add_alerting_commands(app, table);

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants argv reversed
  try {
    app.parse(reversed);
  } catch (const CLI::Success& success) {  // --help, --version
    return {std::nullopt, app.exit(success, out, err)};
  } catch (const CLI::ParseError& error) {
    err << "tgctl: " << describe_parse_error(app, error) << "\n";
    err << "Run with --help for more information.\n";
    return {std::nullopt, static_cast<int>(ExitCode::usage)};
  }

  const CLI::App* leaf = chosen_leaf(app);
  try {
    const CommandTable::Builder* builder = table.find(leaf);
    if (builder == nullptr) throw UsageError("no command given (try --help)");
    global.output = output == "json"   ? OutputFormat::json
                    : output == "yaml" ? OutputFormat::yaml
                                       : OutputFormat::table;
    global.timeout = std::chrono::milliseconds(parse_duration_ms(timeout, "--timeout"));
    if (global.timeout.count() == 0) throw UsageError("--timeout: must be more than 0");
    if (global.server.empty()) throw UsageError("--server: must not be empty");
    Invocation invocation{global, (*builder)()};
    return {std::move(invocation), 0};
  } catch (const UsageError& error) {
    err << "tgctl: ";
    if (table.find(leaf) != nullptr) err << command_label(*leaf) << ": ";
    err << error.what() << "\n";
    return {std::nullopt, static_cast<int>(ExitCode::usage)};
  }
}

}  // namespace tg::tgctl
