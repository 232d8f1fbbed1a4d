// tg-bench-admin: Admin API write load on a running tg-control (not run by CI;
// tests/bench/control_admin.sh drives it).
//
//   tg-bench-admin --server 127.0.0.1:7000 --clients 8 --seconds 10 --kind routes
//
// N client threads, each with its own channel (own HTTP/2 connection), issue
// one write at a time for T seconds: CreateRoute (a new route on one service)
// or RegisterInstance (a new instance of that service). Each call has a 10 s
// deadline and returns only after tg-control committed it (admin.proto), so
// the latency is the client-observed commit latency. Prints one key=value
// line per figure: ops, errors, ops_per_s, p50_ms, p90_ms, p99_ms, max_ms.
#include "tenantgate/v1/admin.grpc.pb.h"

#include <CLI/CLI.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace v1 = tenantgate::v1;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string server = "127.0.0.1:7000";
  int clients = 8;
  double seconds = 10;
  std::string kind = "routes";
  std::string prefix = "bench";
  std::string token;
};

struct ClientResult {
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t errors = 0;
  std::string first_error;
};

std::unique_ptr<v1::Admin::Stub> new_stub(const std::string& server) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per client
  return v1::Admin::NewStub(
      grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), arguments));
}

void prepare(grpc::ClientContext& context, const Options& options) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!options.token.empty()) context.AddMetadata("authorization", "Bearer " + options.token);
}

// The service every write refers to; created unless it exists.
bool ensure_service(const Options& options, const std::string& name) {
  auto stub = new_stub(options.server);
  grpc::ClientContext context;
  prepare(context, options);
  v1::CreateServiceRequest request;
  request.mutable_service()->set_name(name);
  v1::Service response;
  const grpc::Status status = stub->CreateService(&context, request, &response);
  if (status.ok() || status.error_code() == grpc::StatusCode::ALREADY_EXISTS) return true;
  std::cerr << "tg-bench-admin: CreateService " << name << ": " << status.error_message() << "\n";
  return false;
}

void run_client(const Options& options, int client, const std::string& service, Clock::time_point end,
                ClientResult& result) {
  auto stub = new_stub(options.server);
  for (std::uint64_t n = 0; Clock::now() < end; ++n) {
    const std::string name = options.prefix + "-c" + std::to_string(client) + "-" + std::to_string(n);
    grpc::ClientContext context;
    prepare(context, options);
    const auto start = Clock::now();
    grpc::Status status;
    if (options.kind == "routes") {
      v1::CreateRouteRequest request;
      request.mutable_route()->set_name(name);
      request.mutable_route()->set_service(service);
      request.mutable_route()->mutable_match()->set_path_prefix("/" + name + "/");
      v1::Route response;
      status = stub->CreateRoute(&context, request, &response);
    } else {
      v1::RegisterInstanceRequest request;
      request.mutable_instance()->set_id(name);
      request.mutable_instance()->set_service(service);
      // 10.x.y.z:port from the counter: unique, valid addresses.
      const std::uint64_t k = n * 64 + static_cast<std::uint64_t>(client);
      request.mutable_instance()->set_address("10." + std::to_string((k >> 16) & 255) + "." +
                                              std::to_string((k >> 8) & 255) + "." +
                                              std::to_string(k & 255) + ":" + std::to_string(1024 + (k >> 24)));
      v1::Instance response;
      status = stub->RegisterInstance(&context, request, &response);
    }
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    if (status.ok()) {
      result.latencies_us.push_back(static_cast<std::uint32_t>(took.count()));
    } else {
      if (result.errors++ == 0) result.first_error = name + ": " + status.error_message();
    }
  }
}

double percentile_ms(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t index = std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app("tg-bench-admin: Admin API write throughput and latency against a running tg-control");
  app.add_option("--server", options.server, "tg-control Admin address")->capture_default_str();
  app.add_option("--clients", options.clients, "concurrent clients, one write in flight each")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--seconds", options.seconds, "how long to write")->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  app.add_option("--kind", options.kind, "what to create")->check(CLI::IsMember({"routes", "instances"}))->capture_default_str();
  app.add_option("--prefix", options.prefix, "name prefix; give each run its own")->capture_default_str();
  app.add_option("--token", options.token, "bearer token when tg-control has --token-file");
  CLI11_PARSE(app, argc, argv);

  const std::string service = options.prefix + "-svc";
  if (!ensure_service(options, service)) return 1;

  std::vector<ClientResult> results(static_cast<std::size_t>(options.clients));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
  for (int c = 0; c < options.clients; ++c) {
    threads.emplace_back(run_client, std::cref(options), c, std::cref(service), end,
                         std::ref(results[static_cast<std::size_t>(c)]));
  }
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<std::uint32_t> all;
  std::uint64_t errors = 0;
  std::string first_error;
  for (const auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(all.begin(), all.end());
  std::printf("kind=%s\nclients=%d\nseconds=%.2f\nops=%zu\nerrors=%llu\nops_per_s=%.0f\n", options.kind.c_str(),
              options.clients, elapsed, all.size(), static_cast<unsigned long long>(errors),
              static_cast<double>(all.size()) / elapsed);
  std::printf("p50_ms=%.2f\np90_ms=%.2f\np99_ms=%.2f\nmax_ms=%.2f\n", percentile_ms(all, 0.50),
              percentile_ms(all, 0.90), percentile_ms(all, 0.99), all.empty() ? 0.0 : all.back() / 1000.0);
  if (errors > 0) std::fprintf(stderr, "tg-bench-admin: %llu errors; first: %s\n",
                               static_cast<unsigned long long>(errors), first_error.c_str());
  return errors > 0 ? 1 : 0;
}
