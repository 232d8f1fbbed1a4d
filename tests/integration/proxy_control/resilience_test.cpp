// Health and resilience end to end: the real tg-control (health checks,
// events), a real tg-proxy subscribed to it (retries, per-try timeouts,
// breakers), and three tg-test-backend processes registered as the instances
// of one service. A backend is SIGKILLed, SIGSTOPped, restarted on its port or
// drained while test threads keep a steady GET load on the proxy: clients see
// no error, tg-control flips the health (with an event) and pushes it, the
// proxy ejects and takes the instance back. Every wait polls with a deadline.
#include "control/support/control_process.hpp"
#include "control/support/instances.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend_process.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

constexpr int interval_ms = 300, timeout_ms = 200, healthy_threshold = 2, unhealthy_threshold = 2;
// How long tg-control may take to mark a dead instance unhealthy.
constexpr auto unhealthy_budget = std::chrono::milliseconds(interval_ms * unhealthy_threshold + timeout_ms + 1000);

// The service's resilience settings under test (YAML flow mappings).
struct Resilience {
  std::string outlier =
      "{ consecutive_failures: 3, base_ejection: 60s, max_ejection: 60s, max_ejection_percent: 50 }";
  std::string retry = "{ attempts: 3, on: [connect_failure, reset, timeout], per_try_timeout: 250ms, "
                      "budget_percent: 100, min_retries_per_second: 100 }";
};

std::string service_yaml(const std::vector<const BackendProcess*>& backends, const Resilience& resilience) {
  std::string yaml =
      "tenants:\n  - id: acme\n"
      "services:\n"
      "  - name: web\n    tenant: acme\n"
      "    lb: { policy: round_robin }\n"
      "    health_check: { type: http, path: /healthz, interval: " + std::to_string(interval_ms) +
      "ms, timeout: " + std::to_string(timeout_ms) + "ms, healthy_threshold: " + std::to_string(healthy_threshold) +
      ", unhealthy_threshold: " + std::to_string(unhealthy_threshold) + " }\n"
      "    outlier: " + resilience.outlier + "\n"
      "    retry: " + resilience.retry + "\n"
      "    timeouts: { connect: 250ms }\n"
      "    instances:\n";
  for (const BackendProcess* backend : backends)
    yaml += "      - { id: " + backend->name() + ", address: " + backend->address() + " }\n";
  yaml += "routes:\n  - name: web\n    match: { host: web.example }\n    service: web\n";
  return yaml;
}

