// The admin port (contract "Admin port"): /healthz, /ready, /config and the
// /metrics series, which must move exactly as traffic and reloads do.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/tcp_socket.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <thread>

using namespace tg::itest;
namespace json = boost::json;

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Names in a /config array whose entries are objects with "name" (or plain strings).
std::set<std::string> names_in(const json::value& array) {
  std::set<std::string> names;
  for (const json::value& entry : array.as_array()) {
    if (entry.is_string()) {
      names.insert(std::string(entry.as_string()));
    } else if (entry.is_object() && entry.as_object().contains("name")) {
      names.insert(std::string(entry.as_object().at("name").as_string()));
    }
  }
  return names;
}

json::object get_config(const ProxyProcess& proxy) {
  const HttpResponse response = proxy.admin_get("/config");
  INFO(response.describe());
  REQUIRE(response.status == 200);
  CHECK(response.header("content-type").rfind("application/json", 0) == 0);
  json::error_code ec;
  json::value value = json::parse(response.body, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(value.is_object());
  return std::move(value.as_object());
}

std::int64_t version_of(const json::object& config) { return config.at("version").to_number<std::int64_t>(); }

}  // namespace

TEST_CASE("admin /healthz and /ready answer while serving", "[proxy][admin]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  const HttpResponse health = proxy.admin_get("/healthz");
  CHECK(health.status == 200);
  CHECK(trimmed(health.body) == "ok");
  const HttpResponse ready = proxy.admin_get("/ready");
  CHECK(ready.status == 200);
  CHECK(trimmed(ready.body) == "ready");
  // The admin port is not the proxy port: /healthz there is routed as traffic.
  HttpClient client(proxy.port());
  CHECK(client.get("/healthz").header("x-backend-name") == "b1");
}

TEST_CASE("admin /config shows the version, the source file, services and routes", "[proxy][admin]") {
  Backend backend("b1");
  ProxyProcess proxy(ConfigYaml()
                         .service("svc-a", {backend.address()})
                         .service("svc-b", {backend.address()})
                         .route("route-a", "{ path_prefix: /a/ }", "svc-a")
                         .route("route-b", "{ path_prefix: /b/ }", "svc-b")
                         .str());
  const json::object config = get_config(proxy);
  INFO(json::serialize(config));
  CHECK(version_of(config) >= 1);
  CHECK(config.at("source").as_string() == proxy.config_path().string());
  CHECK(names_in(config.at("services")) == std::set<std::string>{"svc-a", "svc-b"});
  CHECK(names_in(config.at("routes")) == std::set<std::string>{"route-a", "route-b"});
}

namespace {

// 3 × 200, 2 × 500 and 1 × 404 from the backend through route "main", and
// one request that matches no route.
struct ClassifiedTraffic {
  Backend backend{"b1"};
  std::unique_ptr<ProxyProcess> proxy;

  ClassifiedTraffic() {
    backend.on_path("/app/fail", Behaviour::fixed(500, "boom"));
    backend.on_path("/app/gone", Behaviour::fixed(404, "gone"));
    proxy = std::make_unique<ProxyProcess>(
        ConfigYaml().service("svc", {backend.address()}).route("main", "{ path_prefix: /app/ }", "svc").str());
    HttpClient client(proxy->port());
    for (int i = 0; i < 3; ++i) REQUIRE(client.get("/app/ok").status == 200);
    for (int i = 0; i < 2; ++i) REQUIRE(client.get("/app/fail").status == 500);
    REQUIRE(client.get("/app/gone").status == 404);
    REQUIRE(client.get("/elsewhere").status == 404);  // no route
  }
};

}  // namespace

