// The load-aware and hash policies under real traffic (docs/configuration.md lb; docs/life-of-a-request.md phase 5):
// least_request, peak_ewma, ip_hash, ring_hash and maglev through a real
// tg-proxy to in-test backends, each answer naming its backend in
// X-Backend-Name. Also across a SIGHUP table change (hash policies move about
// 1/(n+1) of the keys; in-flight counts and latency estimates carry over),
// two proxies agreeing on placement, and --trusted-proxies.
//
// One worker unless said otherwise, so one balancer sees every request.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/process.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace tg::itest;

namespace {

struct Backends {
  explicit Backends(int n, Behaviour behaviour = Behaviour::fixed(200, "ok")) {
    for (int i = 0; i < n; ++i) add(behaviour);
  }
  Backend& add(Behaviour behaviour = Behaviour::fixed(200, "ok")) {
    const std::string name(1, static_cast<char>('a' + all.size()));
    all.push_back(std::make_unique<Backend>(name, std::move(behaviour)));
    return *all.back();
  }
  Backend& operator[](std::size_t i) { return *all[i]; }
  // The first `count` backends (all by default) as instances with `weights`.
  std::vector<InstanceSpec> instances(std::size_t count = 0, const std::vector<unsigned>& weights = {}) const {
    std::vector<InstanceSpec> out;
    for (std::size_t i = 0; i < (count ? count : all.size()); ++i)
      out.emplace_back(all[i]->address(), weights.empty() ? 1u : weights[i]);
    return out;
  }
  std::vector<std::unique_ptr<Backend>> all;
};

std::string config(const std::vector<InstanceSpec>& instances, const std::string& policy,
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> settings{"lb: { policy: " + policy + " }"};
  settings.insert(settings.end(), extra.begin(), extra.end());
  return single_service_config(instances, settings);
}

// The backend that answered; fails the test on anything but 200.
std::string served_by(HttpClient& client, HeaderList headers = {}, const std::string& target = "/p") {
  const HttpResponse response = client.get(target, std::move(headers));
  if (response.status != 200) FAIL("answered:\n" << response.describe());
  return response.header("x-backend-name");
}

std::map<std::string, int> tally(HttpClient& client, int count, const std::string& target = "/p") {
  std::map<std::string, int> counts;
  for (int i = 0; i < count; ++i) ++counts[served_by(client, {}, target)];
  return counts;
}

std::string describe(const std::map<std::string, int>& counts) {
  std::string text;
  for (const auto& [name, count] : counts) text += name + "=" + std::to_string(count) + " ";
  return text;
}

// Owner of each key, asked through `client`: key k is header X-User-ID
// "user-k", or for ip_hash (behind a trusted proxy) the forwarded client
// address 198.18.k/256.k%256.
std::vector<std::string> owners_of_keys(HttpClient& client, int keys, const std::string& policy = "ring_hash") {
  std::vector<std::string> owners;
  for (int k = 0; k < keys; ++k) {
    const HeaderList key = policy == "ip_hash"
                               ? HeaderList{{"X-Forwarded-For", "198.18." + std::to_string(k / 256) + "." +
                                                                    std::to_string(k % 256)}}
                               : HeaderList{{"X-User-ID", "user-" + std::to_string(k)}};
    owners.push_back(served_by(client, key));
  }
  return owners;
}

}  // namespace

// ---- least_request ----------------------------------------------------------

TEST_CASE("least_request spreads sequential traffic by weight", "[proxy][lb][policies]") {
  Backends backends(3);
  ProxyProcess proxy(config(backends.instances(0, {1, 1, 2}), "least_request"));
  HttpClient client(proxy.port());
  auto counts = tally(client, 400);
  INFO(describe(counts));
  // All idle at each pick: the weighted first draw wins the tie (25/25/50).
  CHECK(counts.at("a") >= 100 * 0.65);
  CHECK(counts.at("a") <= 100 * 1.35);
  CHECK(counts.at("b") >= 100 * 0.65);
  CHECK(counts.at("b") <= 100 * 1.35);
  CHECK(counts.at("c") >= 200 * 0.8);
  CHECK(counts.at("c") <= 200 * 1.2);
}

