// tg-control binds its ports exclusively: a second tg-control on the same
// --grpc or --http port (with another database) exits with the flag and the
// address, instead of sharing the port (gRPC's default SO_REUSEPORT) and
// answering half of the calls from its own database.
#include "control/support/control_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

struct Run {
  std::optional<ExitStatus> status;  // nullopt: still running after the deadline (then killed)
  std::string log;
};

// A second tg-control on its own database with exactly these ports.
Run run_second(const TempDir& dir, const std::string& grpc, const std::string& http) {
  write_file(dir.file("second.yaml"), "tenants:\n  - id: second\n");
  ChildProcess child(control_binary(),
                     {"--db", dir.file("second.db").string(), "--grpc", grpc, "--http", http, "--config",
                      dir.file("second.yaml").string()},
                     dir.file("second.log"));
  Run run;
  run.status = child.wait_for(std::chrono::seconds(15));
  if (!run.status) child.kill();
  run.log = child.read_log();
  return run;
}

// ListTenants on a fresh channel each time (a new connection, so a second
// server sharing the port would get some of them): the tenant ids.
std::vector<std::string> tenant_ids(const ControlProcess& control) {
  v1::ListTenantsResponse response;
  const grpc::Status status = control.stub()->ListTenants(admin_context().get(), v1::ListTenantsRequest{}, &response);
  if (!status.ok()) throw std::runtime_error("ListTenants: " + status.error_message());
  std::vector<std::string> ids;
  for (const auto& tenant : response.tenants()) ids.push_back(tenant.id());
  return ids;
}

}  // namespace

TEST_CASE("a second tg-control on the same --grpc port exits with the flag and the address",
          "[control][ports]") {
  ControlProcess first({}, false);
  first.options().configs = {first.write("first.yaml", "tenants:\n  - id: first\n")};
  first.start();
  TempDir dir;
  const std::string grpc = "127.0.0.1:" + std::to_string(first.grpc_port());
  const Run second = run_second(dir, grpc, "127.0.0.1:0");
  INFO(second.log);
  REQUIRE(second.status.has_value());
  CHECK(second.status->describe() == "exit 1");
  CHECK(second.log.find("tg-control: --grpc " + grpc + ": address already in use\n") != std::string::npos);
  for (int i = 0; i < 10; ++i) CHECK(tenant_ids(first) == std::vector<std::string>{"first"});
}

TEST_CASE("a second tg-control on the same --http port exits with the flag and the address",
          "[control][ports]") {
  ControlProcess first;
  TempDir dir;
  const std::string http = "127.0.0.1:" + std::to_string(first.http_port());
  const Run second = run_second(dir, "127.0.0.1:0", http);
  INFO(second.log);
  REQUIRE(second.status.has_value());
  CHECK(second.status->describe() == "exit 1");
  CHECK(second.log.find("tg-control: --http " + http + ": address already in use\n") != std::string::npos);
}
