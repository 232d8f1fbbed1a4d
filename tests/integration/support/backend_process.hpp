// tg-test-backend (support/backend_main.cpp) as a child process: a fake
// upstream that tests can SIGKILL, SIGSTOP / SIGCONT, and start again on the
// port it had, where it is registered.
#pragma once

#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace tg::itest {

// $TG_TEST_BACKEND_BIN, else the path CMake compiled in; throws when missing.
std::filesystem::path test_backend_binary();

class BackendProcess {
 public:
  // Starts `tg-test-backend --name NAME --port 0` and waits until it listens.
  explicit BackendProcess(std::string name, std::chrono::milliseconds slow_delay = std::chrono::seconds(2));
  ~BackendProcess();  // SIGKILL + reap
  BackendProcess(const BackendProcess&) = delete;
  BackendProcess& operator=(const BackendProcess&) = delete;

  const std::string& name() const { return name_; }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  // SIGKILL and reap: the listener and every connection close at once.
  void kill();
  // Starts it again on the same port (after kill()) and waits until it
  // listens; throws with the log when it does not within `timeout`.
  void restart(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGSTOP / SIGCONT: connections stay open, nothing is answered meanwhile.
  void send_signal(int signal);

  std::string describe() const;

 private:
  void start(std::chrono::milliseconds timeout);

  std::string name_;
  std::chrono::milliseconds slow_delay_;
  TempDir dir_{"tg-itest-backend"};
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
  int runs_ = 0;
};

}  // namespace tg::itest