TEST_CASE("least_request keeps traffic off a busy instance, across a SIGHUP that adds one",
          "[proxy][lb][policies][reload]") {
  Backends backends(3);
  for (auto& b : backends.all) b->on_path("/slow", Behaviour::fixed(200, "slow").with_delay(1500ms));
  backends.add();  // d: not in the first table
  ProxyProcess proxy(config(backends.instances(3), "least_request"));

  // One request held by an instance: it has 1 in flight, the others 0.
  HttpClient slow(proxy.port());
  HttpRequest request;
  request.target = "/slow";
  slow.send_request(request);
  REQUIRE(poll_for(3s, [&] { return backends[0].requests() + backends[1].requests() + backends[2].requests() == 1; }));
  std::string busy;
  for (int i = 0; i < 3; ++i)
    if (backends[i].requests() == 1) busy = backends[i].name();
  const Labels busy_instance{{"instance", "svc/" + backends[static_cast<std::size_t>(busy[0] - 'a')].address()}};

  HttpClient client(proxy.port());
  auto before = tally(client, 60);
  INFO("busy " << busy << "; before the reload " << describe(before));
  CHECK(before.count(busy) == 0);

  // The table changes under the held request: its in-flight count carries over.
  proxy.write_config(config(backends.instances(4), "least_request"));
  REQUIRE(proxy.reload());
  CHECK(proxy.metrics().sum("tg_upstream_in_flight", busy_instance) == 1);
  auto after = tally(client, 90);
  INFO("after the reload " << describe(after));
  CHECK(after.count(busy) == 0);
  CHECK(after["d"] >= 15);  // the new instance shares the traffic at once

  // The held request ends on the old table's instance state; the count drops
  // and the instance is chosen again.
  CHECK(slow.read_response().status == 200);
  CHECK(metric_settles(proxy, "tg_upstream_in_flight", busy_instance, 0) == 0);
  CHECK(tally(client, 80)[busy] >= 5);  // about 20 expected
}