TEST_CASE("admin /metrics counts requests by route, service and class", "[proxy][admin][metrics]") {
  ClassifiedTraffic traffic;
  const ProxyProcess& proxy = *traffic.proxy;
  const auto main_with_class = [](const char* status_class) {
    return Labels{{"route", "main"}, {"service", "svc"}, {"class", status_class}};
  };
  CHECK(metric_settles(proxy, "tg_requests_total", main_with_class("2xx"), 3) == 3);
  CHECK(metric_settles(proxy, "tg_requests_total", main_with_class("5xx"), 2) == 2);
  CHECK(metric_settles(proxy, "tg_requests_total", main_with_class("4xx"), 1) == 1);
  CHECK(metric_settles(proxy, "tg_requests_total", {{"route", ""}, {"class", "4xx"}}, 1) == 1);

  const PrometheusText metrics = proxy.metrics();
  INFO(metrics.describe("tg_requests_total"));
  CHECK(metrics.sum("tg_requests_total") == 7);
  CHECK(metrics.sum("tg_requests_total", main_with_class("3xx")) == 0);
  CHECK(metrics.sum("tg_requests_total", main_with_class("1xx")) == 0);
}

TEST_CASE("admin /metrics counts upstream responses by instance and class", "[proxy][admin][metrics]") {
  // tg_upstream_responses_total{service,instance,class}: what each instance
  // answered; the unrouted request never reached one.
  ClassifiedTraffic traffic;
  const ProxyProcess& proxy = *traffic.proxy;
  const auto instance_with_class = [&](const char* status_class) {
    return Labels{{"service", "svc"}, {"instance", "svc/" + traffic.backend.address()}, {"class", status_class}};
  };
  CHECK(metric_settles(proxy, "tg_upstream_responses_total", instance_with_class("2xx"), 3) == 3);
  CHECK(metric_settles(proxy, "tg_upstream_responses_total", instance_with_class("5xx"), 2) == 2);
  CHECK(metric_settles(proxy, "tg_upstream_responses_total", instance_with_class("4xx"), 1) == 1);
  const PrometheusText metrics = proxy.metrics();
  INFO(metrics.describe("tg_upstream_responses_total"));
  CHECK(metrics.sum("tg_upstream_responses_total") == 6);
}

TEST_CASE("admin /metrics counts proxy-generated errors as the class the client got",
          "[proxy][admin][metrics]") {
  // tg_requests_total is the response the client got, proxy errors included;
  // tg_upstream_responses_total only what an instance answered.
  ClosedPort closed;
  ProxyProcess proxy(single_service_config({closed.address()}, {"retry: { attempts: 1 }"}));
  HttpClient client(proxy.port());
  for (int i = 0; i < 2; ++i) REQUIRE(client.get("/x").status == 502);
  CHECK(metric_settles(proxy, "tg_requests_total", {{"route", "all"}, {"service", "svc"}, {"class", "5xx"}}, 2) ==
        2);
  CHECK(proxy.metrics().sum("tg_upstream_responses_total") == 0);
}

TEST_CASE("admin /metrics has a duration histogram per route", "[proxy][admin][metrics]") {
  Backend backend("b1");
  ProxyProcess proxy(ConfigYaml().service("svc", {backend.address()}).route("main", "{ path_prefix: / }", "svc").str());
  HttpClient client(proxy.port());
  for (int i = 0; i < 5; ++i) REQUIRE(client.get("/x").status == 200);

  const Labels route{{"route", "main"}, {"service", "svc"}};
  CHECK(metric_settles(proxy, "tg_request_duration_seconds_count", route, 5) == 5);
  const PrometheusText metrics = proxy.metrics();
  INFO(metrics.describe("tg_request_duration_seconds"));
  CHECK(metrics.sum("tg_request_duration_seconds_sum", route) > 0);
  CHECK(metrics.sum("tg_request_duration_seconds_sum", route) < 5 * 2.0);

  // Buckets are cumulative and end with +Inf == _count.
  std::vector<std::pair<double, double>> buckets;  // (le, count)
  for (const MetricSample& sample : metrics.samples()) {
    if (sample.name != "tg_request_duration_seconds_bucket" || sample.labels.count("le") == 0) continue;
    if (sample.labels.at("route") != "main") continue;
    const std::string& le = sample.labels.at("le");
    buckets.emplace_back(le == "+Inf" ? HUGE_VAL : std::stod(le), sample.value);
  }
  REQUIRE(buckets.size() >= 2);
  std::sort(buckets.begin(), buckets.end());
  for (std::size_t i = 1; i < buckets.size(); ++i) CHECK(buckets[i].second >= buckets[i - 1].second);
  CHECK(std::isinf(buckets.back().first));
  CHECK(buckets.back().second == 5);
}

