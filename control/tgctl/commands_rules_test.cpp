// tgctl rules test: the alert timeline of a rules file over a series file
// (docs/alerting.md, "Testing rules offline"). The rules go through the same
// reader, checks, evaluation and lifecycle as in tg-control.
#include "tgctl/commands_rules_test.hpp"

#include "tgctl/command.hpp"
#include "tgctl/exit_code.hpp"
#include "tgctl/flag_values.hpp"

#include "alerts/convert.hpp"
#include "alerts/rule_timeline.hpp"
#include "config/loader.hpp"

#include <CLI/CLI.hpp>

namespace tg::tgctl {

std::optional<int> run_rules_test(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::size_t i = 0;
  while (i < args.size() && args[i].starts_with("-")) ++i;
  if (i + 1 >= args.size() || args[i] != "rules" || args[i + 1] != "test") return std::nullopt;

  CLI::App app("tgctl rules test: evaluate alert rules over a series file, offline", "tgctl");
  app.require_subcommand(1);
  std::string rules_file, series_file, eval_interval = "5s";
  CLI::App* noun = app.add_subcommand("rules", "alert rules");
  noun->require_subcommand(1);
  CLI::App* test = noun->add_subcommand("test", "print the alert timeline of FILE's alert_rules over --series");
  test->add_option("FILE", rules_file, "a configuration file with alert_rules (and the notifiers they name)")
      ->required();
  test->add_option("--series", series_file, "the series file (docs/alerting.md)")->required();
  test->add_option("--eval-interval", eval_interval, "time between two evaluations, as tg-control's flag")
      ->capture_default_str();
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::Success& success) {
    return app.exit(success, out, err);
  } catch (const CLI::ParseError& error) {
    err << "tgctl: " << error.what() << "\nRun with --help for more information.\n";
    return static_cast<int>(ExitCode::usage);
  }
  std::uint64_t interval_ms = 0;
  try {
    interval_ms = parse_duration_ms(eval_interval, "--eval-interval");
  } catch (const UsageError& error) {
    err << "tgctl: " << error.what() << "\n";
    return static_cast<int>(ExitCode::usage);
  }
  if (interval_ms == 0) {
    err << "tgctl: --eval-interval: must be more than 0\n";
    return static_cast<int>(ExitCode::usage);
  }

  const config::LoadResult loaded = config::load_file(rules_file, config::Reader::control);
  if (!loaded.ok()) {
    err << loaded.error_text() << "\n";
    return static_cast<int>(ExitCode::usage);
  }
  std::vector<tenantgate::v1::AlertRule> rules;
  for (const config::AlertRuleConfig& rule : loaded.config->alert_rules) {
    tenantgate::v1::AlertRule proto = control::alerts::to_proto(rule, rules_file);
    if (control::Status status = control::alerts::check_rule(proto); !status.ok()) {
      err << config::ConfigError{rule.location, status.message}.to_string() << "\n";
      return static_cast<int>(ExitCode::usage);
    }
    rules.push_back(std::move(proto));
  }
  const control::alerts::SeriesLoad series = control::alerts::load_series_file(series_file);
  if (!series.file) {
    for (const config::ConfigError& error : series.errors) err << error.to_string() << "\n";
    return static_cast<int>(ExitCode::usage);
  }
  const auto timeline = control::alerts::run_timeline(rules, *series.file, static_cast<std::int64_t>(interval_ms));
  for (const auto& entry : timeline) out << control::alerts::format_entry(entry) << "\n";
  if (timeline.empty()) out << "no alert changed state\n";
  out.flush();
  return static_cast<int>(ExitCode::ok);
}

}  // namespace tg::tgctl
