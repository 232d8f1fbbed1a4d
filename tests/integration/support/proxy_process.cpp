#include "support/proxy_process.hpp"

#include "support/poll.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace tg::itest {

namespace {

std::mutex live_mutex;
std::vector<const ProxyProcess*> live;

// "listen=127.0.0.1:40123\nadmin=127.0.0.1:40124\n" → the two ports, once
// both lines are complete.
bool parse_ready_file(const std::string& text, std::uint16_t& listen, std::uint16_t& admin) {
  const auto port_of = [&](const std::string& key) -> int {
    const std::size_t start = text.find(key + "=");
    if (start == std::string::npos) return -1;
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) return -1;
    const std::string address = text.substr(start + key.size() + 1, end - start - key.size() - 1);
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos) return -1;
    const int port = std::atoi(address.c_str() + colon + 1);
    return port > 0 && port < 65536 ? port : -1;
  };
  const int listen_port = port_of("listen");
  const int admin_port = port_of("admin");
  if (listen_port < 0 || admin_port < 0) return false;
  listen = static_cast<std::uint16_t>(listen_port);
  admin = static_cast<std::uint16_t>(admin_port);
  return true;
}

}  // namespace

std::filesystem::path proxy_binary() {
  std::filesystem::path path;
  if (const char* env = std::getenv("TG_PROXY_BIN"); env != nullptr && *env != '\0') {
    path = env;
  } else {
#ifdef TG_PROXY_BIN
    path = TG_PROXY_BIN;
#endif
  }
  if (path.empty() || !std::filesystem::exists(path)) {
    throw std::runtime_error("tg-proxy binary not found (TG_PROXY_BIN='" + path.string() +
                             "'): build the tg-proxy target first");
  }
  return path;
}

ProxyProcess::ProxyProcess(const std::string& config_yaml, ProxyOptions options) {
  config_path_ = dir_.file("tg-proxy.yaml");
  ready_path_ = dir_.file("ready");
  write_file(config_path_, config_yaml);

  std::vector<std::string> args{"--listen",    "127.0.0.1:0", "--admin",     "127.0.0.1:0",
                                "--ready-file", ready_path_.string(), "--workers", std::to_string(options.workers),
                                "--log-level",  options.log_level};
  if (options.use_config) args.insert(args.end(), {"--config", config_path_.string()});
  if (options.access_log) {
    access_log_path_ = dir_.file("access.log");
    args.insert(args.end(), {"--access-log", access_log_path_.string()});
  }
  // The listen lock file goes into the private dir, so tests leave nothing in
  // the user's default --lock-dir; a test that needs two proxies to see each
  // other's locks passes its own --lock-dir to both.
  if (std::find(options.extra_args.begin(), options.extra_args.end(), "--lock-dir") == options.extra_args.end())
    args.insert(args.end(), {"--lock-dir", dir_.file("locks").string()});
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  process_ = std::make_unique<ChildProcess>(proxy_binary(), args, dir_.file("tg-proxy.log"));

  std::optional<ExitStatus> exited;
  const bool ready = poll_for(options.ready_timeout, [&] {
    if (parse_ready_file(read_file(ready_path_), port_, admin_port_)) return true;
    exited = process_->wait_for(std::chrono::milliseconds(0));
    return exited.has_value();
  });
  if (!ready || exited) {
    const std::string why = exited ? "exited (" + exited->describe() + ") before it was ready"
                                   : "was not ready within " + std::to_string(options.ready_timeout.count()) + " ms";
    const std::string message = "tg-proxy " + why + "\n" + describe() + "config:\n" + config_yaml;
    throw std::runtime_error(message);
  }
  std::lock_guard lock(live_mutex);
  live.push_back(this);
}

ProxyProcess::~ProxyProcess() {
  {
    std::lock_guard lock(live_mutex);
    live.erase(std::remove(live.begin(), live.end(), this), live.end());
  }
  process_.reset();  // SIGKILL + reap, before the temp dir goes
}

void ProxyProcess::write_config(const std::string& yaml) { write_file_atomically(config_path_, yaml); }

HttpResponse ProxyProcess::admin_get(const std::string& target) const {
  HeaderList headers{{"Connection", "close"}};
  return http_get(admin_port_, target, headers);
}

PrometheusText ProxyProcess::metrics() const {
  const HttpResponse response = admin_get("/metrics");
  if (response.status != 200) {
    throw std::runtime_error("GET /metrics answered " + std::to_string(response.status) + "\n" +
                             response.describe());
  }
  return PrometheusText::parse(response.body);
}

bool ProxyProcess::reload(std::chrono::milliseconds timeout) {
  const auto reloads = [&](const char* result) {
    return metrics().sum("tg_config_reloads_total", {{"result", result}});
  };
  const double ok_before = reloads("ok");
  const double error_before = reloads("error");
  send_signal(SIGHUP);
  double ok_after = ok_before;
  double error_after = error_before;
  const bool moved = poll_for(timeout, [&] {
    const PrometheusText now = metrics();
    ok_after = now.sum("tg_config_reloads_total", {{"result", "ok"}});
    error_after = now.sum("tg_config_reloads_total", {{"result", "error"}});
    return ok_after > ok_before || error_after > error_before;
  });
  if (!moved) {
    throw std::runtime_error("SIGHUP: tg_config_reloads_total{result=ok|error} did not move within " +
                             std::to_string(timeout.count()) + " ms\n" +
                             metrics().describe("tg_config") + describe());
  }
  if (ok_after > ok_before) {
    // Beyond the contract, when the proxy exports it: wait until every
    // worker has switched to the new table (the counter moves first).
    poll_for(timeout, [&] {
      const PrometheusText now = metrics();
      const double version = now.sum("tg_config_version");
      for (const MetricSample& sample : now.samples()) {
        if (sample.name == "tg_worker_config_version" && sample.value != version) return false;
      }
      return true;
    });
  }
  return ok_after > ok_before;
}

std::uint64_t proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

std::uint64_t ProxyProcess::rss_kib() const { return proc_status_kib(process_->pid(), "VmRSS"); }
std::uint64_t ProxyProcess::peak_rss_kib() const { return proc_status_kib(process_->pid(), "VmHWM"); }

std::string ProxyProcess::describe() const {
  std::string text = "---- tg-proxy pid " + std::to_string(process_->pid()) + ": " + process_->command_line() +
                     "\n---- log (" + process_->log_file().string() + "):\n";
  // A sanitizer report's first lines (what and where) matter most, and a
  // long stack can push them out of the tail: show them first.
  const std::string log = process_->read_log();
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
    const std::size_t found = log.find(marker);
    if (found == std::string::npos) continue;
    const std::size_t line_start = log.rfind('\n', found);
    std::size_t end = found;
    for (int lines = 0; lines < 20 && end != std::string::npos; ++lines) end = log.find('\n', end + 1);
    text += "[sanitizer report starts]\n" +
            log.substr(line_start == std::string::npos ? 0 : line_start + 1,
                       end == std::string::npos ? std::string::npos : end - line_start) +
            "[...]\n";
    break;
  }
  return text + process_->log_tail() + "---- end of log\n";
}

std::string describe_live_proxies() {
  std::lock_guard lock(live_mutex);
  std::string text;
  for (const ProxyProcess* proxy : live) text += proxy->describe();
  return text;
}

}  // namespace tg::itest
