// tg-bench-stream: how long a change takes to reach every proxy subscribed to
// tg-control (not run by CI; tests/bench/table_stream.sh drives it).
//
//   tg-bench-stream --server 127.0.0.1:7000 --proxies ports.txt --mode route --rounds 100
//
// --mode route: each round creates a route (CreateRoute, host r<i>.<run>.bench)
//   on a service without instances, and from the moment the call returned polls
//   every proxy (one keep-alive connection each, GET / with that Host) until
//   none answers 404 any more (the proxy itself answers 503 no_instance once
//   it has the route: no backend is involved). Figures: the time until the
//   LAST proxy answered (p50/p90/p99/max over the rounds), and per proxy.
//   With --observe ack, also each proxy's own time to ACK and the update's
//   size on the wire (ListProxies last_update_bytes, largest over the proxies).
// --mode instance: each round registers an instance (RegisterInstance) on that
//   service; observed by ACK as above.
// --mode health: each round flips one instance between disabled and active
//   (SetInstanceState) and polls Admin.ListProxies until every proxy ACKed a
//   version newer than the one before the call (an ACK means all its workers
//   switched).
// Prints one key=value line per figure.
#include "tenantgate/v1/admin.grpc.pb.h"

#include <CLI/CLI.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace v1 = tenantgate::v1;
using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A blocking HTTP/1.1 keep-alive connection to one proxy; status of GET / for a host.
class Probe {
 public:
  explicit Probe(std::uint16_t port) : port_(port) {}
  ~Probe() { close_fd(); }
  Probe(Probe&& other) noexcept : port_(other.port_), fd_(other.fd_) { other.fd_ = -1; }

  int status(const std::string& host) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect_fd()) return 0;
      const std::string request = "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
      if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        const int code = read_response();
        if (code > 0) return code;
      }
      close_fd();
    }
    return 0;
  }

 private:
  bool connect_fd() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close_fd();
      return false;
    }
    return true;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Status code of one response (head + Content-Length body); 0 on error.
  int read_response() {
    std::string data;
    char buffer[4096];
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return 0;
      data.append(buffer, static_cast<std::size_t>(n));
      head_end = data.find("\r\n\r\n");
    }
    const int code = data.size() > 12 ? std::atoi(data.c_str() + 9) : 0;
    std::size_t length = 0;
    std::string lower = data.substr(0, head_end);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (auto pos = lower.find("\r\ncontent-length:"); pos != std::string::npos)
      length = std::strtoul(lower.c_str() + pos + 17, nullptr, 10);
    const bool close = lower.find("\r\nconnection: close") != std::string::npos;
    while (data.size() < head_end + 4 + length) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return 0;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    if (close) close_fd();
    return code;
  }

  std::uint16_t port_;
  int fd_ = -1;
};

struct Options {
  std::string server = "127.0.0.1:7000";
  std::string proxies_file;
  std::string mode = "route";
  int rounds = 100;
  std::string run = "b";
  double wait_connected = 120;
  std::string observe = "http";  // seconds to wait for every proxy to be connected and current first
};