ControlOptions control_options() {
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  return options;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// tg-control with the service, three backends, one subscribed tg-proxy (one
// worker: one breaker per instance), all healthy and all answering.
struct Cluster {
  BackendProcess a, b, c;
  ControlProcess control{control_options()};
  TempDir state{"tg-itest-resilience-proxy"};
  std::unique_ptr<ProxyProcess> proxy;

  explicit Cluster(const Resilience& resilience = {}, std::chrono::milliseconds slow_delay = 2s)
      : a("a", slow_delay), b("b", slow_delay), c("c", slow_delay) {
    const auto file = control.write("web.yaml", service_yaml({&a, &b, &c}, resilience));
    const TgctlResult applied = tgctl(control, {"apply", "-f", file.string()});
    INFO(applied.describe());
    REQUIRE(applied.exit_code == 0);
    proxy = subscribed_proxy(control.grpc_address(), "p1", state.path());
    REQUIRE(poll_for(15s, [&] { return health_is("a", v1::HEALTH_HEALTHY) && health_is("b", v1::HEALTH_HEALTHY) &&
                                       health_is("c", v1::HEALTH_HEALTHY); }, 20ms));
    for (const std::string name : {"a", "b", "c"})
      REQUIRE(poll_for(10s, [&] { return answer(*proxy, "web.example") == name; }, 2ms));
  }

  bool health_is(const std::string& id, v1::Health health) const {
    const auto all = discover(control, "web");
    const auto it = all.find(id);
    return it != all.end() && it->second.health() == health;
  }

  v1::Instance instance(const std::string& id) const { return discover(control, "web").at(id); }

  double breaker(const std::string& instance, const std::string& label, const std::string& value) const {
    const char* metric = label == "state" ? "tg_upstream_breaker_state" : "tg_upstream_breaker_transitions_total";
    return proxy->metrics().sum(metric, {{"service", "web"}, {"instance", instance}, {label, value}});
  }

  // The instance's entry in the proxy's /config (admin_state, in_flight...).
  boost::json::object config_of(const std::string& id) const {
    const auto root = boost::json::parse(proxy->admin_get("/config").body).as_object();
    for (const auto& service : root.at("services").as_array())
      if (service.at("name") == "web")
        for (const auto& instance : service.at("instances").as_array())
          if (instance.at("id") == id.c_str()) return instance.as_object();
    return {};
  }
};

// Client threads sending GET / through the proxy, one after another, until
// stopped; answers counted per backend (X-Backend-Name), anything but a 200
// kept as an error.
class Load {
 public:
  explicit Load(std::uint16_t port, int threads = 2) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this, port] {
        while (!stop_) {
          std::string error;
          try {
            const HttpResponse response = http_get(port, "/", {{"Host", "web.example"}}, 5s);
            if (response.status == 200) {
              std::lock_guard lock(mutex_);
              ++answers_[response.header("X-Backend-Name")];
            } else {
              error = std::to_string(response.status) + " " + response.body;
            }
          } catch (const std::exception& e) {
            error = e.what();
          }
          if (!error.empty()) {
            std::lock_guard lock(mutex_);
            errors_.push_back(error);
          }
          std::this_thread::sleep_for(3ms);
        }
      });
  }
  ~Load() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& thread : threads_)
      if (thread.joinable()) thread.join();
  }
  std::uint64_t answers(const std::string& backend) {
    std::lock_guard lock(mutex_);
    return answers_[backend];
  }
  std::map<std::string, std::uint64_t> all_answers() {
    std::lock_guard lock(mutex_);
    return answers_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }
  // True once `backend` answered `more` requests beyond what it had at the call.
  bool answers_more(const std::string& backend, std::uint64_t more, std::chrono::milliseconds timeout) {
    const std::uint64_t start = answers(backend);
    return poll_for(timeout, [&] { return answers(backend) >= start + more; }, 10ms);
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> answers_;
  std::vector<std::string> errors_;
};

// Reads from `socket` until `received` contains `expected`.
bool receive_until(TcpSocket& socket, std::string& received, const std::string& expected,
                   std::chrono::milliseconds timeout = 3s) {
  return poll_for(timeout, [&] {
    try {
      socket.receive_some(received, 65536, 20ms);
    } catch (const SocketError& error) {
      if (error.kind() != SocketError::Kind::timeout) return true;
    }
    return received.find(expected) != std::string::npos;
  }) && received.find(expected) != std::string::npos;
}

}  // namespace

