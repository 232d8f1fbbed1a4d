// tg-control --check --config FILE|DIR: validates offline (no database, no
// ports) with exit 0/1, and reports a mistake with the same text at the same
// position as tg-proxy --check does for the same file.
#include "control/support/control_process.hpp"
#include "support/process.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
using namespace std::chrono_literals;

namespace {

struct CheckRun {
  ExitStatus status;
  std::string output;  // stdout and stderr
};

CheckRun run_check(const std::filesystem::path& binary, const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"--check"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(binary, argv, dir.file(binary.filename().string() + ".log"));
  const auto status = child.wait_for(10s);
  if (!status) FAIL(binary.filename().string() << " --check did not exit within 10 s:\n" << child.read_log());
  return {*status, child.read_log()};
}

CheckRun control_check(const TempDir& dir, const std::filesystem::path& config) {
  return run_check(control_binary(), dir, {"--config", config.string()});
}
CheckRun proxy_check(const TempDir& dir, const std::filesystem::path& config) {
  return run_check(proxy_binary(), dir, {"--config", config.string()});
}

const char* good_yaml =
    "services:\n"
    "  - name: web\n"
    "    instances: [ { address: 127.0.0.1:9001 } ]\n"
    "routes:\n"
    "  - name: r\n"
    "    service: web\n";

}  // namespace

TEST_CASE("tg-control --check accepts a good file with exit 0 and opens no database", "[control][check]") {
  TempDir dir;
  const auto config = dir.file("good.yaml");
  write_file(config, good_yaml);
  const CheckRun run = control_check(dir, config);
  INFO(run.output);
  CHECK(run.status.describe() == "exit 0");
  CHECK(run.output == config.string() + ": ok (1 services, 1 routes)\n");
  CHECK(run.output == proxy_check(dir, config).output);  // the OK line of tg-proxy --check
  CHECK_FALSE(std::filesystem::exists(dir.file("tenantgate.db")));
}

TEST_CASE("tg-control --check and tg-proxy --check report a bad file alike", "[control][check]") {
  TempDir dir;
  std::string yaml;
  std::string expected;
  SECTION("route to a missing service") {
    yaml = "services:\n"
           "  - name: acme-web\n"
           "    instances: [ { address: 127.0.0.1:9001 } ]\n"
           "routes:\n"
           "  - name: r\n"
           "    service: acme-wbe\n";
    expected = ":6:14: routes[0].service: unknown service \"acme-wbe\" (did you mean \"acme-web\"?); it must be "
               "declared under services\n";
  }
  SECTION("service of a missing tenant") {
    yaml = "services:\n"
           "  - name: web\n"
           "    tenant: nobody\n";
    expected = ":3:13: services[0].tenant: unknown tenant \"nobody\"; no tenants are declared\n";
  }
  SECTION("unknown key") {
    yaml = "services:\n"
           "  - name: web\n"
           "    bogus: 1\n";
    expected = ":3:5: services[0]: unknown key \"bogus\"";
  }
  const auto config = dir.file("bad.yaml");
  write_file(config, yaml);
  const CheckRun control = control_check(dir, config);
  const CheckRun proxy = proxy_check(dir, config);
  INFO("tg-control:\n" << control.output << "tg-proxy:\n" << proxy.output);
  CHECK(control.status.describe() == "exit 1");
  CHECK(proxy.status.describe() == "exit 1");
  CHECK(control.output.rfind(config.string() + expected, 0) == 0);
  CHECK(control.output == proxy.output);
}

