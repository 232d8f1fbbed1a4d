// The command line: global flags, NOUN VERB subcommands (CLI11), and the
// table that maps the chosen verb to the Command it builds.
#pragma once

#include "tgctl/command.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tg::tgctl {

// What the environment contributes (main reads getenv; tests pass values).
struct Environment {
  std::optional<std::string> server;      // $TG_SERVER
  std::optional<std::string> token_file;  // $TG_TOKEN_FILE
  std::int64_t now_unix_ms = 0;           // for relative times (audit --since 15m)
};

// Verbs register here how they turn their parsed flags into a Command. A
// builder runs once, after a successful parse, and may throw UsageError.
class CommandTable {
 public:
  using Builder = std::function<Command()>;

  explicit CommandTable(const Environment& environment) : environment_(environment) {}

  void add(const CLI::App* verb, Builder builder) { builders_[verb] = std::move(builder); }
  // The builder of `verb`, or nullptr when it is not a verb.
  const Builder* find(const CLI::App* verb) const;
  const Environment& environment() const { return environment_; }

 private:
  const Environment& environment_;
  std::map<const CLI::App*, Builder> builders_;
};

// The nouns; each adds its subcommand and verbs to `app`.
void add_tenant_commands(CLI::App& app, CommandTable& table);
// `tenants credentials ...`, under the tenants noun.
void add_credential_commands(CLI::App& tenants, CommandTable& table);
void add_service_commands(CLI::App& app, CommandTable& table);
void add_instance_commands(CLI::App& app, CommandTable& table);
void add_route_commands(CLI::App& app, CommandTable& table);
void add_apply_command(CLI::App& app, CommandTable& table);
void add_audit_commands(CLI::App& app, CommandTable& table);
void add_event_commands(CLI::App& app, CommandTable& table);
void add_proxy_commands(CLI::App& app, CommandTable& table);
// tgctl top, tgctl metrics series (commands_metrics.cpp).
void add_metrics_commands(CLI::App& app, CommandTable& table);
// rules, notifiers, alerts, silences (commands_alerts.cpp).
void add_alerting_commands(CLI::App& app, CommandTable& table);

struct Invocation {
  GlobalOptions global;
  Command command;
};

// Either an Invocation to run, or the exit code of a command line that ended
// here: 0 after --help (printed to `out`), 2 after a usage error (printed to
// `err` as "tgctl: ...").
struct ParseOutcome {
  std::optional<Invocation> invocation;
  int exit_code = 0;
};

// `args` excludes the program name.
ParseOutcome parse_command_line(const std::vector<std::string>& args, const Environment& environment,
                                std::ostream& out, std::ostream& err);

}  // namespace tg::tgctl
