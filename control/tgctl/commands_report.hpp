// tgctl report event|status|heartbeat (commands_report.cpp): not an Admin
// call but HTTP to tg-control's ingest endpoints, so it has its own command
// line, tried by run() before the Admin commands.
#pragma once

#include "tgctl/cli.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tg::tgctl {

// nullopt when `args` is not a report command (its first word that is not a
// global flag or a flag's value is not "report"); else runs it and returns the
// exit code. `http` is $TG_HTTP.
std::optional<int> run_report(const std::vector<std::string>& args, const Environment& environment,
                              const std::optional<std::string>& http, std::ostream& out, std::ostream& err);

}  // namespace tg::tgctl