TEST_CASE("resilience: a SIGKILLed backend costs clients nothing, goes unhealthy with an event, and comes back "
          "on its port",
          "[proxy][control][resilience]") {
  Resilience resilience;
  resilience.outlier = "{ consecutive_failures: 3, base_ejection: 1s, max_ejection: 2s, max_ejection_percent: 50 }";
  Cluster cluster(resilience);
  Load load(cluster.proxy->port());
  REQUIRE(load.answers_more("b", 20, 10s));

  const std::int64_t killed_at = unix_ms_now();
  cluster.b.kill();
  v1::Instance down;
  REQUIRE(poll_for(unhealthy_budget + 5s, [&] {
    down = cluster.instance("b");
    return down.health() == v1::HEALTH_UNHEALTHY;
  }, 20ms));
  CHECK(down.health_reason() == "connect refused");
  // tg-control's own time of the flip, within interval x unhealthy_threshold + timeout + 1 s.
  CHECK(down.health_changed_unix_ms() - killed_at <= unhealthy_budget.count());
  WARN("SIGKILL -> unhealthy: " << down.health_changed_unix_ms() - killed_at << " ms (budget "
                                 << unhealthy_budget.count() << " ms)");
  const auto events = events_of(cluster.control, "b");
  const v1::Event* event = find_event(events, "healthy -> unhealthy (connect refused)");
  INFO(tgctl(cluster.control, {"events", "list"}).out);
  REQUIRE(event != nullptr);
  CHECK(event->kind() == "health");
  CHECK(event->service() == "web");
  CHECK(event->source() == "health-check");

  // The others carry the load meanwhile.
  REQUIRE(load.answers_more("a", 20, 5s));
  REQUIRE(load.answers_more("c", 20, 5s));

  // Back on the same port: healthy after healthy_threshold passes, and traffic again.
  cluster.b.restart();
  v1::Instance up;
  REQUIRE(poll_for(10s, [&] {
    up = cluster.instance("b");
    return up.health() == v1::HEALTH_HEALTHY;
  }, 20ms));
  CHECK(up.health_reason() == "http 200");
  CHECK(find_event(events_of(cluster.control, "b"), "unhealthy -> healthy (http 200)") != nullptr);
  CHECK(load.answers_more("b", 20, 10s));
  load.stop();
  const auto errors = load.errors();
  CAPTURE(load.all_answers());
  CHECK(errors.empty());
  if (!errors.empty()) FAIL_CHECK("first client error: " << errors.front() << "\n" << cluster.proxy->describe());
}

TEST_CASE("resilience: a SIGSTOPped backend is ejected by the proxy and marked unhealthy, clients see no error, "
          "and it is back after SIGCONT",
          "[proxy][control][resilience]") {
  Resilience resilience;
  resilience.outlier = "{ consecutive_failures: 3, base_ejection: 1s, max_ejection: 2s, max_ejection_percent: 50 }";
  Cluster cluster(resilience);
  Load load(cluster.proxy->port());
  REQUIRE(load.answers_more("b", 20, 10s));

  const auto stopped_at = Clock::now();
  cluster.b.send_signal(SIGSTOP);
  // The proxy's tries time out (per_try_timeout) and are retried elsewhere;
  // its breaker opens; tg-control's HTTP probes time out.
  REQUIRE(poll_for(5s, [&] { return cluster.breaker("b", "reason", "consecutive_failures") >= 1; }, 20ms));
  REQUIRE(poll_for(5s, [&] { return cluster.health_is("b", v1::HEALTH_UNHEALTHY); }, 20ms));
  CHECK(cluster.instance("b").health_reason() == "timeout");
  CHECK(find_event(events_of(cluster.control, "b"), "healthy -> unhealthy (timeout)") != nullptr);
  // Stopped for 6 s in all, under load.
  std::this_thread::sleep_until(stopped_at + 6s);
  REQUIRE(load.answers_more("a", 10, 5s));
  cluster.b.send_signal(SIGCONT);

  REQUIRE(poll_for(10s, [&] { return cluster.health_is("b", v1::HEALTH_HEALTHY); }, 20ms));
  CHECK(load.answers_more("b", 20, 10s));
  load.stop();
  const auto errors = load.errors();
  CAPTURE(load.all_answers());
  CHECK(errors.empty());
  if (!errors.empty()) FAIL_CHECK("first client error: " << errors.front() << "\n" << cluster.proxy->describe());
}

TEST_CASE("resilience: a health flip to healthy pushed by tg-control closes the proxy's open breaker at once",
          "[proxy][control][resilience]") {
  Cluster cluster;  // base_ejection 60s: only the health flip can close the breaker within this test
  Load load(cluster.proxy->port());
  REQUIRE(load.answers_more("b", 20, 10s));

  cluster.b.kill();
  REQUIRE(poll_for(5s, [&] { return cluster.breaker("b", "state", "open") == 1; }, 20ms));
  REQUIRE(poll_for(unhealthy_budget + 5s, [&] { return cluster.health_is("b", v1::HEALTH_UNHEALTHY); }, 20ms));
  CHECK(cluster.breaker("b", "reason", "health_recovered") == 0);

  cluster.b.restart();
  const auto restarted = Clock::now();
  REQUIRE(poll_for(10s, [&] { return cluster.health_is("b", v1::HEALTH_HEALTHY); }, 20ms));
  REQUIRE(poll_for(5s, [&] { return cluster.breaker("b", "reason", "health_recovered") == 1; }, 20ms));
  CHECK(cluster.breaker("b", "state", "closed") == 1);
  REQUIRE(load.answers_more("b", 20, 10s));
  CHECK(Clock::now() - restarted < 20s);  // long before the 60 s ejection ends
  WARN("restart -> b answering again: " << elapsed_ms(restarted) << " ms (base_ejection 60 s)");
  load.stop();
  const auto errors = load.errors();
  CAPTURE(load.all_answers());
  CHECK(errors.empty());
  if (!errors.empty()) FAIL_CHECK("first client error: " << errors.front() << "\n" << cluster.proxy->describe());
}

