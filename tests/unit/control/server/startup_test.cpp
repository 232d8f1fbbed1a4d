// --config expansion, loading, and the cross-file name check.
#include "server/startup.hpp"

#include "fake_clock.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

namespace tg::control {
namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST_CASE("startup: a directory stands for its *.yaml files in name order", "[startup]") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("conf.d"));
  write(dir.file("conf.d/20-b.yaml"), "");
  write(dir.file("conf.d/10-a.yaml"), "");
  write(dir.file("conf.d/notes.txt"), "");
  write(dir.file("extra.yaml"), "");
  const auto paths =
      expand_config_paths({dir.file("extra.yaml"), dir.file("conf.d"), dir.file("conf.d/10-a.yaml")});
  REQUIRE(paths.size() == 3);
  CHECK(paths[0] == dir.file("extra.yaml"));
  CHECK(paths[1] == dir.file("conf.d/10-a.yaml"));
  CHECK(paths[2] == dir.file("conf.d/20-b.yaml"));
}

TEST_CASE("startup: file errors come back as FILE:LINE:COLUMN", "[startup]") {
  test::TempDir dir;
  write(dir.file("bad.yaml"), "tenants:\n  - id: acme\n    colour: blue\n");
  ConfigFiles files;
  std::string errors;
  CHECK_FALSE(load_config_files({dir.file("bad.yaml"), dir.file("missing.yaml")}, files, errors));
  CHECK(errors.find(dir.file("bad.yaml") + ":3:5: ") != std::string::npos);
  CHECK(errors.find(dir.file("missing.yaml") + ": cannot read the file") != std::string::npos);
}

TEST_CASE("startup: two files declaring one name are refused", "[startup]") {
  test::TempDir dir;
  write(dir.file("a.yaml"), "tenants:\n  - id: acme\n");
  write(dir.file("b.yaml"), "services:\n  - name: s\n    tenant: acme\ntenants:\n  - id: acme\n");
  ConfigFiles files;
  std::string errors;
  CHECK_FALSE(load_config_files({dir.file("a.yaml"), dir.file("b.yaml")}, files, errors));
  CHECK(errors == dir.file("b.yaml") + ":5:5: tenant \"acme\" is also declared at " + dir.file("a.yaml") +
                      ":2:5; names are global, one file must own it\n");
}

TEST_CASE("startup: files referring to each other apply together", "[startup]") {
  test::TempDir dir;
  write(dir.file("routes.yaml"), "routes:\n  - name: r\n    service: s\n");
  write(dir.file("services.yaml"), "services:\n  - name: s\n    tenant: acme\ntenants:\n  - id: acme\n");
  ConfigFiles files;
  std::string errors;
  REQUIRE(load_config_files({dir.file("routes.yaml"), dir.file("services.yaml")}, files, errors));
  test::FakeClock clock;
  Registry registry(clock);
  CommitBatch batch;
  REQUIRE(apply_config_files(registry, files, &batch, nullptr).ok());
  CHECK(batch.mutations.size() == 3);
  CHECK(batch.audit.at(0).method == "startup");
  CHECK(registry.routes().at("r").meta().source().kind() == tenantgate::v1::Source::KIND_CONFIG_FILE);
  CHECK(registry.routes().at("r").meta().source().file() == dir.file("routes.yaml"));
}

}  // namespace
}  // namespace tg::control

namespace tg::control {
namespace {

using namespace std::chrono_literals;

TEST_CASE("startup: retention comes from the flag, else the config files, else the default", "[startup][retention]") {
  test::TempDir dir;
  write(dir.file("a.yaml"), "tenants: []\n");
  write(dir.file("b.yaml"), "retention:\n  events: 2h\n  audit: 0\n  rollups: 7d\n");
  ConfigFiles files;
  std::string errors;
  REQUIRE(load_config_files({dir.file("a.yaml"), dir.file("b.yaml")}, files, errors));

  const EffectiveRetention from_file = effective_retention(files, std::nullopt, std::nullopt);
  CHECK(from_file.events.value == 2h);
  CHECK(from_file.events.source == dir.file("b.yaml") + ":2:3");
  CHECK(from_file.audit.value == 0ms);  // kept forever
  CHECK(from_file.rollups.value == 7 * 24h);
  CHECK(from_file.alert_history.value == 90 * 24h);
  CHECK(from_file.alert_history.source == "default");

  const EffectiveRetention flags = effective_retention(files, 3h, 5h);
  CHECK(flags.events.value == 3h);
  CHECK(flags.events.source == "--events-retention");
  CHECK(flags.audit.value == 5h);
  CHECK(flags.audit.source == "--audit-retention");

  const EffectiveRetention defaults = effective_retention(ConfigFiles{}, std::nullopt, std::nullopt);
  CHECK(defaults.events.value == 14 * 24h);
  CHECK(defaults.audit.value == 180 * 24h);
  CHECK(defaults.rollups.value == 30 * 24h);
  CHECK(defaults.events.source == "default");
}

TEST_CASE("startup: retention set by two files is refused", "[startup][retention]") {
  test::TempDir dir;
  write(dir.file("a.yaml"), "retention: { events: 1d }\n");
  write(dir.file("b.yaml"), "tenants: []\nretention: { audit: 1d }\n");
  ConfigFiles files;
  std::string errors;
  CHECK_FALSE(load_config_files({dir.file("a.yaml"), dir.file("b.yaml")}, files, errors));
  CHECK(errors == dir.file("b.yaml") + ":2:12: retention is also set at " + dir.file("a.yaml") +
                      ":1:12; set it in one file\n");
}

}  // namespace
}  // namespace tg::control