TEST_CASE("least_request under concurrency sends less to a slow instance", "[proxy][lb][policies]") {
  Backends backends(3);
  backends[0].set_behaviour(Behaviour::fixed(200, "slow").with_delay(40ms));
  ProxyProcess proxy(config(backends.instances(), "least_request"));
  // 6 clients, each sending its next request when the last one is answered:
  // the slow instance holds its requests 40 ms, so it is usually the busier
  // of the two drawn. (Threads only talk HTTP; assertions stay on this thread.)
  constexpr int kClients = 6, kEach = 40;
  std::vector<std::map<std::string, int>> seen(kClients);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      try {
        HttpClient client(proxy.port());
        for (int i = 0; i < kEach; ++i) {
          const HttpResponse r = client.get("/p");
          if (r.status != 200) throw std::runtime_error(r.describe());
          ++seen[static_cast<std::size_t>(t)][r.header("x-backend-name")];
        }
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::map<std::string, int> counts;
  for (int t = 0; t < kClients; ++t) {
    INFO("client " << t);
    CHECK(failures[static_cast<std::size_t>(t)].empty());
    for (const auto& [name, n] : seen[static_cast<std::size_t>(t)]) counts[name] += n;
  }
  INFO(describe(counts));
  constexpr int kTotal = kClients * kEach;
  CHECK(counts["a"] < kTotal / 3 / 2);
  CHECK(counts["b"] > kTotal / 3);
  CHECK(counts["c"] > kTotal / 3);
}

// ---- peak_ewma ----------------------------------------------------------------

// peak_ewma with sequential traffic (in_flight 0 at every pick) sends each
// pair to the lower estimate, so the fastest instance takes the traffic of
// every pair it is in. These tests make `a` clearly the fastest (b and c
// answer after 5 ms), so it is in rotation, and then change how it answers.
struct EwmaBackends : Backends {
  EwmaBackends() : Backends(0) {
    add();
    add(Behaviour::fixed(200, "ok").with_delay(5ms));
    add(Behaviour::fixed(200, "ok").with_delay(5ms));
  }
};

TEST_CASE("peak_ewma steers away from an instance that turns slow", "[proxy][lb][policies]") {
  EwmaBackends backends;
  ProxyProcess proxy(config(backends.instances(), "peak_ewma"));
  HttpClient client(proxy.port());
  auto before = tally(client, 150);
  INFO("a fastest: " << describe(before));
  CHECK(before["a"] >= 75);  // wins every pair it is in (2/3), minus the warm-up

  backends[0].set_behaviour(Behaviour::fixed(200, "slow").with_delay(50ms));
  auto after = tally(client, 150);
  INFO("a slow: " << describe(after));
  // Its first slow answer is a peak: the estimate jumps to 50 ms at once (a
  // plain moving average would keep it near its old 0.2 ms and give it 2/3
  // of the traffic), and with τ = 10 s it stays above b's and c's 5 ms for
  // about 20 s.
  CHECK(after["a"] >= 1);
  CHECK(after["a"] <= 5);
}

TEST_CASE("peak_ewma avoids an instance answering fast 503s for its Retry-After", "[proxy][lb][policies]") {
  EwmaBackends backends;
  ProxyProcess proxy(config(backends.instances(), "peak_ewma", {"retry: { attempts: 1 }"}));
  HttpClient client(proxy.port());
  auto before = tally(client, 60);
  INFO("a fastest: " << describe(before));
  CHECK(before["a"] >= 30);

  Behaviour unavailable = Behaviour::fixed(503, "busy");
  unavailable.headers.add("Retry-After", "5");
  backends[0].set_behaviour(unavailable);
  const std::uint64_t asked_before = backends[0].requests();
  std::map<int, int> statuses;
  for (int i = 0; i < 200; ++i) ++statuses[client.get("/p").status];
  const std::uint64_t asked = backends[0].requests() - asked_before;
  INFO("503s " << statuses[503] << ", instance a asked " << asked << " times");
  // Answering faster than anyone, it would take 2/3 of the picks; after its
  // first 503 it is avoided for 5 s, longer than this loop (200 × 5 ms).
  CHECK(asked == 1);
  CHECK(statuses[503] == 1);
  CHECK(statuses[200] == 199);
}

TEST_CASE("peak_ewma keeps per-instance state across a SIGHUP, a new instance starts at the default",
          "[proxy][lb][policies][reload]") {
  // b, c and the new d answer after 40 ms, above the 30 ms default; a answers
  // a 503 with Retry-After: 30 once and then fast.
  Backends backends(0);
  Behaviour unavailable = Behaviour::fixed(503, "busy");
  unavailable.headers.add("Retry-After", "30");
  backends.add(unavailable);
  for (int i = 0; i < 3; ++i) backends.add(Behaviour::fixed(200, "ok").with_delay(40ms));
  ProxyProcess proxy(config(backends.instances(3), "peak_ewma", {"retry: { attempts: 1 }"}));
  HttpClient client(proxy.port());
  // An unmeasured instance (30 ms) beats a measured 40 ms one, so a is asked soon.
  REQUIRE(poll_for(10s, [&] { return client.get("/p").status == 503; }, 0ms));
  backends[0].set_behaviour(Behaviour::fixed(200, "ok"));

  proxy.write_config(config(backends.instances(4), "peak_ewma", {"retry: { attempts: 1 }"}));
  REQUIRE(proxy.reload());
  const std::uint64_t a_before = backends[0].requests();
  auto after = tally(client, 30);
  INFO("after the reload " << describe(after));
  // a's penalty (30 s) came through the table swap: a fresh a would stand at
  // the 30 ms default, below b's and c's 40 ms, and win most of its pairs.
  CHECK(backends[0].requests() == a_before);
  // d is new: at the 30 ms default it beats b and c until it is measured.
  CHECK(after["d"] >= 1);
}

// ---- hash policies -----------------------------------------------------------

TEST_CASE("hash policies: a key sticks to an instance and a SIGHUP adding one moves about 1/(n+1)",
          "[proxy][lb][policies][reload]") {
  const std::string policy = GENERATE(std::string("ring_hash"), std::string("maglev"), std::string("ip_hash"));
  INFO(policy);
  Backends backends(4);
  const std::vector<std::string> key{"hash_key: { header: X-User-ID }"};
  ProxyProcess proxy(config(backends.instances(3), policy, key), ProxyOptions{1, {"--trusted-proxies", "127.0.0.1"}});
  HttpClient client(proxy.port());
  constexpr int kKeys = 200;
  const auto first = owners_of_keys(client, kKeys, policy);
  CHECK(owners_of_keys(client, kKeys, policy) == first);
  std::map<std::string, int> spread;
  for (const auto& o : first) ++spread[o];
  INFO("keys per instance " << describe(spread));
  for (const char* name : {"a", "b", "c"}) CHECK(spread[name] >= kKeys / 3 / 2);

  // Without the header the client address is the key: one peer, one instance.
  std::set<std::string> no_header;
  for (int i = 0; i < 20; ++i) no_header.insert(served_by(client));
  CHECK(no_header.size() == 1);

  proxy.write_config(config(backends.instances(4), policy, key));
  REQUIRE(proxy.reload());
  const auto second = owners_of_keys(client, kKeys, policy);
  int moved = 0, moved_to_new = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (first[k] == second[k]) continue;
    ++moved;
    moved_to_new += second[k] == "d";
  }
  INFO("moved " << moved << " of " << kKeys << " keys, " << moved_to_new << " to the new instance");
  CHECK(moved >= kKeys / 4 / 2);
  CHECK(moved <= kKeys / 4 * 3 / 2);
  if (policy != "maglev") CHECK(moved_to_new == moved);
  else CHECK(moved_to_new >= moved * 9 / 10);
}

