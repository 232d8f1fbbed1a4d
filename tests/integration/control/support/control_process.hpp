// The real tg-control binary under test, on loopback with ports it picks.
//
// Starts
//   tg-control --db DIR/tenantgate.db --grpc 127.0.0.1:0 --http 127.0.0.1:0
//              --ready-file DIR/ready [--config F]... [--token-file DIR/tokens] [extra]
// and polls the ready file ("grpc=127.0.0.1:P\nhttp=127.0.0.1:P\n", written
// once both ports are bound) with a deadline, never a fixed sleep. The same
// object can be killed (SIGKILL) or stopped and started again on the same
// database, which is how restarts are tested. Failures throw
// std::runtime_error with the command line and the log.
#pragma once

#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include "tenantgate/v1/admin.grpc.pb.h"

#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tg::itest {

// $TG_CONTROL_BIN, else the path CMake compiled in; throws when missing.
std::filesystem::path control_binary();
// $TGCTL_BIN, else the path CMake compiled in; throws when missing.
std::filesystem::path tgctl_binary();

struct ControlOptions {
  std::vector<std::filesystem::path> configs;  // --config, in order
  // When set: written to DIR/tokens and passed as --token-file.
  std::optional<std::string> tokens;
  std::vector<std::string> extra_args;
  std::chrono::milliseconds ready_timeout{15'000};
  // A restart binds the gRPC port of the previous run again (proxies
  // subscribed to it reconnect there) instead of picking a new one.
  bool keep_grpc_port = false;
};

class ControlProcess {
 public:
  // Starts at once unless `start_now` is false.
  explicit ControlProcess(ControlOptions options = {}, bool start_now = true);
  ~ControlProcess();
  ControlProcess(const ControlProcess&) = delete;
  ControlProcess& operator=(const ControlProcess&) = delete;

  // Starts tg-control on the same database (the previous one must be gone)
  // and waits for its ready file.
  void start();
  // Starts and waits for the process to exit instead (a startup that must
  // fail): its exit status, or nullopt when it is still running (it is then
  // killed) after `timeout`.
  std::optional<ExitStatus> start_expecting_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ExitStatus kill();  // SIGKILL + reap
  // SIGTERM, then up to `timeout` for a clean exit (SIGKILL after that).
  ExitStatus stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running() const { return process_ && process_->running(); }
  // SIGSTOP / SIGCONT and the like, to the running process.
  void send_signal(int signal) {
    if (process_) process_->send_signal(signal);
  }

  ControlOptions& options() { return options_; }
  std::uint16_t grpc_port() const { return grpc_port_; }
  std::uint16_t http_port() const { return http_port_; }
  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  const std::filesystem::path& db_path() const { return db_path_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path token_file() const { return dir_.file("tokens"); }
  // Writes a file into the private dir and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  // A fresh Admin stub on a fresh channel to the current port.
  std::unique_ptr<tenantgate::v1::Admin::Stub> stub() const;

  // The log of every run so far (earlier runs first), for failure messages.
  std::string log() const;
  std::string describe() const;

 private:
  std::vector<std::string> arguments() const;

  TempDir dir_{"tg-itest-control"};
  ControlOptions options_;
  std::filesystem::path db_path_;
  std::filesystem::path ready_path_;
  std::unique_ptr<ChildProcess> process_;
  int runs_ = 0;
  std::uint16_t grpc_port_ = 0;
  std::uint16_t http_port_ = 0;
  std::uint16_t previous_grpc_port_ = 0;
};

// A client context with a deadline and, when `token` is not empty,
// `authorization: Bearer <token>`.
std::unique_ptr<grpc::ClientContext> admin_context(
    const std::string& token = {}, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// describe() of every ControlProcess alive in this test process.
std::string describe_live_controls();

}  // namespace tg::itest
