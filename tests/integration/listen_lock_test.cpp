// One tg-proxy per address: a second tg-proxy on the same --listen is refused
// (the workers' SO_REUSEPORT would otherwise let it take half of the
// connections), and bind errors name the flag and the address as written.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/poll.hpp"
#include "support/process.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

using namespace tg::itest;

namespace {

struct Run {
  std::optional<ExitStatus> status;  // nullopt: still running after the deadline (then killed)
  std::string log;
};

// tg-proxy with exactly `args`; waits up to 10 s for it to exit.
Run run_proxy(const TempDir& dir, const std::string& name, const std::vector<std::string>& args) {
  ChildProcess child(proxy_binary(), args, dir.file(name + ".log"));
  Run run;
  run.status = child.wait_for(std::chrono::seconds(10));
  if (!run.status) child.kill();
  run.log = child.read_log();
  return run;
}

std::string port_text(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

TEST_CASE("a second tg-proxy on the same --listen exits naming the address, the first keeps every request",
          "[proxy][ports]") {
  TempDir dir;
  const std::string lock_dir = dir.file("locks").string();
  Backend backend("b1");
  ProxyOptions options;
  options.workers = 2;
  options.extra_args = {"--lock-dir", lock_dir};
  ProxyProcess first(single_service_config({backend.address()}), options);
  const std::string listen = port_text(first.port());

  const Run second = run_proxy(dir, "second",
                               {"--listen", listen, "--admin", "127.0.0.1:0", "--workers", "2", "--config",
                                first.config_path().string(), "--lock-dir", lock_dir});
  INFO(second.log);
  REQUIRE(second.status.has_value());
  CHECK(second.status->describe() == "exit 1");
  const std::string lock_file = lock_dir + "/tg-proxy-127.0.0.1-" + std::to_string(first.port()) + ".lock";
  CHECK(second.log.find("tg-proxy: --listen " + listen + ": another tg-proxy (pid " + std::to_string(first.pid()) +
                        ") serves this address; stop it first (lock " + lock_file + ")") != std::string::npos);

  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    const HttpResponse response = http_get(first.port(), "/");
    REQUIRE(response.status == 200);
  }
  CHECK(backend.requests() == kRequests);
  CHECK(metric_settles(first, "tg_requests_total", {{"class", "2xx"}}, kRequests) == kRequests);
}

TEST_CASE("tg-proxy releases and removes its listen lock when it stops", "[proxy][ports]") {
  TempDir dir;
  const std::string lock_dir = dir.file("locks").string();
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--lock-dir", lock_dir};
  auto first = std::make_unique<ProxyProcess>(single_service_config({backend.address()}), options);
  const std::uint16_t port = first->port();
  const auto lock_file = dir.file("locks") / ("tg-proxy-127.0.0.1-" + std::to_string(port) + ".lock");
  CHECK(read_file(lock_file) == std::to_string(first->pid()) + "\n");
  first->send_signal(SIGTERM);
  const auto status = first->process().wait_for(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(status->describe() == "exit 0");
  CHECK_FALSE(std::filesystem::exists(lock_file));

  // The same address is free again for the next tg-proxy, which takes the lock.
  const auto ready_file = dir.file("next.ready");
  ChildProcess next(proxy_binary(),
                    {"--listen", port_text(port), "--admin", "127.0.0.1:0", "--lock-dir", lock_dir, "--config",
                     first->config_path().string(), "--ready-file", ready_file.string()},
                    dir.file("next.log"));
  const bool ready = poll_for(std::chrono::seconds(10), [&] { return !read_file(ready_file).empty() || !next.running(); });
  INFO(next.read_log());
  REQUIRE(ready);
  REQUIRE(next.running());
  CHECK(read_file(lock_file) == std::to_string(next.pid()) + "\n");
  CHECK(http_get(port, "/").status == 200);
  next.send_signal(SIGTERM);
  const auto next_status = next.wait_for(std::chrono::seconds(10));
  REQUIRE(next_status.has_value());
  CHECK(next_status->describe() == "exit 0");
}

TEST_CASE("tg-proxy --admin on a port in use: the flag and the address, not Boost's words", "[proxy][ports]") {
  TempDir dir;
  write_file(dir.file("tg-proxy.yaml"), "services: []\nroutes: []\n");
  Backend other("other");  // any listener without SO_REUSEPORT
  const Run run = run_proxy(dir, "proxy",
                            {"--listen", "127.0.0.1:0", "--admin", other.address(), "--config",
                             dir.file("tg-proxy.yaml").string(), "--lock-dir", dir.file("locks").string()});
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(run.status->describe() == "exit 1");
  CHECK(run.log.find("tg-proxy: --admin " + other.address() + ": address already in use\n") != std::string::npos);
}

TEST_CASE("tg-proxy --listen on a port another program holds: the flag and the address", "[proxy][ports]") {
  TempDir dir;
  write_file(dir.file("tg-proxy.yaml"), "services: []\nroutes: []\n");
  Backend other("other");  // a listener without SO_REUSEPORT: no lock file, the bind fails
  const Run run = run_proxy(dir, "proxy",
                            {"--listen", other.address(), "--admin", "127.0.0.1:0", "--config",
                             dir.file("tg-proxy.yaml").string(), "--lock-dir", dir.file("locks").string()});
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(run.status->describe() == "exit 1");
  CHECK(run.log.find("tg-proxy: --listen " + other.address() + ": address already in use\n") != std::string::npos);
}