TEST_CASE("admin /metrics counts upstream errors by kind and instance", "[proxy][admin][metrics]") {
  ClosedPort closed;
  ProxyProcess proxy(single_service_config({closed.address()}, {"retry: { attempts: 1 }"}));
  HttpClient client(proxy.port());
  for (int i = 0; i < 4; ++i) REQUIRE(client.get("/x").status == 502);
  const Labels labels{{"service", "svc"}, {"instance", "svc/" + closed.address()}, {"kind", "connect_failure"}};
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", labels, 4) == 4);
  const PrometheusText metrics = proxy.metrics();
  CHECK(metrics.sum("tg_upstream_errors_total", {{"kind", "reset"}}) == 0);
  CHECK(metrics.sum("tg_upstream_errors_total", {{"kind", "timeout"}}) == 0);
  CHECK(metrics.sum("tg_requests_total", {{"route", "all"}, {"class", "5xx"}}) == 4);
}

TEST_CASE("admin /metrics gauges connections and requests in flight", "[proxy][admin][metrics]") {
  Backend backend("b1");
  backend.on_path("/slow", Behaviour::fixed(200, "slow").with_delay(800ms));
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  const Labels instance{{"service", "svc"}, {"instance", "svc/" + backend.address()}};
  CHECK(metric_settles(proxy, "tg_downstream_connections_active", {}, 0) == 0);
  CHECK(proxy.metrics().sum("tg_downstream_connections_total") == 0);
  {
    std::vector<std::unique_ptr<HttpClient>> idle;
    for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<HttpClient>(proxy.port()));
    CHECK(metric_settles(proxy, "tg_downstream_connections_active", {}, 3) == 3);
    CHECK(metric_settles(proxy, "tg_downstream_connections_total", {}, 3) == 3);

    // One request in flight upstream.
    HttpRequest slow;
    slow.target = "/slow";
    idle[0]->send_request(slow);
    REQUIRE(poll_for(2s, [&] { return backend.requests() == 1; }));
    const PrometheusText during = proxy.metrics();
    INFO(during.describe("tg_upstream"));
    CHECK(during.sum("tg_upstream_connections_active") >= 1);
    CHECK(during.sum("tg_upstream_in_flight", instance) == 1);
    CHECK(idle[0]->read_response().status == 200);
    CHECK(metric_settles(proxy, "tg_upstream_in_flight", instance, 0) == 0);
  }
  CHECK(metric_settles(proxy, "tg_downstream_connections_active", {}, 0) == 0);
  CHECK(proxy.metrics().sum("tg_downstream_connections_total") == 3);
}

