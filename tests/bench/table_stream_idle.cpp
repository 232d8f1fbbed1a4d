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
//   tg-bench-idle-streams --server 127.0.0.1:7000 --mode fanout --streams 1000 --rounds 20 [--control-pid P]
//     N light subscribers (node fanout-<i>), each on its own connection and
//     thread, that read every update and ACK it at once without applying it.
//     The first gets the whole table; the others name its version, registry
//     and digest in their hello, as proxies restarted with a saved table, so
//     they start current without N copies of the table in flight. Then each
//     round creates a route (a small change: a delta to every subscriber) and
//     times, from the moment CreateRoute returned, until every subscriber
//     ACKed it. Prints p50/p90/p99/max, and with --control-pid tg-control's
//     RSS before the subscribers connected and once all were current. With
//     --rounds 0 it prints "ready" and holds the subscribers (ACKing what
//     comes) until stopped, beside real proxies measured by tg-bench-stream.
#include "tenantgate/v1/admin.grpc.pb.h"
#include "tenantgate/v1/discovery.grpc.pb.h"

#include <CLI/CLI.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
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

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// One light subscriber: ACKs every update it reads (newest counter kept in
// `acked`), until the stream ends.
struct Subscriber {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Discovery::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamTableRequest, v1::StreamTableResponse>> stream;
  std::atomic<std::uint64_t> acked{0};
  std::thread thread;

  void run() {
    for (;;) {
      auto update = std::make_unique<v1::StreamTableResponse>();  // freed after each: no table kept
      if (!stream->Read(update.get())) return;
      if (update->has_welcome()) continue;
      v1::StreamTableRequest answer;
      *answer.mutable_ack()->mutable_version() = update->version();
      if (!stream->Write(answer)) return;
      acked = update->version().counter();
    }
  }
};

int fanout_mode(const std::string& server, int n, int rounds, int control_pid, v1::Admin::Stub& admin) {
  const long before_kib = control_pid > 0 ? rss_kib(control_pid) : 0;
  std::vector<std::unique_ptr<Subscriber>> subs;
  // The first subscriber gets the whole table: its version, registry and
  // digest let the others start current.
  v1::StreamTableRequest first_hello = hello("fanout-0");
  auto open = [&](const v1::StreamTableRequest& request) {
    auto s = std::make_unique<Subscriber>();
    s->channel = channel_to(server, true);
    s->stub = v1::Discovery::NewStub(s->channel);
    s->stream = s->stub->StreamTable(&s->context);
    if (!s->stream->Write(request)) {
      std::cerr << "a hello could not be written\n";
      std::exit(1);
    }
    return s;
  };
  auto first = open(first_hello);
  v1::StreamTableResponse full;
  while (first->stream->Read(&full) && full.has_welcome()) {
  }
  if (!full.has_config() && !full.has_delta()) {
    std::cerr << "fanout-0: no table\n";
    return 1;
  }
  {
    v1::StreamTableRequest answer;
    *answer.mutable_ack()->mutable_version() = full.version();
    first->stream->Write(answer);
    first->acked = full.version().counter();
  }
  subs.push_back(std::move(first));
  for (int i = 1; i < n; ++i) {
    v1::StreamTableRequest request = hello("fanout-" + std::to_string(i));
    *request.mutable_hello()->mutable_applied() = full.version();
    request.mutable_hello()->set_registry_id(full.registry_id());
    request.mutable_hello()->set_digest(full.digest());
    subs.push_back(open(request));
  }
  full.Clear();
  for (auto& s : subs) s->thread = std::thread([sub = s.get()] { sub->run(); });
  // Current: every subscriber listed as having the newest version.
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  for (;;) {
    const v1::ListProxiesResponse listed = list_proxies(admin, false);
    int current = 0;
    for (const v1::ProxyStatus& p : listed.proxies())
      if (p.node_id().rfind("fanout-", 0) == 0 && p.connected() && p.applied().counter() == listed.newest().counter())
        ++current;
    if (current == n) break;
    if (Clock::now() > deadline) {
      std::cerr << "only " << current << " of " << n << " subscribers current within 300 s\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long after_kib = control_pid > 0 ? rss_kib(control_pid) : 0;
  if (rounds == 0) {
    std::cout << "ready subscribers=" << n << std::endl;
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::CreateServiceRequest request;
    request.mutable_service()->set_name("bench-fanout");
    v1::Service created;
    admin.CreateService(&context, request, &created);  // ALREADY_EXISTS on a second run is fine
  }
  std::vector<double> times;
  std::uint64_t largest_bytes = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t before = list_proxies(admin, false).newest().counter();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::CreateRouteRequest request;
    request.mutable_route()->set_name("fanout-" + std::to_string(round) + "-" + std::to_string(before));
    request.mutable_route()->set_service("bench-fanout");
    request.mutable_route()->mutable_match()->set_host(request.route().name() + ".bench");
    v1::Route route;
    const grpc::Status status = admin.CreateRoute(&context, request, &route);
    const auto returned = Clock::now();
    if (!status.ok()) {
      std::cerr << "CreateRoute: " << status.error_message() << "\n";
      return 1;
    }
    const auto until = returned + std::chrono::seconds(60);
    for (;;) {
      bool all = true;
      for (const auto& s : subs) all = all && s->acked.load() > before;
      if (all) break;
      if (Clock::now() > until) {
        std::cerr << "round " << round << ": not every subscriber ACKed within 60 s\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - returned).count());
    const v1::ListProxiesResponse listed = list_proxies(admin, false);
    for (const v1::ProxyStatus& p : listed.proxies())
      if (p.node_id().rfind("fanout-", 0) == 0) largest_bytes = std::max<std::uint64_t>(largest_bytes, p.last_update_bytes());
  }
  std::printf("mode=fanout\nsubscribers=%d\nrounds=%d\n", n, rounds);
  std::printf("all_acked_p50_ms=%.1f\nall_acked_p90_ms=%.1f\nall_acked_p99_ms=%.1f\nall_acked_max_ms=%.1f\n",
              percentile(times, 0.5), percentile(times, 0.9), percentile(times, 0.99), percentile(times, 1.0));
  std::printf("update_bytes_max=%llu\n", static_cast<unsigned long long>(largest_bytes));
  if (control_pid > 0)
    std::printf("control_rss_kib_before=%ld\ncontrol_rss_kib_after=%ld\ncontrol_kib_per_subscriber=%.1f\n", before_kib,
                after_kib, static_cast<double>(after_kib - before_kib) / n);
  std::fflush(stdout);
  for (auto& s : subs) s->context.TryCancel();
  for (auto& s : subs) s->thread.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tg-bench-idle-streams: table streams that never read, node ids that churn"};
  std::string server, mode = "idle";
  int streams = 300, rounds = 20, control_pid = 0;
  app.add_option("--server", server, "tg-control gRPC address")->required();
  app.add_option("--mode", mode, "idle | churn | fanout")->check(CLI::IsMember({"idle", "churn", "fanout"}));
  app.add_option("--rounds", rounds, "fanout: changes to time (0: hold the subscribers until stopped)");
  app.add_option("--control-pid", control_pid, "fanout: tg-control's pid, for its RSS");
  app.add_option("--streams", streams, "streams (idle) or node ids (churn)")->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  auto admin = v1::Admin::NewStub(channel_to(server, false));
  if (mode == "fanout") return fanout_mode(server, streams, rounds, control_pid, *admin);
  return mode == "idle" ? idle_mode(server, streams, *admin) : churn_mode(server, streams, *admin);
}
