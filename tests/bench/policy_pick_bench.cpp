// Cost of one pick per balancing policy, with 3, 10 and 100 instances, and of
// the request-key hash of the hash policies. A microbenchmark, not a test:
// built with the tests (TG_BUILD_TESTS), never run by ctest or CI.
//
//   build/bin/policy-pick-bench [picks per case, default 2000000]
//
// Each case builds a Snapshot and a WorkerTable as the proxy does, then
// times `picks` calls of balancing::pick with rotating precomputed key
// hashes (hash policies), random in-flight counts (least_request,
// peak_ewma) and measured EWMA estimates (peak_ewma). Reports ns per call.
#include "balancing/balancer.hpp"
#include "balancing/hash_key.hpp"
#include "hashing/stable_hash.hpp"
#include "http/message_head.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace tg::proxy;
using tg::config::LbPolicy;

namespace {

using Clock = std::chrono::steady_clock;

tg::config::Config config_with(LbPolicy policy, int n, bool equal_weights) {
  tg::config::Config config;
  tg::config::Service s;
  s.name = "svc";
  s.lb = policy;
  for (int i = 0; i < n; ++i) {
    tg::config::Instance inst;
    inst.host = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    inst.port = 8080;
    inst.address = inst.host + ":8080";
    inst.id = "svc/" + inst.address;
    inst.weight = equal_weights ? 1 : static_cast<std::uint32_t>(1 + i % 3);
    s.instances.push_back(inst);
  }
  config.services.push_back(s);
  return config;
}

double bench_pick(LbPolicy policy, int n, bool equal_weights, int picks, std::uint64_t& sink) {
  std::string error;
  auto snapshot = Snapshot::build(config_with(policy, n, equal_weights), 1, "", error);
  if (!snapshot) {
    std::fprintf(stderr, "%s\n", error.c_str());
    std::exit(1);
  }
  LocalPtr<WorkerTable> table = WorkerTable::build(snapshot, nullptr);
  balancing::Random random(12345);
  const std::uint64_t now_ms = 1'000'000;
  for (auto& instance : table->instances) {
    instance->in_flight = static_cast<std::uint32_t>(random.below(4));
    instance->ewma.observe(1.0 + static_cast<double>(random.below(1000)) / 100.0, now_ms - random.below(5000));
  }
  std::vector<std::uint64_t> keys(4096);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = hashing::stable_hash("user-" + std::to_string(i));
  const ServiceDef& service = snapshot->services[0];
  // Warm-up, then the timed loop.
  for (int i = 0; i < 10'000; ++i)
    sink += static_cast<std::uint64_t>(
        balancing::pick(service, *snapshot, *table, {{}, keys[i & 4095], now_ms}, random));
  const auto start = Clock::now();
  for (int i = 0; i < picks; ++i)
    sink += static_cast<std::uint64_t>(
        balancing::pick(service, *snapshot, *table, {{}, keys[i & 4095], now_ms + (i >> 10)}, random));
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / picks;
}

// request_key_hash over a parsed head of 12 headers.
double bench_key(const char* what, LbPolicy policy, tg::config::HashKey key, const std::string& extra,
                 const std::vector<balancing::Cidr>& trusted, int calls, std::uint64_t& sink) {
  const std::string text = "GET /api/v1/items?id=7 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench/1.0\r\n"
                           "Accept: */*\r\nAccept-Encoding: gzip\r\nAccept-Language: en\r\nX-Request-Id: abc-123\r\n"
                           "Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
                           "Cookie: theme=dark; sid=s-123456; lang=en\r\nX-Tenant-ID: acme\r\n" +
                           extra + "Connection: keep-alive\r\n\r\n";
  std::vector<http::HeaderField> fields(100);
  http::RequestHead head;
  std::size_t scanned = 0;
  if (http::parse_request(text.data(), text.size(), scanned, {}, fields.data(), head) != http::ParseStatus::complete) {
    std::fprintf(stderr, "bench request did not parse\n");
    std::exit(1);
  }
  const balancing::IpAddress peer = *balancing::parse_ip("10.1.2.3");
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i) sink += balancing::request_key_hash(policy, key, head, text.data(), peer, trusted);
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / calls;
  std::printf("  %-44s %8.1f ns\n", what, ns);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  const int picks = argc > 1 ? std::atoi(argv[1]) : 2'000'000;
  std::uint64_t sink = 0;
  std::printf("ns per pick (%d picks per case; weights 1..3, or all 1 where marked w=1)\n", picks);
  std::printf("  %-20s %10s %10s %10s\n", "policy", "n=3", "n=10", "n=100");
  const auto row = [&](LbPolicy policy, bool equal_weights) {
    const std::string name = std::string(tg::config::to_string(policy)) + (equal_weights ? " (w=1)" : "");
    std::printf("  %-20s", name.c_str());
    for (int n : {3, 10, 100}) std::printf(" %10.1f", bench_pick(policy, n, equal_weights, picks, sink));
    std::printf("\n");
  };
  row(LbPolicy::round_robin, true);
  for (LbPolicy policy : {LbPolicy::round_robin, LbPolicy::weighted, LbPolicy::least_request, LbPolicy::peak_ewma,
                          LbPolicy::ip_hash, LbPolicy::ring_hash, LbPolicy::maglev})
    row(policy, false);
  row(LbPolicy::least_request, true);
  row(LbPolicy::peak_ewma, true);
  std::printf("ns per request key hash (12-header request)\n");
  std::vector<balancing::Cidr> trusted;
  std::string error;
  balancing::parse_cidr_list("10.0.0.0/8,192.168.0.0/16", trusted, error);
  using Kind = tg::config::HashKey::Kind;
  bench_key("header X-User-ID", LbPolicy::ring_hash, {Kind::header, "x-user-id"}, "X-User-ID: user-42\r\n", {},
            picks, sink);
  bench_key("cookie sid", LbPolicy::ring_hash, {Kind::cookie, "sid"}, "", {}, picks, sink);
  bench_key("client ip, untrusted peer", LbPolicy::ip_hash, {}, "X-Forwarded-For: 203.0.113.9\r\n", {}, picks, sink);
  bench_key("client ip, trusted peer, XFF of 3", LbPolicy::ip_hash, {},
            "X-Forwarded-For: 198.51.100.1, 203.0.113.9, 10.9.9.9\r\n", trusted, picks, sink);
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(sink));
  return 0;
}
