// Node ids on the table stream cannot be squatted or read off ListProxies:
// real tg-control, a client that claims a proxy's node id first, then the
// real tg-proxy under that name (docs/control-plane.md, "Hello, ACK, NACK").
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/poll.hpp"
#include "support/temp_dir.hpp"

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

using namespace tg::itest;
namespace v1 = tenantgate::v1;
using namespace std::chrono_literals;

TEST_CASE("a client that claims a node id first does not lock the real proxy out", "[control][stream][node_id]") {
  Backend backend("a");
  ControlProcess control;
  const auto yaml = control.write(
      "base.yaml", "tenants:\n  - id: acme\nservices:\n  - name: web\n    tenant: acme\n    instances:\n"
                   "      - { id: web-a, address: " + backend.address() + " }\n"
                   "routes:\n  - name: r1\n    service: web\n    match: { host: a.example }\n");
  const TgctlResult applied = tgctl(control, {"apply", "-f", yaml.string()});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);

  // The squatter claims the node id first.
  auto stub = v1::Discovery::NewStub(grpc::CreateChannel(control.grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  auto stream = stub->StreamTable(&context);
  v1::StreamTableRequest hello;
  hello.mutable_hello()->set_node_id("edge-1");
  hello.mutable_hello()->set_boot_id("squatter0123456789abcdef");
  REQUIRE(stream->Write(hello));
  v1::StreamTableResponse response;
  REQUIRE(stream->Read(&response));
  REQUIRE(response.has_welcome());

  // ListProxies shows 8 characters of its boot id, not enough to pose as it.
  const auto before = json_as<v1::ListProxiesResponse>(tgctl(control, {"proxies", "list", "-o", "json"}));
  REQUIRE(before.proxies_size() == 1);
  CHECK(before.proxies(0).boot_id() == "squatter");

  // The real proxy under the same name replaces it and serves the route.
  TempDir state("tg-itest-state");
  auto proxy = subscribed_proxy(control.grpc_address(), "edge-1", state.path());
  REQUIRE(poll_for(10s, [&] { return answer(*proxy, "a.example") == "a"; }, 10ms));
  while (stream->Read(&response)) {  // the table, then the end
  }
  const grpc::Status ended = stream->Finish();
  CHECK(ended.error_code() == grpc::StatusCode::ABORTED);
  CHECK(ended.error_message().find("replaced by a newer connection of node edge-1 from") == 0);
  const auto after = json_as<v1::ListProxiesResponse>(tgctl(control, {"proxies", "list", "-o", "json"}));
  REQUIRE(after.proxies_size() == 1);
  CHECK(after.proxies(0).connected());
  CHECK(after.proxies(0).boot_id() != "squatter");
  CHECK(after.proxies(0).boot_id().size() <= 8);
}