TEST_CASE("admin /metrics tracks the config version and reload results", "[proxy][admin][metrics][reload]") {
  Backend backend("b1");
  const std::string config = single_service_config({backend.address()});
  ProxyProcess proxy(config);
  const PrometheusText before = proxy.metrics();
  INFO(before.describe("tg_config"));
  REQUIRE(before.has("tg_config_version"));
  const double version = before.sum("tg_config_version");
  CHECK(version == static_cast<double>(version_of(get_config(proxy))));
  CHECK(before.sum("tg_config_reloads_total", {{"result", "ok"}}) == 0);
  CHECK(before.sum("tg_config_reloads_total", {{"result", "error"}}) == 0);
  CHECK(before.has("tg_access_log_dropped_total"));
  CHECK(before.sum("tg_access_log_dropped_total") == 0);
  for (const char* series : {"tg_header_timeouts_total", "tg_accept_errors_total", "tg_draining"}) {
    INFO(series);
    CHECK(before.has(series));
    CHECK(before.sum(series) == 0);
  }

  SECTION("a good reload increments the version") {
    REQUIRE(proxy.reload());
    const PrometheusText after = proxy.metrics();
    CHECK(after.sum("tg_config_version") == version + 1);
    CHECK(after.sum("tg_config_reloads_total", {{"result", "ok"}}) == 1);
    CHECK(after.sum("tg_config_reloads_total", {{"result", "error"}}) == 0);
    CHECK(version_of(get_config(proxy)) == static_cast<std::int64_t>(version) + 1);
  }
  SECTION("a bad file counts an error and keeps the version") {
    proxy.write_config("services: [ this is not valid\n");
    CHECK_FALSE(proxy.reload());
    const PrometheusText after = proxy.metrics();
    CHECK(after.sum("tg_config_version") == version);
    CHECK(after.sum("tg_config_reloads_total", {{"result", "ok"}}) == 0);
    CHECK(after.sum("tg_config_reloads_total", {{"result", "error"}}) == 1);
  }
}

namespace {

// The instance entry with `id` in /config, or null.
const json::object* config_instance(const json::object& config, const std::string& id) {
  for (const json::value& service : config.at("services").as_array())
    for (const json::value& instance : service.at("instances").as_array())
      if (instance.at("id").as_string() == id) return &instance.as_object();
  return nullptr;
}

std::int64_t in_flight_of(const ProxyProcess& proxy, const std::string& id) {
  const json::object config = get_config(proxy);
  const json::object* instance = config_instance(config, id);
  if (instance == nullptr || !instance->contains("in_flight")) return -1;
  return instance->at("in_flight").to_number<std::int64_t>();
}

}  // namespace

TEST_CASE("admin /config shows each instance's requests in flight, summed over workers", "[proxy][admin]") {
  // What an operator watches to see a draining instance finish: a slow
  // request shows as in_flight 1 on its instance while under way, then 0.
  Backend slow("slow");
  slow.on_path("/slow", Behaviour::fixed(200, "late").with_delay(std::chrono::milliseconds(1500)));
  Backend idle("idle");
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(ConfigYaml()
                         .service("slow-svc", {slow.address()})
                         .service("idle-svc", {idle.address()})
                         .route("slow", "{ path_prefix: /slow }", "slow-svc")
                         .route("idle", "{ path_prefix: / }", "idle-svc")
                         .str(),
                     options);
  const std::string slow_id = "slow-svc/" + slow.address();
  const std::string idle_id = "idle-svc/" + idle.address();
  CHECK(in_flight_of(proxy, slow_id) == 0);

  int status = 0;
  std::thread request([&] {
    HttpClient client(proxy.port());
    status = client.get("/slow").status;
  });
  std::int64_t seen = -1;
  const bool busy = poll_for(std::chrono::milliseconds(1200), [&] {
    seen = in_flight_of(proxy, slow_id);
    return seen == 1;
  }, std::chrono::milliseconds(10));
  const std::int64_t other_instance = in_flight_of(proxy, idle_id);
  const json::object config = get_config(proxy);
  request.join();
  INFO("in_flight seen: " << seen);
  CHECK(busy);
  CHECK(other_instance == 0);
  const json::object* slow_entry = config_instance(config, slow_id);
  REQUIRE(slow_entry != nullptr);
  CHECK(slow_entry->at("connections").to_number<std::int64_t>() >= 1);
  REQUIRE(status == 200);
  CHECK(poll_for(std::chrono::seconds(3), [&] { return in_flight_of(proxy, slow_id) == 0; },
                 std::chrono::milliseconds(20)));
}
