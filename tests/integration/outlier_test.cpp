// Breakers (outlier ejection), the retry budget and request fates
// (docs/life-of-a-request.md, Breakers and Retries), through the real proxy.
// Assertions are on what the backends saw and on /metrics and the access
// log, never on wall-clock bounds.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace tg::itest;

namespace {

std::string instance_id(const std::string& address) { return "svc/" + address; }

double breaker_state(const ProxyProcess& proxy, const std::string& address, const std::string& state) {
  return proxy.metrics().sum("tg_upstream_breaker_state", {{"instance", instance_id(address)}, {"state", state}});
}

double transitions(const ProxyProcess& proxy, const std::string& address, const std::string& reason) {
  return proxy.metrics().sum("tg_upstream_breaker_transitions_total",
                             {{"instance", instance_id(address)}, {"reason", reason}});
}

double ejected(const ProxyProcess& proxy) {
  const PrometheusText m = proxy.metrics();
  return m.sum("tg_upstream_breaker_state", {{"state", "open"}}) +
         m.sum("tg_upstream_breaker_state", {{"state", "half_open"}});
}

double fates(const ProxyProcess& proxy, const std::string& fate) {
  return proxy.metrics().sum("tg_request_fates_total", {{"route", "all"}, {"fate", fate}});
}

// The worker that handled a request: the proxy's request id is
// "<hex>-<worker>-<counter>", and the echo backend lists the headers it got.
std::string worker_of(const HttpResponse& response) {
  const std::string key = "\"X-Request-Id\",\"";
  std::size_t at = response.body.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  const std::size_t first = response.body.find('-', at);
  const std::size_t second = response.body.find('-', first + 1);
  if (first == std::string::npos || second == std::string::npos) return "";
  return response.body.substr(first + 1, second - first - 1);
}

// Answers 503 to every second request it reads (the first included), 200 to the others.
struct HalfFailing {
  std::atomic<int> heads{0};
  RawServer server{[this](TcpSocket& connection) {
    for (;;) {
      read_head(connection, 30s);
      const int n = ++heads;
      if (n % 2 == 1) {
        connection.send_all("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", 5s);
      } else {
        connection.send_all("HTTP/1.1 200 OK\r\nX-Backend-Name: flaky\r\nContent-Length: 2\r\n\r\nok", 5s);
      }
    }
  }};
};

}  // namespace

