#include "control/support/tgctl_run.hpp"

#include "control/support/control_process.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tg::itest {

std::string TgctlResult::describe() const {
  return "$ " + command_line + "\nexit " + std::to_string(exit_code) + "\n--- stdout ---\n" + out +
         "--- stderr ---\n" + err;
}

TgctlResult tgctl_raw(const std::vector<std::string>& args, const TgctlOptions& options) {
  TempDir dir("tg-itest-tgctl");
  const auto out_path = dir.file("stdout");
  const auto err_path = dir.file("stderr");

  std::vector<std::string> storage{tgctl_binary().string()};
  if (!options.token_file.empty()) storage.insert(storage.end(), {"--token-file", options.token_file});
  storage.insert(storage.end(), args.begin(), args.end());
  TgctlResult result;
  std::vector<char*> argv;
  for (std::string& arg : storage) {
    argv.push_back(arg.data());
    if (!result.command_line.empty()) result.command_line += ' ';
    result.command_line += arg.empty() ? "''" : arg;
  }
  argv.push_back(nullptr);

  // The environment without TG_SERVER / TG_TOKEN_FILE (the test decides), plus options.env.
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.starts_with("TG_SERVER=") || text.starts_with("TG_TOKEN_FILE=")) continue;
    env_storage.emplace_back(text);
  }
  env_storage.insert(env_storage.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (std::string& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::runtime_error("posix_spawn tgctl: " + std::string(std::strerror(error)));

  const auto deadline = std::chrono::steady_clock::now() + options.limit;
  int raw = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &raw, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid tgctl failed");
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  result.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

TgctlResult tgctl(const ControlProcess& control, const std::vector<std::string>& args,
                  const TgctlOptions& options) {
  std::vector<std::string> full{"--server", control.grpc_address()};
  full.insert(full.end(), args.begin(), args.end());
  return tgctl_raw(full, options);
}

}  // namespace tg::itest
