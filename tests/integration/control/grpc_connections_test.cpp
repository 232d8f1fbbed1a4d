// tg-control's own gRPC acceptor (docs/operations.md, "Connections"):
// --grpc-max-connections caps the open connections (one more is closed at
// once: UNAVAILABLE), a closed one makes room; the server's channel
// arguments hold on the connections it hands to gRPC; a cap the open-files
// limit has no room for is refused at start; IPv6 works.
#include "control/support/control_process.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <sys/resource.h>

using namespace tg::itest;
namespace v1 = ::tenantgate::v1;

namespace {

PrometheusText metrics(const ControlProcess& control) {
  const HttpResponse response = http_get(control.http_port(), "/metrics", {{"Connection", "close"}});
  if (response.status != 200) throw std::runtime_error("GET /metrics: " + response.describe());
  return PrometheusText::parse(response.body);
}

// A stub on a channel with a connection of its own (no subchannel shared
// with other channels of this process).
std::unique_ptr<v1::Admin::Stub> own_connection_stub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(-1);
  return v1::Admin::NewStub(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

grpc::Status list_tenants(v1::Admin::Stub& stub) {
  v1::ListTenantsResponse out;
  return stub.ListTenants(admin_context().get(), {}, &out);
}

struct Run {
  std::optional<ExitStatus> status;
  std::string log;
};

Run run_to_exit(const TempDir& dir, std::vector<std::string> args) {
  std::vector<std::string> all = {"--db", dir.file("run.db").string()};
  all.insert(all.end(), args.begin(), args.end());
  ChildProcess child(control_binary(), all, dir.file("run.log"));
  Run run;
  run.status = child.wait_for(std::chrono::seconds(15));
  if (!run.status) child.kill();
  run.log = child.read_log();
  return run;
}

}  // namespace

TEST_CASE("gRPC connection cap of 3: three connections work, a fourth gets UNAVAILABLE, a closed one makes room",
          "[control][grpc_connections]") {
  ControlOptions options;
  // No self-probe: its connection would count against the cap now and then.
  options.extra_args = {"--grpc-max-connections", "3", "--grpc-probe-interval", "0"};
  ControlProcess control(options);

  std::vector<std::unique_ptr<v1::Admin::Stub>> stubs;
  for (int i = 0; i < 3; ++i) {
    stubs.push_back(own_connection_stub(control.grpc_address()));
    const grpc::Status status = list_tenants(*stubs.back());
    INFO("connection " << i << ": " << status.error_message());
    CHECK(status.ok());
  }
  {
    const PrometheusText text = metrics(control);
    CHECK(text.value("tg_control_grpc_connections") == 3);
    CHECK(text.value("tg_control_grpc_max_connections") == 3);
    CHECK(text.value("tg_control_grpc_connections_refused_total") == 0);
  }

  {
    auto fourth = own_connection_stub(control.grpc_address());
    const grpc::Status status = list_tenants(*fourth);
    INFO(status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  {
    const PrometheusText text = metrics(control);
    CHECK(text.value("tg_control_grpc_connections_refused_total") >= 1);
    CHECK(text.value("tg_control_grpc_connections") == 3);
  }
  CHECK(control.log().find("closed at once: 3 connections are open (--grpc-max-connections)") != std::string::npos);

  // The client closes one: gRPC closes its side, the count goes down, a new
  // connection gets in.
  stubs.erase(stubs.begin());
  REQUIRE(poll_for(10s, [&] { return metrics(control).value("tg_control_grpc_connections") == 2; }));
  auto next = own_connection_stub(control.grpc_address());
  const grpc::Status status = list_tenants(*next);
  INFO(status.error_message());
  CHECK(status.ok());
  CHECK(metrics(control).value("tg_control_grpc_connections") == 3);
  for (auto& stub : stubs) CHECK(list_tenants(*stub).ok());  // the two kept their connections
  CHECK(control.running());
}

TEST_CASE("silent connections do not hold the cap: the keepalive closes them and the slots are free again",
          "[control][grpc_connections]") {
  ControlOptions options;
  // No idle timeout: only the keepalive (a ping after 10 s, 5 s for the
  // answer) can end a connection that never speaks HTTP/2.
  options.extra_args = {"--grpc-max-connections", "2", "--grpc-max-connection-idle", "0", "--grpc-probe-interval",
                        "0"};
  ControlProcess control(options);
  std::vector<TcpSocket> silent;
  for (int i = 0; i < 2; ++i) silent.emplace_back(control.grpc_port(), std::chrono::seconds(5));
  REQUIRE(poll_for(10s, [&] { return metrics(control).value("tg_control_grpc_connections") == 2; }));
  auto stub = own_connection_stub(control.grpc_address());
  CHECK(list_tenants(*stub).error_code() == grpc::StatusCode::UNAVAILABLE);  // the cap holds

  REQUIRE(poll_for(40s, [&] { return metrics(control).value("tg_control_grpc_connections") == 0; }));
  auto next = own_connection_stub(control.grpc_address());
  const grpc::Status status = list_tenants(*next);
  INFO(status.error_message());
  CHECK(status.ok());
}

TEST_CASE("connections handed to gRPC: the receive size and max-connection-idle apply",
          "[control][grpc_connections]") {
  ControlOptions options;
  options.extra_args = {"--grpc-max-connection-idle", "300ms", "--grpc-probe-interval", "0"};
  ControlProcess control(options);
  auto stub = own_connection_stub(control.grpc_address());

  // Over 4 MiB + 64 KiB: refused by gRPC before any handler (no token file,
  // so a request that reached Apply would be answered about its YAML).
  v1::ApplyRequest large;
  large.set_yaml(std::string(4 * 1024 * 1024 + 128 * 1024, '#'));
  v1::ApplyResponse out;
  const grpc::Status refused = stub->Apply(admin_context({}, std::chrono::seconds(30)).get(), large, &out);
  INFO(refused.error_message());
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  v1::ApplyRequest small;
  small.set_yaml("tenants:\n  - id: a\n");
  const grpc::Status applied = stub->Apply(admin_context().get(), small, &out);
  INFO(applied.error_message());
  CHECK(applied.ok());

  // Idle for 300 ms: gRPC closes the connection and the gauge follows,
  // although the client keeps its channel.
  REQUIRE(poll_for(10s, [&] { return metrics(control).value("tg_control_grpc_connections") == 0; }));
  CHECK(list_tenants(*stub).ok());  // the channel reconnects
  CHECK(metrics(control).value("tg_control_grpc_connections_accepted_total") == 2);
}

TEST_CASE("a gRPC connection cap above what the open-files limit allows is refused at start",
          "[control][grpc_connections]") {
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE(limit.rlim_max != RLIM_INFINITY);
  REQUIRE(limit.rlim_max > 256);
  const std::uint64_t allowed = (limit.rlim_max - 256) / 2;
  TempDir dir;
  const Run run = run_to_exit(dir, {"--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--grpc-max-connections",
                                    std::to_string(allowed + 1)});
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(run.status->describe() == "exit 1");
  CHECK(run.log.find("tg-control: --grpc-max-connections " + std::to_string(allowed + 1) +
                     ": the open-files limit (RLIMIT_NOFILE) is " + std::to_string(limit.rlim_max) +
                     ", which allows at most " + std::to_string(allowed) + " gRPC connections") != std::string::npos);
}

TEST_CASE("the gRPC port on IPv6 loopback, port 0: the ready file has the real port and calls work",
          "[control][grpc_connections]") {
  TempDir dir;
  ChildProcess child(control_binary(),
                     {"--db", dir.file("v6.db").string(), "--grpc", "[::1]:0", "--http", "127.0.0.1:0",
                      "--ready-file", dir.file("ready").string()},
                     dir.file("v6.log"));
  std::string ready;
  const bool written = poll_for(15s, [&] {
    ready = read_file(dir.file("ready"));
    return ready.find("\nhttp=") != std::string::npos;
  });
  INFO(child.log_tail());
  REQUIRE(written);
  REQUIRE(ready.rfind("grpc=[::1]:", 0) == 0);
  const std::string address = ready.substr(5, ready.find('\n') - 5);
  CHECK(address != "[::1]:0");
  auto stub = own_connection_stub(address);
  const grpc::Status status = list_tenants(*stub);
  INFO(status.error_message());
  CHECK(status.ok());
  child.kill();
}
