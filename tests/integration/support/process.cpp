#include "support/process.hpp"

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

std::string ExitStatus::describe() const {
  if (exited) return "exit " + std::to_string(code);
  return "signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
}

namespace {

ExitStatus decode(int raw) {
  ExitStatus status;
  if (WIFEXITED(raw)) {
    status.exited = true;
    status.code = WEXITSTATUS(raw);
  } else if (WIFSIGNALED(raw)) {
    status.signal = WTERMSIG(raw);
  }
  return status;
}

// Owns posix_spawn's attribute objects for the duration of one spawn.
struct SpawnActions {
  posix_spawn_file_actions_t actions{};
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

}  // namespace

ChildProcess::ChildProcess(const std::filesystem::path& executable,
                           const std::vector<std::string>& args,
                           const std::filesystem::path& log_file)
    : log_file_(log_file) {
  std::vector<std::string> argv_storage;
  argv_storage.push_back(executable.string());
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) {
    argv.push_back(arg.data());
    if (!command_line_.empty()) command_line_ += ' ';
    command_line_ += arg;
  }
  argv.push_back(nullptr);

  SpawnActions spawn;
  posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&spawn.actions, 1, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&spawn.actions, 1, 2);

  const int error = ::posix_spawn(&pid_, argv[0], &spawn.actions, nullptr, argv.data(), environ);
  if (error != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + command_line_ + ": " + std::strerror(error));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) kill();
}

void ChildProcess::send_signal(int signal) {
  if (pid_ > 0 && !status_) ::kill(pid_, signal);
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (status_ || pid_ <= 0) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int raw = 0;
    const pid_t result = ::waitpid(pid_, &raw, WNOHANG);
    if (result == pid_) {
      status_ = decode(raw);
      return status_;
    }
    if (result < 0 && errno != EINTR) {
      throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

ExitStatus ChildProcess::kill() {
  if (status_) return *status_;
  ::kill(pid_, SIGKILL);
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  status_ = decode(raw);
  return *status_;
}

std::string ChildProcess::read_log() const { return read_file(log_file_); }

std::string ChildProcess::log_tail(std::size_t max_lines) const {
  const std::string log = read_log();
  // Walk back over `max_lines` line breaks, ignoring a final one.
  std::size_t start = log.size();
  if (start > 0 && log[start - 1] == '\n') --start;
  for (std::size_t lines = 0; start > 0 && lines < max_lines; ++lines) {
    const std::size_t newline = log.rfind('\n', start - 1);
    start = newline == std::string::npos ? 0 : newline;
  }
  if (start > 0) ++start;  // skip the break itself
  std::string tail = log.substr(start);
  if (start > 0) tail.insert(0, "[... earlier lines cut ...]\n");
  return tail;
}

}  // namespace tg::itest
