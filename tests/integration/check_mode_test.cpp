// tg-proxy --check --config FILE: validates and exits, 0 for a good file, 1
// with FILE:LINE:COLUMN messages for a bad one (docs/configuration.md, Errors).
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/process.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace tg::itest;

namespace {

struct CheckRun {
  ExitStatus status;
  std::string output;
};

CheckRun run_check(const TempDir& dir, const std::string& file_name, const std::string& yaml) {
  const auto config = dir.file(file_name);
  write_file(config, yaml);
  ChildProcess child(proxy_binary(), {"--check", "--config", config.string()}, dir.file(file_name + ".log"));
  const auto status = child.wait_for(10s);
  if (!status) FAIL("tg-proxy --check did not exit within 10 s:\n" << child.read_log());
  return {*status, child.read_log()};
}

}  // namespace

TEST_CASE("tg-proxy --check accepts a good file with exit 0", "[proxy][check]") {
  TempDir dir;
  const CheckRun run = run_check(dir, "good.yaml", single_service_config({"127.0.0.1:9001", "127.0.0.1:9002"}));
  INFO(run.output);
  CHECK(run.status.describe() == "exit 0");
}

TEST_CASE("tg-proxy --check rejects a bad file with FILE:LINE:COLUMN", "[proxy][check]") {
  TempDir dir;
  SECTION("unknown key") {
    const CheckRun run = run_check(dir, "bad.yaml",
                                   "services:\n"
                                   "  - name: svc\n"
                                   "    bogus: 1\n"
                                   "    instances: [ { address: 127.0.0.1:9001 } ]\n"
                                   "routes: []\n");
    INFO(run.output);
    CHECK(run.status.describe() == "exit 1");
    CHECK(run.output.find("bad.yaml:3:5:") != std::string::npos);
  }
  SECTION("bad duration") {
    const CheckRun run = run_check(dir, "bad.yaml",
                                   "services:\n"
                                   "  - name: svc\n"
                                   "    timeouts: { connect: 5 parsecs }\n"
                                   "    instances: [ { address: 127.0.0.1:9001 } ]\n"
                                   "routes: []\n");
    INFO(run.output);
    CHECK(run.status.describe() == "exit 1");
    CHECK(std::regex_search(run.output, std::regex(R"(bad\.yaml:3:\d+:)")));
  }
  SECTION("dangling service reference") {
    const CheckRun run = run_check(dir, "bad.yaml",
                                   "services: []\n"
                                   "routes:\n"
                                   "  - name: r\n"
                                   "    match: { path_prefix: / }\n"
                                   "    service: missing\n");
    INFO(run.output);
    CHECK(run.status.describe() == "exit 1");
    CHECK(std::regex_search(run.output, std::regex(R"(bad\.yaml:5:\d+:)")));
  }
  SECTION("YAML syntax error") {
    const CheckRun run = run_check(dir, "bad.yaml", "services: [ {\n");
    INFO(run.output);
    CHECK(run.status.describe() == "exit 1");
    CHECK(std::regex_search(run.output, std::regex(R"(bad\.yaml:\d+:\d+:)")));
  }
}

TEST_CASE("tg-proxy --check with a missing file fails", "[proxy][check]") {
  TempDir dir;
  ChildProcess child(proxy_binary(), {"--check", "--config", dir.file("absent.yaml").string()}, dir.file("log"));
  const auto status = child.wait_for(10s);
  REQUIRE(status.has_value());
  INFO(child.read_log());
  CHECK_FALSE(status->success());
  CHECK(child.read_log().find("absent.yaml") != std::string::npos);
}

TEST_CASE("tg-proxy refuses to start on a bad config", "[proxy][check]") {
  TempDir dir;
  write_file(dir.file("bad.yaml"), "services: [ {\n");
  ChildProcess child(proxy_binary(),
                     {"--config", dir.file("bad.yaml").string(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                      "--ready-file", dir.file("ready").string()},
                     dir.file("log"));
  const auto status = child.wait_for(10s);
  REQUIRE(status.has_value());
  INFO(child.read_log());
  CHECK_FALSE(status->success());
  CHECK_FALSE(std::filesystem::exists(dir.file("ready")));
}
