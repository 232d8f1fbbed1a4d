#include "support/backend_process.hpp"

#include "support/poll.hpp"

#include <cstdlib>
#include <stdexcept>

namespace tg::itest {

std::filesystem::path test_backend_binary() {
  std::filesystem::path path;
  if (const char* env = std::getenv("TG_TEST_BACKEND_BIN"); env != nullptr && *env != '\0') {
    path = env;
  } else {
#ifdef TG_TEST_BACKEND_BIN
    path = TG_TEST_BACKEND_BIN;
#endif
  }
  if (path.empty() || !std::filesystem::exists(path))
    throw std::runtime_error("tg-test-backend binary not found (TG_TEST_BACKEND_BIN='" + path.string() +
                             "'): build the tg-test-backend target first");
  return path;
}

BackendProcess::BackendProcess(std::string name, std::chrono::milliseconds slow_delay)
    : name_(std::move(name)), slow_delay_(slow_delay) {
  start(std::chrono::seconds(10));
}

BackendProcess::~BackendProcess() { process_.reset(); }

void BackendProcess::kill() {
  if (process_) process_->kill();
}

void BackendProcess::restart(std::chrono::milliseconds timeout) {
  kill();
  start(timeout);
}

void BackendProcess::send_signal(int signal) {
  if (process_) process_->send_signal(signal);
}

void BackendProcess::start(std::chrono::milliseconds timeout) {
  const auto ready_path = dir_.file("ready");
  const auto deadline = Clock::now() + timeout;
  // A restart binds the port it had; the bind may fail while the kernel
  // still holds it, so the start is tried again until the deadline.
  for (;;) {
    std::filesystem::remove(ready_path);
    ++runs_;
    process_ = std::make_unique<ChildProcess>(
        test_backend_binary(),
        std::vector<std::string>{"--name", name_, "--port", std::to_string(port_), "--ready-file", ready_path.string(),
                                 "--slow-delay-ms", std::to_string(slow_delay_.count())},
        dir_.file("backend-" + std::to_string(runs_) + ".log"));
    std::optional<ExitStatus> exited;
    std::string ready;
    poll_until(deadline, [&] {
      ready = read_file(ready_path);
      if (ready.rfind("port=", 0) == 0 && ready.back() == '\n') return true;
      exited = process_->wait_for(std::chrono::milliseconds(0));
      return exited.has_value();
    });
    if (!exited && ready.rfind("port=", 0) == 0) {
      port_ = static_cast<std::uint16_t>(std::stoi(ready.substr(5)));
      return;
    }
    if (!exited || Clock::now() >= deadline)
      throw std::runtime_error("tg-test-backend " + name_ + " did not start\n" + describe());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string BackendProcess::describe() const {
  if (!process_) return "tg-test-backend " + name_ + ": not running\n";
  return process_->command_line() + "\n" + process_->log_tail(20);
}

}  // namespace tg::itest
