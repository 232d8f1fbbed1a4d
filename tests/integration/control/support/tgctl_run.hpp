// Runs the real tgctl binary against a tg-control under test and returns
// its exit code, stdout and stderr apart (tests parse `-o json` output).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace tg::itest {

class ControlProcess;

struct TgctlResult {
  int exit_code = -1;  // -1: killed (it did not finish within the limit)
  std::string out, err;
  std::string command_line;
  // Command, exit code and both streams, for failure messages.
  std::string describe() const;
};

struct TgctlOptions {
  std::string token_file;  // --token-file when not empty
  std::vector<std::string> env;  // extra "NAME=VALUE" environment entries
  std::chrono::milliseconds limit{20'000};  // SIGKILL after this long
};

// tgctl --server <control's address> [--token-file F] ARGS...
TgctlResult tgctl(const ControlProcess& control, const std::vector<std::string>& args,
                  const TgctlOptions& options = {});
// tgctl ARGS... exactly as given (no --server added).
TgctlResult tgctl_raw(const std::vector<std::string>& args, const TgctlOptions& options = {});

}  // namespace tg::itest
