// Rate and concurrency limits (docs/configuration.md: a route's rate_limit,
// a tenant's limits; docs/life-of-a-request.md, phase 4): a fixed bucket is
// exact per proxy under load on one and two workers; max_concurrent refuses
// the request beyond it and every way a request ends gives its slot back;
// shadow limits count without refusing; a bucket survives a reload that
// leaves its limit alone; /config shows the limits; --rate-limit-max-keys
// bounds the keyed buckets.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

using namespace tg::itest;
using namespace std::chrono_literals;

namespace {

// Tenant acme's service "svc" on `backend`, route "all"; `route_settings`
// and `tenant_limits` (a YAML flow map, or empty) add the limits.
std::string limits_config(const Backend& backend, const std::string& route_settings,
                          const std::string& tenant_limits = "") {
  std::string yaml = "tenants:\n  - id: acme\n";
  if (!tenant_limits.empty()) yaml += "    limits: " + tenant_limits + "\n";
  yaml += "services:\n  - name: svc\n    tenant: acme\n    instances:\n      - { address: " + backend.address() +
          " }\nroutes:\n  - name: all\n    match: { path_prefix: / }\n    service: svc\n";
  if (!route_settings.empty()) yaml += "    " + route_settings + "\n";
  return yaml;
}

struct LoadResult {
  int accepted = 0;
  int refused = 0;   // 429 with a good Retry-After and RateLimit fields
  int other = 0;     // anything else (a failure)
  std::string first_other;
  double seconds = 0;  // from the first request's time to the last's
};

// `rate` requests per second for `duration`, spread over `connections`
// keep-alive connections, each request sent at its scheduled time (late
// ones at once: the offered rate never drops below `rate` on average).
LoadResult paced_load(std::uint16_t port, int rate, std::chrono::milliseconds duration, int connections) {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
  const Clock::time_point start = Clock::now() + 100ms;
  const Clock::time_point end = start + duration;
  std::atomic<int> accepted{0}, refused{0}, other{0};
  std::mutex mutex;
  std::string first_other;
  std::vector<std::thread> threads;
  for (int k = 0; k < connections; ++k) {
    threads.emplace_back([&, k] {
      const auto note_other = [&](const std::string& what) {
        ++other;
        std::lock_guard lock(mutex);
        if (first_other.empty()) first_other = what;
      };
      try {
        HttpClient client(port);
        for (Clock::time_point next = start + k * interval; next < end; next += connections * interval) {
          std::this_thread::sleep_until(next);
          const HttpResponse response = client.get("/");
          if (response.status == 200) {
            ++accepted;
          } else if (response.status == 429 && std::atoi(response.header("retry-after").c_str()) >= 1 &&
                     response.header("ratelimit-policy") == "\"route\";q=100;w=1" &&
                     response.header("ratelimit").rfind("\"route\";r=0;t=", 0) == 0) {
            ++refused;
          } else {
            note_other(response.describe());
          }
        }
      } catch (const std::exception& e) {
        note_other(e.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  LoadResult result{accepted.load(), refused.load(), other.load(), first_other, 0};
  result.seconds = std::chrono::duration<double>(duration).count();
  return result;
}

void check_exact_under_load(int workers) {
  Backend backend("b1");
  ProxyOptions options;
  options.workers = workers;
  ProxyProcess proxy(limits_config(backend, "rate_limit: { rate: 100/s, burst: 20, by: route }"), options);
  // 500/s offered for 5 s against 100/s with a burst of 20.
  const LoadResult load = paced_load(proxy.port(), 500, 5s, 8);
  INFO("accepted " << load.accepted << ", refused " << load.refused << ", other " << load.other << " "
                   << load.first_other);
  const double expected = 20 + 100 * load.seconds;
  CHECK(load.other == 0);
  CHECK(load.accepted >= 0.9 * expected);
  CHECK(load.accepted <= 1.1 * expected);
  CHECK(load.accepted + load.refused == 2500);
  CHECK(backend.requests() == static_cast<std::uint64_t>(load.accepted));
  CHECK(metric_settles(proxy, "tg_proxy_rate_limited_total",
                       {{"tenant", "acme"}, {"route", "all"}, {"limit", "route_rate"}}, load.refused) ==
        load.refused);
}

HttpRequest slow_request() {
  HttpRequest request;
  request.target = "/slow";
  return request;
}

}  // namespace

TEST_CASE("rate limit 100/s burst 20 under 500/s: the accepted count is burst + rate x time, the rest 429",
          "[proxy][rate_limit]") {
  check_exact_under_load(1);
}

TEST_CASE("rate limit 100/s burst 20 under 500/s on two workers: one bucket for the proxy",
          "[proxy][rate_limit]") {
  check_exact_under_load(2);
}

TEST_CASE("max_concurrent 2: the third request in flight gets 429, and each way a request ends frees its slot",
          "[proxy][rate_limit][concurrency]") {
  Backend backend("b1");
  backend.on_path("/slow", Behaviour::echo().with_delay(1500ms));
  backend.on_path("/ws", Behaviour::of(BackendMode::upgrade_echo));
  ProxyProcess proxy(limits_config(backend, "", "{ max_concurrent: 2 }"));
  const auto in_flight = [&] { return proxy.metrics().sum("tg_proxy_tenant_requests_in_flight", {{"tenant", "acme"}}); };

  HttpClient first(proxy.port()), second(proxy.port());
  first.send_request(slow_request());
  second.send_request(slow_request());
  REQUIRE(poll_for(5s, [&] { return backend.requests() == 2; }));
  HttpClient third(proxy.port());
  const HttpResponse refused = third.get("/slow");
  check_error_response(refused, 429, "rate_limited");
  CHECK(refused.header("retry-after") == "1");
  CHECK(refused.header("ratelimit-policy").empty());
  CHECK(first.read_response().status == 200);
  CHECK(second.read_response().status == 200);
  CHECK(backend.requests() == 2);
  CHECK(metric_settles(proxy, "tg_proxy_rate_limited_total", {{"limit", "tenant_concurrency"}}, 1) == 1);
  CHECK(metric_settles(proxy, "tg_proxy_tenant_requests_in_flight", {{"tenant", "acme"}}, 0) == 0);

  SECTION("a request whose client went away") {
    {
      HttpClient gone(proxy.port());
      gone.send_request(slow_request());
      REQUIRE(poll_for(5s, [&] { return in_flight() == 1; }));
    }
    CHECK(metric_settles(proxy, "tg_proxy_tenant_requests_in_flight", {{"tenant", "acme"}}, 0, 5s) == 0);
  }
  SECTION("a tunnel holds its slot until it ends") {
    HttpRequest upgrade;
    upgrade.target = "/ws";
    upgrade.headers = {{"Connection", "Upgrade"}, {"Upgrade", "websocket"}};
    HttpClient tunnel1(proxy.port()), tunnel2(proxy.port());
    REQUIRE(tunnel1.request(upgrade).status == 101);
    REQUIRE(tunnel2.request(upgrade).status == 101);
    CHECK(in_flight() == 2);
    HttpClient refused_too(proxy.port());
    check_error_response(refused_too.get("/"), 429, "rate_limited");
    tunnel1.close();
    CHECK(metric_settles(proxy, "tg_proxy_tenant_requests_in_flight", {{"tenant", "acme"}}, 1, 5s) == 1);
    HttpClient fine(proxy.port());
    CHECK(fine.get("/").status == 200);
  }
  SECTION("keep-alive requests one after the other") {
    HttpClient client(proxy.port());
    for (int i = 0; i < 20; ++i) REQUIRE(client.get("/").status == 200);
    CHECK(in_flight() == 0);
  }
}

TEST_CASE("shadow limits refuse nothing but count and log what they would have refused",
          "[proxy][rate_limit][shadow]") {
  Backend backend("b1");
  ProxyOptions options;
  options.access_log = true;
  ProxyProcess proxy(
      limits_config(backend, "rate_limit: { rate: 1/m, burst: 5, by: route, shadow: true }"), options);
  HttpClient client(proxy.port());
  for (int i = 0; i < 20; ++i) REQUIRE(client.get("/").status == 200);
  CHECK(backend.requests() == 20);
  CHECK(metric_settles(proxy, "tg_proxy_rate_limited_shadow_total", {{"limit", "route_rate"}}, 15) == 15);
  CHECK(proxy.metrics().sum("tg_proxy_rate_limited_total") == 0);
  std::size_t marked = 0;
  poll_for(5s, [&] {
    const std::string log = read_file(proxy.access_log_path());
    marked = 0;
    for (std::size_t at = log.find("\"shadow_limited\":\"route_rate\""); at != std::string::npos;
         at = log.find("\"shadow_limited\":\"route_rate\"", at + 1))
      ++marked;
    return marked == 15;
  });
  CHECK(marked == 15);
}

TEST_CASE("a reload keeps a bucket whose limit is unchanged, and starts a changed one afresh",
          "[proxy][rate_limit][reload]") {
  Backend backend("b1");
  const std::string limit = "rate_limit: { rate: 1/m, burst: 2, by: route }";
  ProxyProcess proxy(limits_config(backend, limit));
  HttpClient client(proxy.port());
  CHECK(client.get("/").status == 200);
  CHECK(client.get("/").status == 200);
  const HttpResponse refused = client.get("/");
  check_error_response(refused, 429, "rate_limited");
  CHECK(std::atoi(refused.header("retry-after").c_str()) > 1);  // about 30 s: one per minute
  CHECK(refused.header("ratelimit-policy") == "\"route\";q=1;w=60");

  // Another route added: the bucket of "all" is the same one.
  proxy.write_config(limits_config(backend, limit) +
                     "  - name: other\n    match: { path_prefix: /other }\n    service: svc\n");
  REQUIRE(proxy.reload());
  CHECK(client.get("/").status == 429);
  // A new burst is a new limit: a full bucket.
  proxy.write_config(limits_config(backend, "rate_limit: { rate: 1/m, burst: 3, by: route }"));
  REQUIRE(proxy.reload());
  CHECK(client.get("/").status == 200);
}

TEST_CASE("rate limit: /config shows a route's rate_limit and its tenant's limits, and no credential hash",
          "[proxy][rate_limit][admin]") {
  Backend backend("b1");
  const std::string hash(64, 'a');  // a credential's sha256: never shown
  std::string yaml = limits_config(backend, "rate_limit: { rate: 100/s, burst: 20, by: \"header:X-Client\", shadow: true }",
                                   "{ rate: 5/m, max_concurrent: 3 }");
  yaml.replace(yaml.find("  - id: acme\n"), 13,
               "  - id: acme\n    credentials:\n      - { name: ci, kind: api_key, sha256: " + hash + " }\n");
  yaml += "  - name: open\n    match: { path_prefix: /open }\n    service: svc\n";
  ProxyProcess proxy(yaml);
  const HttpResponse response = proxy.admin_get("/config");
  INFO(response.body);
  REQUIRE(response.status == 200);
  CHECK(response.body.find(hash) == std::string::npos);
  const boost::json::object config = boost::json::parse(response.body).as_object();
  const auto route = [&](std::string_view name) {
    for (const auto& r : config.at("routes").as_array())
      if (r.at("name").as_string() == name) return r.as_object();
    FAIL("no route " << name);
    return boost::json::object{};
  };
  CHECK(boost::json::serialize(route("all").at("rate_limit")) ==
        R"({"rate":"100/s","burst":20,"by":"header:x-client","shadow":true})");
  CHECK_FALSE(route("open").contains("rate_limit"));
  const auto& tenants = config.at("tenants").as_array();
  REQUIRE(tenants.size() == 1);
  CHECK(tenants[0].at("id").as_string() == "acme");
  // burst 0 in the table: the rate's count.
  CHECK(boost::json::serialize(tenants[0].at("limits")) == R"({"rate":"5/m","burst":5,"max_concurrent":3})");
  CHECK(tenants[0].at("credentials").as_array().size() == 1);
}

TEST_CASE("rate limit: --rate-limit-max-keys bounds each worker's keyed buckets, the least recently used evicted",
          "[proxy][rate_limit][flags]") {
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--rate-limit-max-keys", "2"};
  ProxyProcess proxy(limits_config(backend, "rate_limit: { rate: 1/m, burst: 1, by: \"header:X-Client\" }"), options);
  HttpClient client(proxy.port());
  for (const char* key : {"k1", "k2", "k3", "k4", "k5"}) REQUIRE(client.get("/", {{"X-Client", key}}).status == 200);
  CHECK(metric_settles(proxy, "tg_proxy_rate_limit_key_evictions_total", {}, 3) == 3);
  CHECK(proxy.metrics().sum("tg_proxy_rate_limit_keys") == 2);
  // k1 was evicted: it comes back with a full bucket; k5 is held and empty.
  CHECK(client.get("/", {{"X-Client", "k1"}}).status == 200);
  CHECK(client.get("/", {{"X-Client", "k1"}}).status == 429);
  CHECK(proxy.metrics().sum("tg_proxy_rate_limit_keys") == 2);
}
