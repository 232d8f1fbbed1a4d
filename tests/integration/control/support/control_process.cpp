#include "control/support/control_process.hpp"

#include "support/poll.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace tg::itest {

namespace {

std::mutex live_mutex;
std::vector<const ControlProcess*> live;

std::filesystem::path binary(const char* variable, const char* compiled_in, const char* target) {
  std::filesystem::path path;
  if (const char* env = std::getenv(variable); env != nullptr && *env != '\0') {
    path = env;
  } else if (compiled_in != nullptr) {
    path = compiled_in;
  }
  if (path.empty() || !std::filesystem::exists(path)) {
    throw std::runtime_error(std::string(target) + " binary not found (" + variable + "='" +
                             path.string() + "'): build the " + target + " target first");
  }
  return path;
}

// The port of "key=127.0.0.1:PORT\n" in the ready file; -1 while incomplete.
int port_of(const std::string& text, const std::string& key) {
  const std::size_t start = text.find(key + "=");
  if (start == std::string::npos) return -1;
  const std::size_t end = text.find('\n', start);
  if (end == std::string::npos) return -1;
  const std::string address = text.substr(start + key.size() + 1, end - start - key.size() - 1);
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  const int port = std::atoi(address.c_str() + colon + 1);
  return port > 0 && port < 65536 ? port : -1;
}

}  // namespace

std::filesystem::path control_binary() {
#ifdef TG_CONTROL_BIN
  return binary("TG_CONTROL_BIN", TG_CONTROL_BIN, "tg-control");
#else
  return binary("TG_CONTROL_BIN", nullptr, "tg-control");
#endif
}

std::filesystem::path tgctl_binary() {
#ifdef TGCTL_BIN
  return binary("TGCTL_BIN", TGCTL_BIN, "tgctl");
#else
  return binary("TGCTL_BIN", nullptr, "tgctl");
#endif
}

ControlProcess::ControlProcess(ControlOptions options, bool start_now)
    : options_(std::move(options)) {
  db_path_ = dir_.file("tenantgate.db");
  ready_path_ = dir_.file("ready");
  {
    std::lock_guard lock(live_mutex);
    live.push_back(this);
  }
  if (start_now) start();
}

ControlProcess::~ControlProcess() {
  {
    std::lock_guard lock(live_mutex);
    live.erase(std::remove(live.begin(), live.end(), this), live.end());
  }
  process_.reset();  // SIGKILL + reap, before the temp dir goes
}

std::filesystem::path ControlProcess::write(const std::string& name, const std::string& content) const {
  const std::filesystem::path path = dir_.file(name);
  write_file_atomically(path, content);
  return path;
}

std::vector<std::string> ControlProcess::arguments() const {
  const std::string grpc = "127.0.0.1:" + std::to_string(options_.keep_grpc_port ? previous_grpc_port_ : 0);
  std::vector<std::string> args{"--db",   db_path_.string(), "--grpc",       grpc,
                                "--http", "127.0.0.1:0",     "--ready-file", ready_path_.string()};
  for (const auto& config : options_.configs) args.insert(args.end(), {"--config", config.string()});
  if (options_.tokens) args.insert(args.end(), {"--token-file", token_file().string()});
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

void ControlProcess::start() {
  if (process_ && process_->running()) throw std::runtime_error("tg-control is already running");
  if (options_.tokens) write_file_atomically(token_file(), *options_.tokens);
  std::filesystem::remove(ready_path_);  // a stale file would name the old ports
  if (grpc_port_ != 0) previous_grpc_port_ = grpc_port_;
  grpc_port_ = http_port_ = 0;
  ++runs_;
  process_ = std::make_unique<ChildProcess>(
      control_binary(), arguments(), dir_.file("tg-control." + std::to_string(runs_) + ".log"));

  std::optional<ExitStatus> exited;
  const bool ready = poll_for(options_.ready_timeout, [&] {
    const std::string text = read_file(ready_path_);
    const int grpc = port_of(text, "grpc");
    const int http = port_of(text, "http");
    if (grpc > 0 && http > 0) {
      grpc_port_ = static_cast<std::uint16_t>(grpc);
      http_port_ = static_cast<std::uint16_t>(http);
      return true;
    }
    exited = process_->wait_for(std::chrono::milliseconds(0));
    return exited.has_value();
  });
  if (!ready || exited) {
    const std::string why = exited ? "exited (" + exited->describe() + ") before it was ready"
                                   : "was not ready within " +
                                         std::to_string(options_.ready_timeout.count()) + " ms";
    throw std::runtime_error("tg-control " + why + "\n" + describe());
  }
}

std::optional<ExitStatus> ControlProcess::start_expecting_exit(std::chrono::milliseconds timeout) {
  if (options_.tokens) write_file_atomically(token_file(), *options_.tokens);
  std::filesystem::remove(ready_path_);
  ++runs_;
  process_ = std::make_unique<ChildProcess>(
      control_binary(), arguments(), dir_.file("tg-control." + std::to_string(runs_) + ".log"));
  auto status = process_->wait_for(timeout);
  if (!status) process_->kill();
  return status;
}

ExitStatus ControlProcess::kill() {
  if (!process_) throw std::runtime_error("tg-control was never started");
  return process_->kill();
}

ExitStatus ControlProcess::stop(std::chrono::milliseconds timeout) {
  if (!process_) throw std::runtime_error("tg-control was never started");
  process_->send_signal(SIGTERM);
  if (auto status = process_->wait_for(timeout)) return *status;
  return process_->kill();
}

std::unique_ptr<tenantgate::v1::Admin::Stub> ControlProcess::stub() const {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  // A fresh subchannel per stub: a restarted server has a new port anyway.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return tenantgate::v1::Admin::NewStub(
      grpc::CreateCustomChannel(grpc_address(), grpc::InsecureChannelCredentials(), arguments));
}

std::string ControlProcess::log() const {
  std::string text;
  for (int run = 1; run <= runs_; ++run) {
    const auto path = dir_.file("tg-control." + std::to_string(run) + ".log");
    if (runs_ > 1) text += "---- run " + std::to_string(run) + " ----\n";
    text += read_file(path);
  }
  return text;
}

std::string ControlProcess::describe() const {
  std::string text = "tg-control (dir " + dir_.path().string() + ")";
  if (process_) text += "\ncommand: " + process_->command_line();
  text += "\nlog:\n" + log();
  if (text.size() > 20'000) text = "[... cut ...]\n" + text.substr(text.size() - 20'000);
  return text + "\n";
}

std::unique_ptr<grpc::ClientContext> admin_context(const std::string& token,
                                                   std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

std::string describe_live_controls() {
  std::lock_guard lock(live_mutex);
  std::string text;
  for (const ControlProcess* control : live) text += control->describe();
  return text;
}

}  // namespace tg::itest