TEST_CASE("resilience: a draining instance finishes its slow request and keeps its tunnel, takes no new request, "
          "and its in-flight count goes to 0",
          "[proxy][control][resilience][drain]") {
  Resilience resilience;
  resilience.retry = "{ attempts: 2, on: [connect_failure, reset] }";  // no per-try limit: /slow takes 3 s
  Cluster cluster(resilience, 3s);
  const std::uint16_t port = cluster.proxy->port();

  // A tunnel: its instance is the one to drain.
  TcpSocket tunnel(port, 2s);
  tunnel.send_all("GET /ws HTTP/1.1\r\nHost: web.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  2s);
  std::string received;
  REQUIRE(receive_until(tunnel, received, "\r\n\r\n"));
  REQUIRE(received.rfind("HTTP/1.1 101 ", 0) == 0);
  const auto name_at = received.find("X-Backend-Name: ");
  REQUIRE(name_at != std::string::npos);
  const std::string drained = received.substr(name_at + 16, received.find("\r\n", name_at) - name_at - 16);
  received.clear();
  tunnel.send_all("ping-1", 2s);
  REQUIRE(receive_until(tunnel, received, "ping-1"));

  // Three slow requests at once: round robin sends one to each instance.
  std::vector<std::unique_ptr<HttpClient>> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(std::make_unique<HttpClient>(port, 10s));
    slow.back()->send("GET /slow HTTP/1.1\r\nHost: web.example\r\n\r\n");
  }
  REQUIRE(poll_for(2s, [&] { return cluster.config_of(drained)["in_flight"].to_number<std::int64_t>() >= 1; }));

  const TgctlResult set = tgctl(cluster.control, {"instances", "set-state", drained, "draining"});
  INFO(set.describe());
  REQUIRE(set.exit_code == 0);
  REQUIRE(poll_for(5s, [&] {
    const auto instance = cluster.config_of(drained);
    return instance.contains("admin_state") && instance.at("admin_state") == "draining";
  }, 10ms));
  CHECK(cluster.config_of(drained)["pickable"] == false);

  // No new request reaches it.
  std::map<std::string, int> answered_by;
  for (int i = 0; i < 30; ++i) ++answered_by[answer(*cluster.proxy, "web.example")];
  CAPTURE(answered_by);
  CHECK_FALSE(answered_by.contains(drained));
  CHECK(answered_by.size() == 2);  // the two others, nothing failed
  // The tunnel still carries data both ways.
  received.clear();
  tunnel.send_all("ping-2", 2s);
  CHECK(receive_until(tunnel, received, "ping-2"));

  // The slow requests complete, the drained instance's included.
  std::map<std::string, int> slow_by;
  for (auto& client : slow) {
    const HttpResponse response = client->read_response();
    CHECK(response.status == 200);
    ++slow_by[response.header("X-Backend-Name")];
  }
  CAPTURE(slow_by);
  CHECK(slow_by[drained] == 1);
  received.clear();
  tunnel.send_all("ping-3", 2s);
  CHECK(receive_until(tunnel, received, "ping-3"));

  // Once the tunnel closes nothing is in flight to the drained instance.
  tunnel.close();
  CHECK(poll_for(5s, [&] { return cluster.config_of(drained)["in_flight"].to_number<std::int64_t>() == 0; }, 20ms));
}
