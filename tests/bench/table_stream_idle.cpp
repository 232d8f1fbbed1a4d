// tg-bench-idle-streams: what table streams that never read, and proxies that
// come and go under ever new node ids, cost tg-control (not run by CI;
// tests/bench/table_stream_idle.sh drives it and reads tg-control's RSS).
//
//   tg-bench-idle-streams --server 127.0.0.1:7000 --mode idle --streams 300
//     opens N Discovery.StreamTable calls, each on its own connection, sends a
//     hello (node idle-<i>, nothing applied) and never reads: tg-control
//     writes the welcome, then the whole table, which stays in flight. Waits
//     until ListProxies shows every stream sent the newest version, prints
//     "ready streams=N", then holds the streams until it is stopped.
//   tg-bench-idle-streams --server 127.0.0.1:7000 --mode churn --streams 20000
//     one connection; per node id churn-<i>: a stream, a hello, the welcome
//     read, the stream closed. Prints "done streams=N records=R" (R: the
//     proxy records ListProxies --all returns).
#include "tenantgate/v1/admin.grpc.pb.h"
#include "tenantgate/v1/discovery.grpc.pb.h"

#include <CLI/CLI.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace v1 = tenantgate::v1;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<grpc::Channel> channel_to(const std::string& server, bool own_connection) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  // A channel of its own subchannel pool opens its own connection, as a
  // proxy process would.
  if (own_connection) {
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // A proxy that reads nothing: the stream's flow-control window stays at
    // 64 KiB (no BDP probing growing it), so tg-control keeps the rest of
    // each write in its own buffers, as with a peer that stopped reading.
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65535);
  }
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
}

v1::StreamTableRequest hello(const std::string& node) {
  v1::StreamTableRequest r;
  r.mutable_hello()->set_node_id(node);
  r.mutable_hello()->set_boot_id(node + "-boot");
  r.mutable_hello()->set_listen("127.0.0.1:1");
  r.mutable_hello()->set_proxy_version("bench");
  return r;
}

v1::ListProxiesResponse list_proxies(v1::Admin::Stub& admin, bool all) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListProxiesRequest request;
  request.set_all(all);
  v1::ListProxiesResponse response;
  const grpc::Status status = admin.ListProxies(&context, request, &response);
  if (!status.ok()) std::cerr << "ListProxies: " << status.error_message() << "\n";
  return response;
}

struct Idle {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Discovery::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamTableRequest, v1::StreamTableResponse>> stream;
};

int idle_mode(const std::string& server, int n, v1::Admin::Stub& admin) {
  std::vector<std::unique_ptr<Idle>> streams;
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<Idle>();
    s->channel = channel_to(server, true);
    s->stub = v1::Discovery::NewStub(s->channel);
    s->stream = s->stub->StreamTable(&s->context);
    if (!s->stream->Write(hello("idle-" + std::to_string(i)))) {
      std::cerr << "stream " << i << ": the hello could not be written\n";
      return 1;
    }
    streams.push_back(std::move(s));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    const v1::ListProxiesResponse listed = list_proxies(admin, false);
    int sent = 0;
    for (const v1::ProxyStatus& p : listed.proxies())
      if (p.connected() && p.sent().counter() == listed.newest().counter() && p.sent().counter() != 0) ++sent;
    if (sent == n) break;
    if (Clock::now() > deadline) {
      std::cerr << "only " << sent << " of " << n << " streams were sent the table within 120 s\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cout << "ready streams=" << n << std::endl;
  // Held until the process is stopped (SIGTERM from the script).
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

int churn_mode(const std::string& server, int n, v1::Admin::Stub& admin) {
  auto channel = channel_to(server, false);
  auto stub = v1::Discovery::NewStub(channel);
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext context;
    auto stream = stub->StreamTable(&context);
    v1::StreamTableResponse welcome;
    if (!stream->Write(hello("churn-" + std::to_string(i))) || !stream->Read(&welcome) || !welcome.has_welcome()) {
      std::cerr << "stream " << i << ": no welcome\n";
      return 1;
    }
    context.TryCancel();
    stream->Finish();
  }
  // The last disconnect reaches the owner loop after the cancel: wait until
  // no churn stream is listed as connected.
  v1::ListProxiesResponse listed;
  for (int attempt = 0; attempt < 100; ++attempt) {
    listed = list_proxies(admin, true);
    bool connected = false;
    for (const v1::ProxyStatus& p : listed.proxies()) connected |= p.connected();
    if (!connected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "done streams=" << n << " records=" << listed.proxies_size() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tg-bench-idle-streams: table streams that never read, node ids that churn"};
  std::string server, mode = "idle";
  int streams = 300;
  app.add_option("--server", server, "tg-control gRPC address")->required();
  app.add_option("--mode", mode, "idle | churn")->check(CLI::IsMember({"idle", "churn"}));
  app.add_option("--streams", streams, "streams (idle) or node ids (churn)")->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  auto admin = v1::Admin::NewStub(channel_to(server, false));
  return mode == "idle" ? idle_mode(server, streams, *admin) : churn_mode(server, streams, *admin);
}
