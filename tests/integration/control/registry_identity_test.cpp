// Registry identity on the table stream (docs/control-plane.md, "Registry
// identity and restores"), end to end: a real tg-control whose database is
// swapped between runs as an operator would by mistake (a wrong, empty
// database) or on purpose (a restore from a backup), a real tg-proxy fed by
// it, and traffic through the proxy to a backend started here.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

constexpr auto kConverge = std::chrono::seconds(10);

void run_ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  if (result.exit_code != 0) throw std::runtime_error("tgctl failed:\n" + result.describe());
}

v1::ProxyStatus proxy_status(const ControlProcess& control, const std::string& node) {
  const auto list = json_as<v1::ListProxiesResponse>(tgctl(control, {"proxies", "list", "-o", "json"}));
  for (const auto& proxy : list.proxies())
    if (proxy.node_id() == node) return proxy;
  return {};
}

v1::RegistryInfo registry(const ControlProcess& control) {
  return json_as<v1::RegistryInfo>(tgctl(control, {"registry", "show", "-o", "json"}));
}

// The database files (the SQLite file and its WAL companions).
std::vector<std::filesystem::path> db_files(const std::filesystem::path& db) {
  return {db, db.string() + "-wal", db.string() + "-shm"};
}

void move_db(const std::filesystem::path& from, const std::filesystem::path& to) {
  for (std::size_t i = 0; i < 3; ++i) {
    const auto source = db_files(from)[i];
    if (std::filesystem::exists(source)) std::filesystem::rename(source, db_files(to)[i]);
  }
}

void copy_db(const std::filesystem::path& from, const std::filesystem::path& to) {
  for (const auto& file : db_files(to)) std::filesystem::remove(file);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto source = db_files(from)[i];
    if (std::filesystem::exists(source)) std::filesystem::copy_file(source, db_files(to)[i]);
  }
}

double control_metric(const ControlProcess& control, const std::string& line_start) {
  const HttpResponse response = http_get(control.http_port(), "/metrics");
  const std::string& body = response.body;
  const auto at = body.find("\n" + line_start + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + line_start.size() + 2));
}

std::string base_yaml(const Backend& a, const Backend& b) {
  return "tenants:\n  - id: acme\n"
         "services:\n"
         "  - name: web\n    tenant: acme\n    instances:\n      - { id: web-a, address: " + a.address() + " }\n"
         "  - name: web2\n    tenant: acme\n    instances:\n      - { id: web2-b, address: " + b.address() + " }\n"
         "routes:\n  - { name: r1, match: { host: a.example }, service: web }\n";
}

// tg-control (restarts keep its gRPC port) with base_yaml applied, and one
// proxy fed by it, serving a.example.
struct Fleet {
  Backend a{"a"}, b{"b"};
  ControlProcess control{[] {
    ControlOptions options;
    options.keep_grpc_port = true;
    return options;
  }()};
  TempDir state{"tg-itest-state"};
  std::unique_ptr<ProxyProcess> proxy;

  Fleet() {
    run_ok(control, {"apply", "-f", control.write("base.yaml", base_yaml(a, b)).string()});
    proxy = subscribed_proxy(control.grpc_address(), "p1", state.path());
    if (!poll_for(kConverge, [&] { return answer(*proxy, "a.example") == "a"; }, 5ms))
      throw std::runtime_error("the proxy did not get the table\n" + control.describe());
  }
};

}  // namespace

