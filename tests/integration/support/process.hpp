// A child process for tests: spawned with posix_spawn (never fork: the test
// process is multi-threaded), stdout and stderr both redirected to a log file,
// SIGKILLed and reaped when the handle is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tg::itest {

// How a child ended, decoded from a waitpid() status.
struct ExitStatus {
  bool exited = false;  // normal exit; `code` is valid
  int code = -1;
  int signal = 0;  // killed by this signal when !exited

  bool success() const { return exited && code == 0; }
  std::string describe() const;  // "exit 0", "signal 9 (Killed)"
};

class ChildProcess {
 public:
  // Starts `executable` (absolute path) with `args` (argv[1..]); stdin is
  // /dev/null, stdout and stderr go to `log_file` (truncated). Throws
  // std::runtime_error when the spawn fails.
  ChildProcess(const std::filesystem::path& executable, const std::vector<std::string>& args,
               const std::filesystem::path& log_file);
  ~ChildProcess();  // SIGKILL + reap when still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_file() const { return log_file_; }
  // The command line, for messages.
  const std::string& command_line() const { return command_line_; }

  // Sends `signal`; a no-op once the child has been reaped.
  void send_signal(int signal);

  // Waits up to `timeout` for the child to end; nullopt when it is still
  // running. Once reaped the status is remembered and returned again.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  bool running() { return !wait_for(std::chrono::milliseconds(0)).has_value(); }

  // SIGKILL and reap (idempotent).
  ExitStatus kill();

  // Everything the child wrote so far to stdout/stderr.
  std::string read_log() const;
  // The last `max_lines` lines of the log, for failure messages.
  std::string log_tail(std::size_t max_lines = 80) const;

 private:
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::filesystem::path log_file_;
  std::string command_line_;
};

}  // namespace tg::itest