TEST_CASE("tg-control --check resolves references across its files", "[control][check]") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("conf.d"));
  write_file(dir.file("conf.d/10-services.yaml"), "services:\n  - name: web\n");
  write_file(dir.file("conf.d/20-routes.yaml"), "routes:\n  - name: r\n    service: web\n");
  CheckRun run = control_check(dir, dir.file("conf.d"));
  INFO(run.output);
  CHECK(run.status.describe() == "exit 0");
  std::filesystem::remove(dir.file("conf.d/10-services.yaml"));
  run = control_check(dir, dir.file("conf.d"));
  INFO(run.output);
  CHECK(run.status.describe() == "exit 1");
  CHECK(run.output.find("20-routes.yaml:3:14: routes[0].service: unknown service \"web\"") != std::string::npos);
}

TEST_CASE("tg-control and tg-proxy --check warn about settings that are accepted but not enforced yet, in both binaries",
          "[control][check]") {
  TempDir dir;
  const auto config = dir.file("hc.yaml");
  write_file(config,
             "services:\n"
             "  - name: acme\n"
             "    limits: { max_pending_per_instance: 3 }\n"
             "    instances: [ { address: 127.0.0.1:9001 } ]\n"
             "retention: { alert_history: 90d }\n");
  const std::string warning = config.string() +
                              ":5:14: warning: retention.alert_history is accepted but not enforced yet (no alert "
                              "engine yet: the value is kept for it)\n";
  const CheckRun control = control_check(dir, config);
  const CheckRun proxy = proxy_check(dir, config);
  INFO("tg-control:\n" << control.output << "tg-proxy:\n" << proxy.output);
  CHECK(control.status.describe() == "exit 0");
  CHECK(proxy.status.describe() == "exit 0");
  CHECK(control.output.find(warning) != std::string::npos);
  CHECK(proxy.output.find(warning) != std::string::npos);
}

TEST_CASE("tg-control --check without --config is a usage error", "[control][check]") {
  TempDir dir;
  const CheckRun run = run_check(control_binary(), dir, {});
  INFO(run.output);
  CHECK(run.status.describe() == "exit 2");
  CHECK(run.output.find("--check needs --config") != std::string::npos);
}

TEST_CASE("tg-control --check reads alert rules and notifiers, tg-proxy --check ignores them", "[control][check]") {
  TempDir dir;
  const auto good = dir.file("rules.yaml");
  write_file(good,
             "alert_rules:\n"
             "  - name: errors\n"
             "    scope: { tenant: acme }\n"
             "    condition: { metric: error_rate, op: \">\", threshold: 0.05 }\n"
             "    window: 1m\n"
             "    for: 30s\n"
             "    notifiers: [ops]\n"
             "notifiers:\n"
             "  - { name: ops, type: webhook, url: http://127.0.0.1:9600/hook }\n");
  const CheckRun ok = control_check(dir, good);
  INFO(ok.output);
  CHECK(ok.status.describe() == "exit 0");
  CHECK(ok.output.find("warning") == std::string::npos);

  const auto bad = dir.file("bad-rules.yaml");
  write_file(bad,
             "alert_rules:\n"
             "  - name: errors\n"
             "    condition: { metric: error_rate, op: \">\", threshold: 0.05 }\n"
             "    window: 2h\n"
             "    notifiers: [opz]\n"
             "notifiers:\n"
             "  - { name: ops, type: webhook, url: ftp://127.0.0.1/hook }\n");
  const CheckRun control = control_check(dir, bad);
  const CheckRun proxy = proxy_check(dir, bad);
  INFO("tg-control:\n" << control.output << "tg-proxy:\n" << proxy.output);
  CHECK(control.status.describe() == "exit 1");
  CHECK(control.output.find(bad.string() + ":4:13: alert_rules[0].window: must be from 1s to 1h") != std::string::npos);
  CHECK(control.output.find(bad.string() + ":5:17: alert_rules[0].notifiers[0]: unknown notifier \"opz\" (did you "
                                           "mean \"ops\"?)") != std::string::npos);
  CHECK(control.output.find(bad.string() + ":7:38: notifiers[0].url: must start with http:// or https://") !=
        std::string::npos);
  CHECK(proxy.status.describe() == "exit 0");  // control plane only: the proxy ignores the sections
}