TEST_CASE("a tg-control on an empty database cannot wipe the proxies' routes, and adopting the registry hands over",
          "[control][stream][registry]") {
  Fleet fleet;
  ControlProcess& control = fleet.control;
  ProxyProcess* proxy = fleet.proxy.get();
  const std::string first_registry = registry(control).registry_id();
  REQUIRE(first_registry.size() == 32);
  CHECK(proxy->metrics().value("tg_control_table_registry_info", {{"registry_id", first_registry}}) == 1);

  // The operator starts tg-control on another (empty) database, same port.
  control.stop();
  move_db(control.db_path(), control.dir() / "first.db");
  control.start();
  const std::string second_registry = registry(control).registry_id();
  REQUIRE(second_registry != first_registry);

  // The proxy refuses the empty table of the other registry and keeps routing.
  v1::ProxyStatus status;
  REQUIRE(poll_for(kConverge, [&] {
    status = proxy_status(control, "p1");
    return status.has_last_nack();
  }, 20ms));
  INFO(status.DebugString());
  CHECK(status.last_nack().reason().find("tgctl registry adopt " + first_registry) != std::string::npos);
  CHECK(status.registry_id() == first_registry);
  for (int i = 0; i < 10; ++i) CHECK(answer(*proxy, "a.example") == "a");
  CHECK(proxy->metrics().value("tg_control_refused_updates_total", {{"reason", "foreign_registry"}}) >= 1);
  const TgctlResult table = tgctl(control, {"proxies", "list"});
  CHECK(table.out.find(first_registry.substr(0, 8)) != std::string::npos);
  CHECK(table.out.find("of registry " + second_registry) != std::string::npos);

  // Adopting the proxies' registry hands them this database's (empty) table.
  const TgctlResult adopted = tgctl(control, {"registry", "adopt", first_registry});
  INFO(adopted.describe());
  REQUIRE(adopted.exit_code == 0);
  REQUIRE(poll_for(kConverge, [&] { return answer(*proxy, "a.example") == "404"; }, 5ms));
  REQUIRE(poll_for(kConverge, [&] { return proxy_status(control, "p1").registry_id() == second_registry; }, 20ms));
  const TgctlResult audit = tgctl(control, {"audit", "list", "--method", "AdoptRegistry"});
  CHECK(audit.out.find(first_registry) != std::string::npos);
  // Adopting its own id is refused.
  CHECK(tgctl(control, {"registry", "adopt", second_registry}).exit_code == 1);
}

TEST_CASE("a database restored from a backup is fenced until --accept-restore, then every proxy converges on it",
          "[control][stream][registry][restore]") {
  Fleet fleet;
  ControlProcess& control = fleet.control;
  ProxyProcess* proxy = fleet.proxy.get();

  // A backup, then more changes the proxy applies (generation 2).
  control.stop();
  const auto backup = control.dir() / "backup.db";
  copy_db(control.db_path(), backup);
  control.start();
  run_ok(control, {"routes", "create", "r2", "--service", "web2", "--host", "b.example"});
  REQUIRE(poll_for(kConverge, [&] { return answer(*proxy, "b.example") == "b"; }, 5ms));

  // Restored: the database restarts at the backup's generation + 1, the one
  // the proxy already served with r2 in it.
  control.stop();
  copy_db(backup, control.db_path());
  control.start();
  v1::ProxyStatus status;
  REQUIRE(poll_for(kConverge, [&] {
    status = proxy_status(control, "p1");
    return !status.fenced().empty();
  }, 20ms));
  CHECK(status.fenced().find("database older than the fleet") != std::string::npos);
  CHECK(control_metric(control, "tg_control_database_older_than_fleet") == 1);
  CHECK(tgctl(control, {"proxies", "list"}).out.find("fenced") != std::string::npos);
  CHECK(answer(*proxy, "b.example") == "b");  // nothing pushed: the proxy keeps the newer table

  // A plain restart does not lift the fence (the mark is in the database).
  control.stop();
  control.start();
  REQUIRE(poll_for(kConverge, [&] { return !proxy_status(control, "p1").fenced().empty(); }, 20ms));
  CHECK_FALSE(registry(control).database_older_than_fleet().empty());
  CHECK(answer(*proxy, "b.example") == "b");

  // The operator accepts the restore: generation lifted, the proxy converges.
  control.stop();
  control.options().extra_args = {"--accept-restore"};
  control.start();
  REQUIRE(poll_for(kConverge, [&] { return answer(*proxy, "b.example") == "404"; }, 5ms));
  CHECK(answer(*proxy, "a.example") == "a");
  REQUIRE(poll_for(kConverge, [&] {
    status = proxy_status(control, "p1");
    return status.connected() && status.fenced().empty() && status.lag() == 0;
  }, 20ms));
  CHECK(control_metric(control, "tg_control_database_older_than_fleet") == 0);
  const TgctlResult audit = tgctl(control, {"audit", "list", "--method", "AcceptRestore"});
  CHECK(audit.out.find("AcceptRestore") != std::string::npos);
}