TEST_CASE("hash policies retry a key on the same next instance when its own is down", "[proxy][lb][policies]") {
  const std::string policy = GENERATE(std::string("ring_hash"), std::string("maglev"));
  INFO(policy);
  Backends backends(4);
  const std::string dead_name = backends[1].name();
  // One request at a time: budget_percent 100 lets each of them retry (the
  // default 20% would allow only min_retries_per_second).
  const std::string yaml =
      config(backends.instances(), policy,
             {"hash_key: { header: X-User-ID }", "retry: { attempts: 2, on: [connect_failure], budget_percent: 100 }"});
  backends[1].stop();  // its port now refuses connections
  ProxyProcess proxy(yaml);
  HttpClient client(proxy.port());
  const auto first = owners_of_keys(client, 120);
  // Every key is answered (the dead instance's keys by their retry), and a
  // key's retry always lands on the same instance.
  CHECK(owners_of_keys(client, 120) == first);
  std::map<std::string, int> spread;
  for (const auto& o : first) ++spread[o];
  INFO(describe(spread));
  CHECK(spread.count(dead_name) == 0);
  CHECK(spread.size() == 3);
  CHECK(proxy.metrics().sum("tg_upstream_errors_total", {{"kind", "connect_failure"}}) >= 120 / 4 / 2 * 2);
}

TEST_CASE("two proxies with the same table send every key to the same instance", "[proxy][lb][policies]") {
  const std::string policy = GENERATE(std::string("ring_hash"), std::string("maglev"));
  INFO(policy);
  Backends backends(5);
  const std::string yaml = config(backends.instances(0, {1, 2, 1, 1, 3}), policy, {"hash_key: { cookie: sid }"});
  ProxyOptions two_workers;
  two_workers.workers = 2;
  ProxyProcess one(yaml);
  ProxyProcess other(yaml, two_workers);
  HttpClient via_one(one.port());
  HttpClient via_other(other.port());
  std::set<std::string> used;
  for (int k = 0; k < 200; ++k) {
    const HeaderList cookie{{"Cookie", "theme=dark; sid=s" + std::to_string(k)}};
    const std::string a = served_by(via_one, cookie);
    const std::string b = served_by(via_other, cookie);
    INFO("key s" << k);
    REQUIRE(a == b);
    used.insert(a);
  }
  CHECK(used.size() == 5);
}

