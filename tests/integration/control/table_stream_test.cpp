// Discovery.StreamTable against the real tg-control: a proxy's stream gets
// the table and its next version, `tgctl proxies list` shows it, and SIGTERM
// ends the open stream at once instead of waiting for it.
#include "control/support/control_process.hpp"
#include "control/support/tgctl_run.hpp"

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <future>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

TEST_CASE("table stream: hello, table, next version, proxies list, SIGTERM with the stream open",
          "[control][discovery]") {
  ControlOptions options;
  options.tokens = "proxy s3cret\n";
  options.extra_args = {"--table-debounce", "1ms"};
  ControlProcess control(options);
  const auto token = control.write("proxy.token", "s3cret\n");
  TgctlOptions with_token;
  with_token.token_file = token.string();

  auto channel = grpc::CreateChannel(control.grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Discovery::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer s3cret");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->StreamTable(&context);
  v1::StreamTableRequest hello;
  hello.mutable_hello()->set_node_id("edge-1");
  hello.mutable_hello()->set_boot_id("0123456789abcdef");
  REQUIRE(stream->Write(hello));
  v1::StreamTableResponse response;
  REQUIRE(stream->Read(&response));
  REQUIRE(response.has_welcome());  // the hello was accepted
  const std::string registry_id = response.welcome().registry_id();
  CHECK(registry_id.size() == 32);  // created with the database
  REQUIRE(stream->Read(&response));
  REQUIRE(response.has_config());
  CHECK(response.version().counter() == 1);
  CHECK(response.registry_id() == registry_id);
  v1::StreamTableRequest ack;
  *ack.mutable_ack()->mutable_version() = response.version();
  REQUIRE(stream->Write(ack));

  const TgctlResult created = tgctl(control, {"tenants", "create", "acme"}, with_token);
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
  REQUIRE(stream->Read(&response));
  CHECK(response.version().counter() == 2);
  v1::Table table;
  REQUIRE(table.ParseFromString(response.config()));
  REQUIRE(table.tenants_size() == 1);
  CHECK(table.tenants(0).id() == "acme");
  *ack.mutable_ack()->mutable_version() = response.version();
  REQUIRE(stream->Write(ack));

  // The ACK reaches the server asynchronously: poll with a deadline.
  const std::string applied = " " + std::to_string(response.version().generation()) + ".2 ";
  TgctlResult listed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    listed = tgctl(control, {"proxies", "list"}, with_token);
    REQUIRE(listed.exit_code == 0);
  } while (listed.out.find(applied) == std::string::npos && std::chrono::steady_clock::now() < deadline);
  INFO(listed.describe());
  CHECK(listed.out.find(applied) != std::string::npos);
  CHECK(listed.out.find("edge-1  01234567  ipv4:127.0.0.1:") != std::string::npos);
  CHECK(listed.out.find("connected") != std::string::npos);
  CHECK(listed.out.find("Newest table version: ") != std::string::npos);
  CHECK(listed.out.find(registry_id.substr(0, 8) + " (this)") != std::string::npos);

  // The proxy keeps reading and then watches its channel (as a real one
  // reconnecting does): a synchronous client answers the server's shutdown
  // ping only while something polls its channel (else its 5 s backup poller).
  std::atomic<bool> stopped_watching{false};
  auto reader = std::async(std::launch::async, [&] {
    v1::StreamTableResponse more;
    const bool read = stream->Read(&more);
    const grpc::Status status = stream->Finish();
    while (!stopped_watching)
      channel->WaitForStateChange(channel->GetState(false),
                                  std::chrono::system_clock::now() + std::chrono::milliseconds(50));
    return std::make_pair(read, status);
  });
  const auto start = std::chrono::steady_clock::now();
  const ExitStatus stopped = control.stop(std::chrono::seconds(8));
  CHECK(stopped.success());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  stopped_watching = true;
  REQUIRE(reader.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const auto [read, status] = reader.get();
  CHECK_FALSE(read);
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
}
