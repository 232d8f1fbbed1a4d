// Every refusal of admin.proto's status table, with the field or object it
// names, and the tgctl exit code each maps to (docs/tgctl.md).
#include "control/support/control_process.hpp"
#include "control/support/tgctl_run.hpp"

#include "support/poll.hpp"

#include <catch2/catch.hpp>
#include <signal.h>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

// tgctl must fail with exit `code`, and stderr must hold every `needle`.
void refused(const ControlProcess& control, const std::vector<std::string>& args, int code,
             const std::vector<std::string>& needles) {
  const TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  CHECK(result.exit_code == code);
  CHECK(result.out.empty());
  for (const std::string& needle : needles) CHECK(result.err.find(needle) != std::string::npos);
}

void ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
}

}  // namespace

TEST_CASE("INVALID_ARGUMENT names the field", "[control][validation]") {
  ControlProcess control;
  ok(control, {"services", "create", "web"});
  refused(control, {"tenants", "create", "Not A Valid Id"}, 1, {"tenants create: INVALID_ARGUMENT", "tenant.id"});
  refused(control, {"routes", "create", "r", "--service", "web", "--host", "bad host!"}, 1,
          {"INVALID_ARGUMENT", "route.match.host"});
  refused(control, {"routes", "create", "r", "--service", "web", "--path-prefix", "/a", "--path-exact", "/b"},
          1, {"INVALID_ARGUMENT", "route.match"});
  refused(control, {"routes", "create", "r", "--service", "web", "--path-prefix", "no-slash"}, 1,
          {"INVALID_ARGUMENT", "route.match.path_prefix"});
  refused(control, {"instances", "register", "web", "127.0.0.1:9001", "--weight", "20000"}, 1,
          {"INVALID_ARGUMENT", "instance.weight"});
  refused(control, {"instances", "register", "web", "not-an-address"}, 1,
          {"INVALID_ARGUMENT", "instance.address"});
  refused(control, {"routes", "patch", "r", "--clear", "match.bogus"}, 1, {"INVALID_ARGUMENT", "match.bogus"});
}

TEST_CASE("INVALID_ARGUMENT for requests tgctl never sends (direct client)", "[control][validation]") {
  ControlProcess control;
  ok(control, {"services", "create", "web"});
  ok(control, {"routes", "create", "r", "--service", "web"});
  ok(control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "i1"});
  const auto stub = control.stub();

  v1::PatchRouteRequest patch;  // empty mask
  patch.mutable_route()->set_name("r");
  patch.mutable_route()->set_service("web");
  v1::Route route;
  const grpc::Status empty_mask = stub->PatchRoute(admin_context().get(), patch, &route);
  CHECK(empty_mask.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  v1::SetInstanceStateRequest state;  // admin_state UNSPECIFIED
  state.set_id("i1");
  v1::Instance instance;
  const grpc::Status unspecified = stub->SetInstanceState(admin_context().get(), state, &instance);
  CHECK(unspecified.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(unspecified.error_message().find("admin_state") != std::string::npos);

  v1::DiscoverInstancesRequest discover;  // service required
  v1::DiscoverInstancesResponse instances;
  CHECK(stub->DiscoverInstances(admin_context().get(), discover, &instances).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("NOT_FOUND names the missing object", "[control][validation]") {
  ControlProcess control;
  refused(control, {"tenants", "get", "nobody"}, 1, {"tenants get: NOT_FOUND", "nobody"});
  refused(control, {"routes", "create", "r", "--service", "ghost"}, 1, {"routes create: NOT_FOUND", "ghost"});
  refused(control, {"services", "create", "s", "--tenant", "ghost-tenant"}, 1, {"NOT_FOUND", "ghost-tenant"});
  refused(control, {"instances", "register", "ghost-svc", "127.0.0.1:9001"}, 1, {"NOT_FOUND", "ghost-svc"});
  refused(control, {"instances", "heartbeat", "ghost-instance"}, 1, {"NOT_FOUND", "ghost-instance"});
  refused(control, {"routes", "delete", "ghost-route"}, 1, {"NOT_FOUND", "ghost-route"});
  refused(control, {"routes", "patch", "ghost-route", "--method", "GET"}, 1, {"NOT_FOUND", "ghost-route"});
}

TEST_CASE("ALREADY_EXISTS on a second create", "[control][validation]") {
  ControlProcess control;
  ok(control, {"tenants", "create", "acme"});
  refused(control, {"tenants", "create", "acme"}, 1, {"tenants create: ALREADY_EXISTS", "acme"});
  ok(control, {"services", "create", "web"});
  refused(control, {"services", "create", "web"}, 1, {"ALREADY_EXISTS", "web"});
  ok(control, {"routes", "create", "r", "--service", "web"});
  refused(control, {"routes", "create", "r", "--service", "web"}, 1, {"ALREADY_EXISTS"});
}

TEST_CASE("FAILED_PRECONDITION: deleting what others use", "[control][validation]") {
  ControlProcess control;
  ok(control, {"tenants", "create", "acme"});
  ok(control, {"services", "create", "web", "--tenant", "acme"});
  refused(control, {"tenants", "delete", "acme"}, 1, {"tenants delete: FAILED_PRECONDITION"});
  ok(control, {"routes", "create", "r", "--service", "web"});
  refused(control, {"services", "delete", "web"}, 1, {"FAILED_PRECONDITION", "r"});
  ok(control, {"routes", "delete", "r"});
  ok(control, {"instances", "register", "web", "127.0.0.1:9001"});
  refused(control, {"services", "delete", "web"}, 1, {"FAILED_PRECONDITION"});
  ok(control, {"instances", "deregister", "web/127.0.0.1:9001"});
  ok(control, {"services", "delete", "web"});
  ok(control, {"tenants", "delete", "acme"});
}

TEST_CASE("tgctl exit codes: 2 before sending, 3 without a server", "[control][validation][exit]") {
  ControlProcess control;
  const TgctlResult usage = tgctl(control, {"routes", "create", "r", "--header", "nope"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("--header") != std::string::npos);

  // TG_SERVER stands in for --server
  TgctlOptions env;
  env.env = {"TG_SERVER=" + control.grpc_address()};
  const TgctlResult by_env = tgctl_raw({"tenants", "list"}, env);
  INFO(by_env.describe());
  CHECK(by_env.exit_code == 0);

  // a server that does not answer (stopped): the deadline, exit 3
  control.send_signal(SIGSTOP);
  const auto start = Clock::now();
  const TgctlResult frozen = tgctl(control, {"--timeout", "300ms", "tenants", "list"});
  const double took = elapsed_ms(start);
  control.send_signal(SIGCONT);
  INFO(frozen.describe());
  CHECK(frozen.exit_code == 3);
  CHECK(frozen.err.find("tenants list: DEADLINE_EXCEEDED: no answer from " + control.grpc_address() +
                        " within 300ms") != std::string::npos);
  CHECK(took < 5000);
  CHECK(tgctl(control, {"tenants", "list"}).exit_code == 0);  // and it answers again

  const std::string address = control.grpc_address();
  control.kill();
  const TgctlResult down = tgctl_raw({"--server", address, "--timeout", "2s", "tenants", "list"});
  INFO(down.describe());
  CHECK(down.exit_code == 3);
  CHECK((down.err.find("UNAVAILABLE") != std::string::npos ||
         down.err.find("DEADLINE_EXCEEDED") != std::string::npos));
}