TEST_CASE("a backend answering 503 half the time is ejected, then closed again by a probe",
          "[proxy][outlier]") {
  HalfFailing flaky;
  Backend good("good");
  const std::string flaky_address = flaky.server.address();
  ProxyProcess proxy(single_service_config(
      {flaky_address, good.address()},
      {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [\"503\"] }",
       "outlier: { consecutive_failures: 1, count_5xx: true, base_ejection: 300ms, max_ejection: 1s }"}));
  HttpClient client(proxy.port());
  // Every answer is a 200: the 503s are retried on the good instance.
  int requests = 0;
  const bool reopened_and_closed = poll_for(20s, [&] {
    const HttpResponse response = client.get("/r" + std::to_string(requests++));
    REQUIRE(response.status == 200);
    return transitions(proxy, flaky_address, "probe_succeeded") >= 1;
  }, 0ms);
  REQUIRE(reopened_and_closed);
  CHECK(transitions(proxy, flaky_address, "consecutive_failures") >= 1);
  CHECK(transitions(proxy, flaky_address, "ejection_over") >= 1);
  CHECK(fates(proxy, "retried_ok") >= 1);
  // The good instance is never ejected.
  CHECK(transitions(proxy, good.address(), "consecutive_failures") == 0);
}

TEST_CASE("an ejected instance gets no request while open", "[proxy][outlier]") {
  HalfFailing flaky;
  Backend good("good");
  const std::string flaky_address = flaky.server.address();
  ProxyProcess proxy(single_service_config(
      {flaky_address, good.address()},
      {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [\"503\"] }",
       "outlier: { consecutive_failures: 1, count_5xx: true, base_ejection: 60s }"}));
  HttpClient client(proxy.port());
  REQUIRE(poll_for(5s, [&] {
    REQUIRE(client.get("/warm").status == 200);
    return flaky.heads.load() >= 1;
  }, 0ms));
  CHECK(metric_settles(proxy, "tg_upstream_breaker_state", {{"instance", instance_id(flaky_address)}, {"state", "open"}},
                       1) == 1);
  const int seen = flaky.heads.load();
  for (int i = 0; i < 20; ++i) {
    const HttpResponse response = client.get("/r" + std::to_string(i));
    REQUIRE(response.status == 200);
    CHECK(response.header("x-backend-name") == "good");
  }
  CHECK(flaky.heads.load() == seen);
  CHECK(breaker_state(proxy, flaky_address, "open") == 1);
}

TEST_CASE("a 429 with Retry-After backs the instance off until a probe after it", "[proxy][outlier]") {
  Behaviour limited_behaviour = Behaviour::fixed(429, "slow down");
  limited_behaviour.headers.add("Retry-After", "2");
  Backend limited("limited", limited_behaviour);
  Backend good("good");
  ProxyProcess proxy(single_service_config({limited.address(), good.address()},
                                           {"lb: { policy: round_robin }", "retry: { attempts: 1 }",
                                            "outlier: { consecutive_failures: 5, base_ejection: 10s }"}));
  HttpClient client(proxy.port());
  REQUIRE(poll_for(5s, [&] {
    client.get("/first");
    return limited.requests() == 1;
  }, 0ms));
  CHECK(metric_settles(proxy, "tg_upstream_breaker_transitions_total",
                       {{"instance", instance_id(limited.address())}, {"reason", "retry_after"}}, 1) == 1);
  // Backed off: requests go to the good instance until the limited one is
  // admitted again, as a half-open probe once its Retry-After has passed.
  int to_good = 0;
  const bool probed = poll_for(15s, [&] {
    const HttpResponse response = client.get("/next");
    if (response.status == 200 && response.header("x-backend-name") == "good") ++to_good;
    return limited.requests() == 2;
  }, 5ms);
  REQUIRE(probed);
  CHECK(to_good >= 1);
  CHECK(transitions(proxy, limited.address(), "ejection_over") == 1);
  // The probe was answered 429 + Retry-After again: backed off once more.
  CHECK(metric_settles(proxy, "tg_upstream_breaker_transitions_total",
                       {{"instance", instance_id(limited.address())}, {"reason", "retry_after"}}, 2) == 2);
}

TEST_CASE("all instances down: ejected, then a fast 503 with fate ejected_all", "[proxy][outlier][fate]") {
  ClosedPort a;
  ClosedPort b;
  ProxyOptions options;
  options.access_log = true;
  ProxyProcess proxy(single_service_config(
                         {a.address(), b.address()},
                         {"retry: { attempts: 2, on: [connect_failure] }",
                          "outlier: { consecutive_failures: 1, max_ejection_percent: 100, base_ejection: 60s }"}),
                     options);
  HttpClient client(proxy.port());
  // Both tries fail and eject both instances.
  check_error_response(client.get("/first"), 502, "connect_failure");
  CHECK(metric_settles(proxy, "tg_upstream_breaker_state", {{"state", "open"}}, 2) == 2);
  check_error_response(client.get("/second"), 503, "ejected");
  CHECK(metric_settles(proxy, "tg_request_fates_total", {{"fate", "attempts_exhausted"}}, 1) == 1);
  CHECK(metric_settles(proxy, "tg_request_fates_total", {{"fate", "ejected_all"}}, 1) == 1);
  // No third try reached an instance.
  CHECK(proxy.metrics().sum("tg_upstream_errors_total", {{"kind", "connect_failure"}}) == 2);
  std::string log;
  REQUIRE(poll_for(3s, [&] {
    log = read_file(proxy.access_log_path());
    return log.find("\"fate\":\"ejected_all\"") != std::string::npos;
  }, 20ms));
  CHECK(log.find("\"fate\":\"attempts_exhausted\"") != std::string::npos);
}

TEST_CASE("the retry budget holds when every instance fails", "[proxy][retry][budget][fate]") {
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<InstanceSpec> instances;
  for (int i = 0; i < 4; ++i) {
    backends.push_back(std::make_unique<Backend>("b" + std::to_string(i), Behaviour::of(BackendMode::reset)));
    instances.emplace_back(backends.back()->address());
  }
  const auto tries = [&] {
    std::uint64_t n = 0;
    for (const auto& b : backends) n += b->requests();
    return n;
  };
  constexpr int kRequests = 10;
  SECTION("20%, no minimum: one request at a time is never retried") {
    ProxyProcess proxy(single_service_config(
        instances, {"retry: { attempts: 3, on: [reset], budget_percent: 20, min_retries_per_second: 0 }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < kRequests; ++i) check_error_response(client.get("/x"), 502, "upstream_reset");
    CHECK(tries() == kRequests);
    CHECK(metric_settles(proxy, "tg_request_fates_total", {{"fate", "retry_budget_exhausted"}}, kRequests) ==
          kRequests);
  }
  SECTION("100%: every try the rule allows") {
    ProxyProcess proxy(single_service_config(
        instances, {"retry: { attempts: 3, on: [reset], budget_percent: 100, min_retries_per_second: 0 }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < kRequests; ++i) check_error_response(client.get("/x"), 502, "upstream_reset");
    CHECK(tries() == 3 * kRequests);
    CHECK(metric_settles(proxy, "tg_request_fates_total", {{"fate", "attempts_exhausted"}}, kRequests) == kRequests);
  }
  SECTION("20% with a minimum of 2 per second: at most 2 retries in a burst within a second") {
    ProxyProcess proxy(single_service_config(
        instances, {"retry: { attempts: 3, on: [reset], budget_percent: 20, min_retries_per_second: 2 }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < kRequests; ++i) check_error_response(client.get("/x"), 502, "upstream_reset");
    // Each one-second window allows two retries; however the requests fall
    // into windows, a window holds at least one request's tries.
    const std::uint64_t retries = tries() - kRequests;
    CHECK(retries >= 2);
    CHECK(retries < 2 * kRequests);
  }
}

TEST_CASE("max_ejection_percent ejects exactly the documented number", "[proxy][outlier]") {
  // Every instance refuses connections, one failure ejects, no retries: each
  // instance fails once per round of round robin, and the cap stops ejection.
  // 10%: one of 2, 3 or 10. 50%: one of 2, one of 3, five of 10.
  const auto run = [](int instances, int percent) {
    std::vector<std::unique_ptr<ClosedPort>> ports;
    std::vector<InstanceSpec> specs;
    for (int i = 0; i < instances; ++i) {
      ports.push_back(std::make_unique<ClosedPort>());
      specs.emplace_back(ports.back()->address());
    }
    ProxyProcess proxy(single_service_config(
        specs, {"lb: { policy: round_robin }", "retry: { attempts: 1 }",
                "outlier: { consecutive_failures: 1, base_ejection: 60s, max_ejection_percent: " +
                    std::to_string(percent) + " }"}));
    HttpClient client(proxy.port());
    for (int i = 0; i < 3 * instances; ++i) client.get("/x");
    return ejected(proxy);
  };
  SECTION("10%") {
    CHECK(run(2, 10) == 1);
    CHECK(run(3, 10) == 1);
    CHECK(run(10, 10) == 1);
  }
  SECTION("50%") {
    CHECK(run(2, 50) == 1);
    CHECK(run(3, 50) == 1);
    CHECK(run(10, 50) == 5);
  }
}

TEST_CASE("panic: below half the instances admitting, every instance is used again", "[proxy][outlier]") {
  ClosedPort a, b, c;
  Backend good("good");
  ProxyProcess proxy(single_service_config(
      {a.address(), b.address(), c.address(), good.address()},
      {"lb: { policy: round_robin }", "retry: { attempts: 1 }",
       "outlier: { consecutive_failures: 1, base_ejection: 60s, max_ejection_percent: 100 }"}));
  HttpClient client(proxy.port());
  // Two of four ejected: half still admit, the ejected ones are skipped.
  // The third ejection leaves one of four: panic.
  REQUIRE(poll_for(5s, [&] {
    client.get("/x");
    return ejected(proxy) == 3;
  }, 0ms));
  const PrometheusText before = proxy.metrics();
  for (int i = 0; i < 20; ++i) client.get("/p");
  const PrometheusText after = proxy.metrics();
  for (const ClosedPort* port : {&a, &b, &c}) {
    const Labels labels{{"instance", instance_id(port->address())}, {"kind", "connect_failure"}};
    INFO(port->address());
    CHECK(after.sum("tg_upstream_errors_total", labels) > before.sum("tg_upstream_errors_total", labels));
  }
  CHECK(good.requests() >= 5);
}

namespace {

// An upstream that can be frozen: while frozen it accepts and reads requests
// but answers none (as a stopped process would, its kernel still accepting);
// thawed, it answers again.
struct Freezable {
  std::atomic<bool> frozen{false};
  std::atomic<int> heads{0};
  RawServer server{[this](TcpSocket& connection) {
    for (;;) {
      read_head(connection, 30s);
      ++heads;
      while (frozen.load()) std::this_thread::sleep_for(5ms);
      connection.send_all("HTTP/1.1 200 OK\r\nX-Backend-Name: freezable\r\nContent-Length: 2\r\n\r\nok", 5s);
    }
  }};
};

}  // namespace

TEST_CASE("an instance frozen under load: no client error, ejected, and back after it thaws",
          "[proxy][outlier][retry]") {
  Freezable freezable;
  Backend b("b");
  Backend c("c");
  const std::string frozen_address = freezable.server.address();
  ProxyProcess proxy(single_service_config(
      {frozen_address, b.address(), c.address()},
      {"lb: { policy: round_robin }",
       "retry: { attempts: 3, on: [connect_failure, reset, timeout], per_try_timeout: 250ms, budget_percent: 50, "
       "min_retries_per_second: 20 }",
       "outlier: { consecutive_failures: 2, base_ejection: 500ms, max_ejection: 2s }"}));

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      try {
        HttpClient client(proxy.port());
        while (!stop.load()) {
          if (client.get("/load").status == 200) {
            ++ok;
          } else {
            ++errors;
          }
        }
      } catch (const std::exception&) {
        ++errors;
      }
    });
  }
  const auto stop_load = [&] {
    stop = true;
    for (auto& thread : load) thread.join();
  };
  const bool warmed = poll_for(10s, [&] { return freezable.heads.load() >= 5; });
  freezable.frozen = true;
  const bool ejected_now = poll_for(10s, [&] { return transitions(proxy, frozen_address, "consecutive_failures") >= 1; },
                                    20ms);
  // Frozen a while longer: probes fail and it is ejected again.
  const int ok_while_frozen = ok.load();
  const bool served_while_frozen = poll_for(10s, [&] { return ok.load() >= ok_while_frozen + 200; }, 20ms);
  freezable.frozen = false;
  const bool back = poll_for(15s, [&] { return transitions(proxy, frozen_address, "probe_succeeded") >= 1; }, 20ms);
  const int heads_when_back = freezable.heads.load();
  const bool serving_again = poll_for(10s, [&] { return freezable.heads.load() >= heads_when_back + 5; }, 20ms);
  stop_load();
  REQUIRE(warmed);
  CHECK(ejected_now);
  CHECK(served_while_frozen);
  CHECK(back);
  CHECK(serving_again);
  CHECK(errors.load() == 0);
  CHECK(ok.load() > 0);
  CHECK(breaker_state(proxy, frozen_address, "closed") == 1);
}

TEST_CASE("two workers: consecutive_failures counted across the proxy eject the instance for both",
          "[proxy][outlier][workers]") {
  Backend bad("bad", Behaviour::of(BackendMode::reset));
  Backend good("good");
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(single_service_config({bad.address(), good.address()},
                                           {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [reset] }",
                                            "outlier: { consecutive_failures: 2, base_ejection: 60s }"}),
                     options);
  // One request at a time, each on a connection of its own: the kernel
  // spreads the connections over both workers, nothing is in flight when a
  // failure is counted.
  std::set<std::string> workers;
  for (int i = 0; i < 60; ++i) {
    HttpClient client(proxy.port());
    const HttpResponse response = client.get("/r" + std::to_string(i));
    REQUIRE(response.status == 200);
    workers.insert(worker_of(response));
  }
  CHECK(workers == std::set<std::string>{"0", "1"});
  // Two failures for the proxy, then no worker sends it anything.
  CHECK(bad.requests() == 2);
  CHECK(transitions(proxy, bad.address(), "consecutive_failures") == 1);
  CHECK(breaker_state(proxy, bad.address(), "open") == 1);
  CHECK(breaker_state(proxy, bad.address(), "closed") == 0);
}

TEST_CASE("two workers: half_open_probes probes for the proxy when an ejection ends", "[proxy][outlier][workers]") {
  // Resets /eject (fast failures); never answers anything else (a probe
  // stays under way until its per_try_timeout).
  Backend bad("bad", Behaviour::of(BackendMode::never_answer));
  bad.on_path("/eject", Behaviour::of(BackendMode::reset));
  Backend good("good");
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(
      single_service_config({bad.address(), good.address()},
                            {"lb: { policy: round_robin }",
                             "retry: { attempts: 2, on: [reset, timeout], per_try_timeout: 3s, budget_percent: 100 }",
                             "outlier: { consecutive_failures: 2, base_ejection: 200ms, half_open_probes: 2 }"}),
      options);
  REQUIRE(poll_for(10s, [&] {
    HttpClient client(proxy.port());
    client.get("/eject");
    return transitions(proxy, bad.address(), "consecutive_failures") >= 1;
  }, 0ms));
  const std::uint64_t failures = bad.requests();
  CHECK(failures == 2);

  // Load on many connections while the ejection ends: two probes go to the
  // instance and hang there, the rest to the good one.
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::mutex mutex;
  std::set<std::string> workers;
  std::vector<std::thread> load;
  for (int t = 0; t < 6; ++t) {
    load.emplace_back([&] {
      while (!stop.load()) {
        try {
          HttpClient client(proxy.port(), 10s);
          const HttpResponse response = client.get("/probe");
          if (response.status != 200) continue;
          ++served;
          std::lock_guard lock(mutex);
          workers.insert(worker_of(response));
        } catch (const std::exception&) {
        }
      }
    });
  }
  const bool probed = poll_for(10s, [&] { return bad.requests() >= failures + 2; }, 5ms);
  // While the probes hang: many more requests, none of them a third probe.
  const int served_then = served.load();
  const bool more = poll_for(10s, [&] { return served.load() >= served_then + 100; }, 5ms);
  const double probe_failed = transitions(proxy, bad.address(), "probe_failed");
  const std::uint64_t seen = bad.requests();
  stop = true;
  for (auto& thread : load) thread.join();
  REQUIRE(probed);
  CHECK(more);
  CHECK(probe_failed == 0);  // still the first half-open period
  CHECK(seen == failures + 2);
  CHECK(transitions(proxy, bad.address(), "ejection_over") == 1);
  std::lock_guard lock(mutex);
  CHECK(workers == std::set<std::string>{"0", "1"});
}