void prepare(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

void check(const grpc::Status& status, const char* what, bool allow_exists = false) {
  if (status.ok() || (allow_exists && status.error_code() == grpc::StatusCode::ALREADY_EXISTS)) return;
  std::cerr << "tg-bench-stream: " << what << ": " << status.error_message() << "\n";
  std::exit(1);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void print_figures(const std::string& prefix, const std::vector<double>& values) {
  std::printf("%s_p50_ms=%.2f\n%s_p90_ms=%.2f\n%s_p99_ms=%.2f\n%s_max_ms=%.2f\n", prefix.c_str(),
              percentile(values, 0.5), prefix.c_str(), percentile(values, 0.9), prefix.c_str(),
              percentile(values, 0.99), prefix.c_str(), percentile(values, 1.0));
}

v1::ListProxiesResponse list_proxies(v1::Admin::Stub& stub) {
  grpc::ClientContext context;
  prepare(context);
  v1::ListProxiesResponse response;
  check(stub.ListProxies(&context, {}, &response), "ListProxies");
  return response;
}

// Only proxies whose node id starts with this count (--node-prefix): simulated
// subscribers (tg-bench-idle-streams --mode fanout) may share the stream.
std::string node_prefix;

bool counted(const v1::ProxyStatus& proxy) { return proxy.node_id().rfind(node_prefix, 0) == 0; }

bool all_at_least(const v1::ListProxiesResponse& list, std::uint64_t counter, std::size_t expected) {
  std::size_t current = 0;
  for (const auto& proxy : list.proxies())
    if (counted(proxy) && proxy.connected() && proxy.applied().generation() == list.newest().generation() &&
        proxy.applied().counter() >= counter)
      ++current;
  return current >= expected;
}

// Polls ListProxies until `expected` proxies ACKed version `counter` (of the
// newest generation) or later; records the time from `returned` until the
// last one (`last`) and until each one (`each`, as first seen), and the
// largest last_update_bytes among them. false after 60 s.
// The proxies' own time for each update (ListProxies last_update_apply_ms:
// from tg-control's write to the proxy's answer, transfer and apply), the
// largest per round.
std::vector<double> apply_ms;

bool wait_acked(v1::Admin::Stub& stub, std::uint64_t counter, std::size_t expected, Clock::time_point returned,
                std::vector<double>& last, std::vector<double>& each, std::vector<double>& bytes) {
  const auto deadline = returned + std::chrono::seconds(60);
  std::vector<std::string> seen;
  double largest = 0, slowest = 0;
  for (;;) {
    const v1::ListProxiesResponse list = list_proxies(stub);
    const double now = ms_between(returned, Clock::now());
    for (const auto& proxy : list.proxies()) {
      if (!counted(proxy) || !proxy.connected() || proxy.applied().generation() != list.newest().generation() ||
          proxy.applied().counter() < counter)
        continue;
      if (std::find(seen.begin(), seen.end(), proxy.node_id()) != seen.end()) continue;
      seen.push_back(proxy.node_id());
      each.push_back(now);
      largest = std::max(largest, static_cast<double>(proxy.last_update_bytes()));
      slowest = std::max(slowest, static_cast<double>(proxy.last_update_apply_ms()));
    }
    if (seen.size() >= expected) {
      last.push_back(now);
      bytes.push_back(largest);
      apply_ms.push_back(slowest);
      return true;
    }
    if (Clock::now() > deadline) {
      std::cerr << "tg-bench-stream: the change did not reach every proxy within 60 s\n";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

void print_bytes(std::vector<double> bytes) {
  if (bytes.empty()) return;
  print_figures("update_write_to_ack", apply_ms);
  std::sort(bytes.begin(), bytes.end());
  std::printf("update_bytes_min=%.0f\nupdate_bytes_max=%.0f\n", bytes.front(), bytes.back());
}

void create_service(v1::Admin::Stub& stub, const std::string& name) {
  grpc::ClientContext context;
  prepare(context);
  v1::CreateServiceRequest request;
  request.mutable_service()->set_name(name);
  v1::Service service;
  check(stub.CreateService(&context, request, &service), "CreateService", true);
}

// Each round registers one instance; every proxy's ACK observed as in route mode.
int instance_mode(const Options& options, v1::Admin::Stub& stub, std::size_t proxies) {
  create_service(stub, "bench-stream");
  while (!all_at_least(list_proxies(stub), list_proxies(stub).newest().counter(), proxies))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<double> last, each, call, bytes;
  for (int round = 0; round < options.rounds; ++round) {
    const std::uint64_t before = list_proxies(stub).newest().counter();
    grpc::ClientContext context;
    prepare(context);
    v1::RegisterInstanceRequest request;
    request.mutable_instance()->set_id("bench-" + options.run + "-" + std::to_string(round));
    request.mutable_instance()->set_service("bench-stream");
    request.mutable_instance()->set_address("127.0.0.1:" + std::to_string(10000 + round));
    v1::Instance instance;
    const auto called = Clock::now();
    check(stub.RegisterInstance(&context, request, &instance), "RegisterInstance");
    const auto returned = Clock::now();
    call.push_back(ms_between(called, returned));
    if (!wait_acked(stub, before + 1, proxies, returned, last, each, bytes)) return 1;
  }
  std::printf("mode=instance\nobserve=ack\nproxies=%zu\nrounds=%d\n", proxies, options.rounds);
  print_figures("admin_call", call);
  print_figures("all_proxies", last);
  print_figures("per_proxy_ack", each);
  print_bytes(bytes);
  return 0;
}

int route_mode(const Options& options, v1::Admin::Stub& stub, std::vector<Probe>& probes) {
  create_service(stub, "bench-stream");
  std::vector<double> last, each, call, bytes;
  std::size_t not_answering = 0;
  for (int round = 0; round < options.rounds; ++round) {
    const std::uint64_t before = list_proxies(stub).newest().counter();
    const std::string host = "r" + std::to_string(round) + "." + options.run + ".bench";
    grpc::ClientContext context;
    prepare(context);
    v1::CreateRouteRequest request;
    request.mutable_route()->set_name("bench-" + options.run + "-" + std::to_string(round));
    request.mutable_route()->set_service("bench-stream");
    request.mutable_route()->mutable_match()->set_host(host);
    v1::Route route;
    const auto called = Clock::now();
    check(stub.CreateRoute(&context, request, &route), "CreateRoute");
    const auto returned = Clock::now();
    call.push_back(ms_between(called, returned));
    if (options.observe == "ack") {
      // Every proxy ACKed a version newer than the one before the call: all
      // its workers serve the route. Then each proxy is asked once to confirm.
      if (!wait_acked(stub, before + 1, probes.size(), returned, last, each, bytes)) return 1;
      for (Probe& probe : probes) {
        const int status = probe.status(host);
        if (status == 404 || status == 0) ++not_answering;
      }
      continue;
    }
    std::vector<bool> done(probes.size(), false);
    std::size_t remaining = probes.size();
    const auto deadline = returned + std::chrono::seconds(30);
    while (remaining > 0) {
      for (std::size_t i = 0; i < probes.size(); ++i) {
        if (done[i]) continue;
        const int status = probes[i].status(host);
        if (status != 404 && status != 0) {
          done[i] = true;
          --remaining;
          each.push_back(ms_between(returned, Clock::now()));
        }
      }
      if (Clock::now() > deadline) {
        std::cerr << "tg-bench-stream: " << remaining << " proxies never answered for " << host << "\n";
        return 1;
      }
    }
    last.push_back(ms_between(returned, Clock::now()));
  }
  std::printf("mode=route\nobserve=%s\nproxies=%zu\nrounds=%d\n", options.observe.c_str(), probes.size(),
              options.rounds);
  print_figures("admin_call", call);
  print_figures("all_proxies", last);
  if (options.observe == "ack") {
    print_figures("per_proxy_ack", each);
    print_bytes(bytes);
    std::printf("not_answering_after_ack=%zu\n", not_answering);
    return not_answering == 0 ? 0 : 1;
  }
  print_figures("per_proxy", each);
  return 0;
}

int health_mode(const Options& options, v1::Admin::Stub& stub, std::size_t proxies) {
  const std::string service = "bench-health-" + options.run;
  {
    grpc::ClientContext context;
    prepare(context);
    v1::CreateServiceRequest request;
    request.mutable_service()->set_name(service);
    v1::Service created;
    check(stub.CreateService(&context, request, &created), "CreateService", true);
    for (int i = 1; i <= 2; ++i) {
      grpc::ClientContext c;
      prepare(c);
      v1::RegisterInstanceRequest r;
      r.mutable_instance()->set_id(service + "-" + std::to_string(i));
      r.mutable_instance()->set_service(service);
      r.mutable_instance()->set_address("127.0.0.1:" + std::to_string(9 + i));
      v1::Instance instance;
      check(stub.RegisterInstance(&c, r, &instance), "RegisterInstance", true);
    }
  }
  // Let the setup reach every proxy first.
  while (!all_at_least(list_proxies(stub), list_proxies(stub).newest().counter(), proxies))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<double> last;
  for (int round = 0; round < options.rounds; ++round) {
    const std::uint64_t before = list_proxies(stub).newest().counter();
    grpc::ClientContext context;
    prepare(context);
    v1::SetInstanceStateRequest request;
    request.set_id(service + "-1");
    request.set_admin_state(round % 2 == 0 ? v1::ADMIN_STATE_DISABLED : v1::ADMIN_STATE_ACTIVE);
    v1::Instance instance;
    check(stub.SetInstanceState(&context, request, &instance), "SetInstanceState");
    const auto returned = Clock::now();
    const auto deadline = returned + std::chrono::seconds(30);
    while (!all_at_least(list_proxies(stub), before + 1, proxies)) {
      if (Clock::now() > deadline) {
        std::cerr << "tg-bench-stream: the health change did not reach every proxy within 30 s\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    last.push_back(ms_between(returned, Clock::now()));
  }
  std::printf("mode=health\nproxies=%zu\nrounds=%d\n", proxies, options.rounds);
  print_figures("all_proxies_acked", last);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tg-bench-stream: time for a registry change to reach every subscribed proxy"};
  Options options;
  app.add_option("--server", options.server, "tg-control gRPC address")->capture_default_str();
  app.add_option("--proxies", options.proxies_file, "file with the proxies' listen ports, one per line")
      ->required();
  app.add_option("--mode", options.mode, "route | instance | health")
      ->check(CLI::IsMember({"route", "instance", "health"}));
  app.add_option("--rounds", options.rounds, "changes to time")->capture_default_str();
  app.add_option("--observe", options.observe,
                 "route mode: http = poll every proxy over HTTP until none answers 404 (the probes load the "
                 "proxies too); ack = poll ListProxies until every proxy ACKed, then check each over HTTP once")
      ->check(CLI::IsMember({"http", "ack"}))
      ->capture_default_str();
  app.add_option("--run", options.run, "name part that keeps runs apart")->capture_default_str();
  app.add_option("--node-prefix", node_prefix, "count only proxies whose node id starts with this");
  app.add_option("--wait-connected", options.wait_connected,
                 "seconds to wait for every proxy to be connected and current before timing")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<Probe> probes;
  std::ifstream in(options.proxies_file);
  for (unsigned port = 0; in >> port;) probes.emplace_back(static_cast<std::uint16_t>(port));
  if (probes.empty()) {
    std::cerr << "tg-bench-stream: no ports in " << options.proxies_file << "\n";
    return 2;
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  auto stub = v1::Admin::NewStub(
      grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), arguments));
  // Every proxy connected and on the newest version before anything is timed.
  const auto started = Clock::now();
  for (;;) {
    const auto list = list_proxies(*stub);
    if (all_at_least(list, list.newest().counter(), probes.size())) break;
    if (ms_between(started, Clock::now()) > options.wait_connected * 1000) {
      std::cerr << "tg-bench-stream: " << probes.size() << " proxies not connected and current after "
                << options.wait_connected << " s\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("initial_sync_ms=%.0f\n", ms_between(started, Clock::now()));
  {
    // What the proxies' first table took them (ListProxies: from its write
    // to the ACK: transfer and apply), the slowest.
    std::int64_t slowest = 0;
    const v1::ListProxiesResponse list = list_proxies(*stub);
    for (const auto& proxy : list.proxies())
      if (counted(proxy)) slowest = std::max(slowest, proxy.last_update_apply_ms());
    std::printf("initial_update_apply_ms_max=%lld\n", static_cast<long long>(slowest));
  }
  if (options.mode == "health") return health_mode(options, *stub, probes.size());
  if (options.mode == "instance") return instance_mode(options, *stub, probes.size());
  return route_mode(options, *stub, probes);
}
