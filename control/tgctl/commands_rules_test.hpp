// tgctl rules test FILE --series SERIES.yaml (commands_rules_test.cpp): the
// rules of a configuration file evaluated offline over a series file, no
// server. Its own command line, tried by run() before the Admin commands.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tg::tgctl {

// nullopt when `args` is not `rules test ...`; else runs it and returns the
// exit code: 0 with the timeline printed, 2 for a bad command line or file
// (FILE:LINE:COLUMN errors on `err`).
std::optional<int> run_rules_test(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tg::tgctl