TEST_CASE("ip_hash believes X-Forwarded-For only from --trusted-proxies", "[proxy][lb][policies]") {
  Backends backends(3);
  const std::string yaml = config(backends.instances(), "ip_hash");
  const auto client_ip = [](int i) { return "198.51.100." + std::to_string(i); };

  SECTION("trusted peer: the forwarded client is the key") {
    ProxyProcess proxy(yaml, ProxyOptions{1, {"--trusted-proxies", "10.0.0.0/8, 127.0.0.0/8"}});
    HttpClient client(proxy.port());
    std::map<std::string, int> spread;
    for (int i = 1; i <= 120; ++i) {
      // A spoofed address further left is ignored; the trusted hop on the right is skipped.
      const HeaderList xff{{"X-Forwarded-For", "203.0.113.1, " + client_ip(i) + ", 10.1.2.3"}};
      const std::string first = served_by(client, xff);
      ++spread[first];
      INFO("client " << client_ip(i));
      REQUIRE(served_by(client, {{"X-Forwarded-For", client_ip(i)}}) == first);
    }
    INFO(describe(spread));
    for (const char* name : {"a", "b", "c"}) CHECK(spread[name] >= 120 / 3 / 2);
  }
  SECTION("untrusted peer: its X-Forwarded-For is ignored, the peer is the key") {
    ProxyProcess proxy(yaml, ProxyOptions{1, {"--trusted-proxies", "10.0.0.0/8"}});
    HttpClient client(proxy.port());
    std::set<std::string> used;
    for (int i = 1; i <= 60; ++i) used.insert(served_by(client, {{"X-Forwarded-For", client_ip(i)}}));
    CHECK(used.size() == 1);
  }
}

TEST_CASE("a bad CIDR in --trusted-proxies stops tg-proxy with a clear message", "[proxy][lb][policies]") {
  TempDir dir;
  const auto yaml = dir.file("t.yaml");
  write_file(yaml, single_service_config({"127.0.0.1:9001"}));
  ChildProcess child(proxy_binary(), {"--check", "--config", yaml.string(), "--trusted-proxies", "10.0.0.0/8,10.1.0.1/16"},
                     dir.file("t.log"));
  const auto status = child.wait_for(10s);
  REQUIRE(status);
  const std::string log = child.read_log();
  INFO(log);
  CHECK(status->describe() != "exit 0");
  CHECK(log.find("--trusted-proxies") != std::string::npos);
  CHECK(log.find("'10.1.0.1/16': host bits are set below /16 (did you mean 10.1.0.0/16?)") != std::string::npos);
}

TEST_CASE("every policy but sticky_link passes --check, sticky_link is refused with its reason",
          "[proxy][lb][policies][check]") {
  TempDir dir;
  for (const char* policy : {"round_robin", "weighted", "least_request", "ip_hash", "ring_hash", "maglev", "peak_ewma",
                             "sticky_link"}) {
    INFO(policy);
    const auto yaml = dir.file(std::string(policy) + ".yaml");
    write_file(yaml, config({"127.0.0.1:9001", "127.0.0.1:9002"}, policy));
    ChildProcess child(proxy_binary(), {"--check", "--config", yaml.string()}, dir.file(std::string(policy) + ".log"));
    const auto status = child.wait_for(10s);
    REQUIRE(status);
    const std::string log = child.read_log();
    INFO(log);
    if (std::string(policy) == "sticky_link") {
      CHECK(status->describe() == "exit 1");
      CHECK(log.find("lb policy 'sticky_link' is not supported by tg-proxy") != std::string::npos);
    } else {
      CHECK(status->describe() == "exit 0");
    }
  }
}
