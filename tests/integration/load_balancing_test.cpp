// Load-balancing policies (docs/configuration.md, lb): round_robin is smooth weighted round
// robin (equal weights = plain rotation), weighted is weighted random; the
// per-instance state lives across a SIGHUP table swap (docs/architecture.md, Configuration).
//
// One worker and one client connection, so one balancer sees every request
// and the expected sequences are exact.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"

#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

using namespace tg::itest;

namespace {

struct ThreeBackends {
  Backend a{"a", Behaviour::fixed(200, "a")};
  Backend b{"b", Behaviour::fixed(200, "b")};
  Backend c{"c", Behaviour::fixed(200, "c")};

  std::string config(const std::string& policy, unsigned wa, unsigned wb, unsigned wc) const {
    return single_service_config({{a.address(), wa}, {b.address(), wb}, {c.address(), wc}},
                                 {"lb: { policy: " + policy + " }", "retry: { attempts: 1 }"});
  }
};

// Sends `count` GETs on `client` and returns the answering backend of each.
std::vector<std::string> picks(HttpClient& client, int count) {
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const HttpResponse response = client.get("/lb");
    if (response.status != 200) {
      FAIL("request " << i << " answered:\n" << response.describe());
    }
    names.push_back(response.header("x-backend-name"));
  }
  return names;
}

std::map<std::string, int> tally(const std::vector<std::string>& names) {
  std::map<std::string, int> counts;
  for (const std::string& name : names) ++counts[name];
  return counts;
}

std::string joined(const std::vector<std::string>& names, std::size_t max = 60) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) text += names[i];
  return text;
}

// Smooth WRR is periodic: every aligned window of sum(weights) picks holds
// each instance exactly `weight` times.
bool every_window_exact(const std::vector<std::string>& names, const std::map<std::string, int>& weights,
                        std::size_t first = 0) {
  int period = 0;
  for (const auto& [name, weight] : weights) period += weight;
  for (std::size_t start = first; start + static_cast<std::size_t>(period) <= names.size();
       start += static_cast<std::size_t>(period)) {
    const std::vector<std::string> window(names.begin() + static_cast<long>(start),
                                          names.begin() + static_cast<long>(start) + period);
    if (tally(window) != weights) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("round_robin with equal weights rotates exactly", "[proxy][lb]") {
  ThreeBackends backends;
  ProxyProcess proxy(backends.config("round_robin", 1, 1, 1));
  HttpClient client(proxy.port());

  const std::vector<std::string> names = picks(client, 30);
  INFO("sequence: " << joined(names));
  const std::map<std::string, int> first_three = tally({names[0], names[1], names[2]});
  CHECK(first_three == std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}});
  for (std::size_t i = 3; i < names.size(); ++i) {
    CHECK(names[i] == names[i - 3]);
  }
}

TEST_CASE("round_robin with weights 1,2,3 is smooth weighted round robin", "[proxy][lb]") {
  ThreeBackends backends;
  ProxyProcess proxy(backends.config("round_robin", 1, 2, 3));
  HttpClient client(proxy.port());

  const std::vector<std::string> names = picks(client, 600);
  INFO("sequence starts: " << joined(names));
  CHECK(tally(names) == std::map<std::string, int>{{"a", 100}, {"b", 200}, {"c", 300}});
  CHECK(every_window_exact(names, {{"a", 1}, {"b", 2}, {"c", 3}}));
  // Smooth: the heaviest instance never gets three in a row (plain WRR would
  // send c,c,c,b,b,a).
  for (std::size_t i = 2; i < names.size(); ++i) {
    CHECK_FALSE((names[i] == names[i - 1] && names[i] == names[i - 2]));
  }
  CHECK(backends.a.requests() == 100);
  CHECK(backends.b.requests() == 200);
  CHECK(backends.c.requests() == 300);
}

TEST_CASE("weighted is weighted random", "[proxy][lb]") {
  ThreeBackends backends;
  ProxyProcess proxy(backends.config("weighted", 1, 2, 3));
  HttpClient client(proxy.port());

  const std::vector<std::string> names = picks(client, 6000);
  std::map<std::string, int> counts = tally(names);
  INFO("a=" << counts["a"] << " b=" << counts["b"] << " c=" << counts["c"]);
  // Expected 1000/2000/3000; one standard deviation is 29/39/39, so ±200 is
  // more than 5 sigma: a failure here is a wrong distribution, not bad luck.
  CHECK(counts.size() == 3);
  CHECK(std::abs(counts["a"] - 1000) <= 200);
  CHECK(std::abs(counts["b"] - 2000) <= 200);
  CHECK(std::abs(counts["c"] - 3000) <= 200);
  // Random, not a rotation: some window of 6 departs from exactly 1/2/3.
  CHECK_FALSE(every_window_exact(names, {{"a", 1}, {"b", 2}, {"c", 3}}));
}

namespace {

// 3 requests (half a period of weights 1,2,3), a SIGHUP swap to the same
// service plus an unrelated route, then 597 more: the 600 picks.
std::vector<std::string> picks_across_a_swap(const ThreeBackends& backends) {
  const std::string config = backends.config("round_robin", 1, 2, 3);
  ProxyProcess proxy(config);
  HttpClient client(proxy.port());
  std::vector<std::string> names = picks(client, 3);
  proxy.write_config(config + "  - name: unrelated\n    match: { path: /unrelated }\n    service: svc\n");
  REQUIRE(proxy.reload());
  const std::vector<std::string> after = picks(client, 597);
  names.insert(names.end(), after.begin(), after.end());
  return names;
}

const std::map<std::string, int> weights_123{{"a", 1}, {"b", 2}, {"c", 3}};

}  // namespace

TEST_CASE("round_robin keeps distributing correctly across a SIGHUP table swap", "[proxy][lb][reload]") {
  ThreeBackends backends;
  const std::vector<std::string> names = picks_across_a_swap(backends);
  INFO("sequence starts: " << joined(names));
  std::map<std::string, int> counts = tally(names);
  // Whether or not the rotation restarted at the swap (after request 3), the
  // counts are off by at most one and the smooth periods are intact.
  CHECK(counts.size() == 3);
  CHECK(std::abs(counts["a"] - 100) <= 1);
  CHECK(std::abs(counts["b"] - 200) <= 1);
  CHECK(std::abs(counts["c"] - 300) <= 1);
  CHECK((every_window_exact(names, weights_123, 0) || every_window_exact(names, weights_123, 3)));
}

TEST_CASE("round_robin rotation continues across a SIGHUP swap rather than restarting", "[proxy][lb][reload]") {
  // Per-instance balancer state is remapped by instance id on a swap
  // (docs/architecture.md, Configuration), so the smooth sequence goes on: exact counts over
  // 600. A restart after request 3 gives e.g. a=101 b=200 c=299.
  ThreeBackends backends;
  const std::vector<std::string> names = picks_across_a_swap(backends);
  INFO("sequence starts: " << joined(names));
  CHECK(tally(names) == std::map<std::string, int>{{"a", 100}, {"b", 200}, {"c", 300}});
  CHECK(every_window_exact(names, weights_123));
}
