// The real tg-proxy binary under test, on loopback with ports it picks itself.
//
// Writes the YAML config into a private temp dir, starts
//   tg-proxy --listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file F
//            --workers N --config FILE --lock-dir DIR/locks [extra flags]
// (no --lock-dir of its own when the extra flags hold one)
// and polls the ready file (no fixed sleep) until both ports are known.
// Failures throw std::runtime_error carrying the command line and the
// proxy's log; the log of every live proxy is also printed when a Catch2
// assertion fails (see failure_log_listener.cpp).
#pragma once

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tg::itest {

// The tg-proxy executable: $TG_PROXY_BIN if set, else the path CMake compiled
// in. Throws when neither names a file.
std::filesystem::path proxy_binary();

struct ProxyOptions {
  int workers = 1;
  std::vector<std::string> extra_args;  // e.g. {"--header-timeout", "300ms"}
  bool access_log = false;              // --access-log <dir>/access.log
  std::string log_level = "info";
  std::chrono::milliseconds ready_timeout{10'000};
  bool use_config = true;  // false: no --config (a proxy fed only by --control)
};

class ProxyProcess {
 public:
  explicit ProxyProcess(const std::string& config_yaml, ProxyOptions options = {});
  ~ProxyProcess();
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  std::uint16_t port() const { return port_; }  // the --listen port
  std::uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return process_->pid(); }
  ChildProcess& process() { return *process_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  const std::filesystem::path& access_log_path() const { return access_log_path_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // Replaces the config file atomically (no reload yet).
  void write_config(const std::string& yaml);
  void send_signal(int signal) { process_->send_signal(signal); }
  // SIGHUP, then waits until tg_config_reloads_total{result=ok|error} moves:
  // true when the reload succeeded. Throws when neither moves in `timeout`.
  // After a good reload it also waits for every tg_worker_config_version
  // (when exported) to reach tg_config_version.
  bool reload(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  HttpResponse admin_get(const std::string& target) const;
  PrometheusText metrics() const;  // GET /metrics, parsed; throws unless 200

  // Kernel memory figures of the proxy from /proc/PID/status, in KiB.
  std::uint64_t rss_kib() const;       // VmRSS
  std::uint64_t peak_rss_kib() const;  // VmHWM

  // Command line and the tail of the log, for failure messages.
  std::string describe() const;

 private:
  TempDir dir_{"tg-itest-proxy"};
  std::filesystem::path config_path_;
  std::filesystem::path ready_path_;
  std::filesystem::path access_log_path_;
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
};

// Reads a "VmRSS"-style field of /proc/PID/status, in KiB (0 when absent).
std::uint64_t proc_status_kib(pid_t pid, const std::string& field);

// describe() of every ProxyProcess alive in this test process.
std::string describe_live_proxies();

}  // namespace tg::itest
