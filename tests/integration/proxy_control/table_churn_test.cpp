// Registry churn under load, end to end: the real tg-control and a real
// tg-proxy subscribed to it, two tg-test-backend instances behind a
// least_request service with breakers, four keep-alive clients sending GETs
// through the proxy, and 1,000 registry changes (instances registered and
// deregistered, routes created and deleted, on another service) applied by
// the proxy as delta updates. No client request fails, and the workers'
// state of the unchanged instances is the same objects throughout: an
// in-flight request's count stays on its instance, response counters never
// go back.
#include "control/support/control_process.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend_process.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/temp_dir.hpp"

#include "tenantgate/v1/admin.grpc.pb.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

// Clients on keep-alive connections, each sending GET / for web.example one
// after another until stopped; every answer but a 200 (or a failed
// exchange) is kept as an error.
class KeepAliveLoad {
 public:
  KeepAliveLoad(std::uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i)
      threads_.emplace_back([this, port] {
        std::unique_ptr<HttpClient> client;
        while (!stop_) {
          try {
            if (!client) client = std::make_unique<HttpClient>(port, 5s);
            const HttpResponse response = client->get("/", {{"Host", "web.example"}});
            ++answered_;
            if (response.status != 200) error(std::to_string(response.status) + " " + response.body);
            if (response.header("Connection") == "close") client.reset();
          } catch (const std::exception& e) {
            error(e.what());
            client.reset();
          }
          std::this_thread::sleep_for(1ms);  // leaves the 2 cores to the proxy and tg-control too
        }
      });
  }
  ~KeepAliveLoad() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& thread : threads_)
      if (thread.joinable()) thread.join();
  }
  std::uint64_t answered() const { return answered_; }
  std::vector<std::string> errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }

 private:
  void error(std::string what) {
    std::lock_guard lock(mutex_);
    errors_.push_back(std::move(what));
  }
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> answered_{0};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::vector<std::string> errors_;
};

ControlOptions control_options() {
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  return options;
}

grpc::Status write_change(v1::Admin::Stub& stub, int n) {
  // Instances registered then deregistered two steps later, routes created
  // then deleted two steps later, all on the service `churn`.
  const int step = n % 4;
  const std::string k = std::to_string(n / 4);
  const std::string before = std::to_string(n / 4 - 1);
  v1::Instance instance_reply;
  v1::Route route_reply;
  v1::DeleteResponse deleted;
  switch (step) {
    case 0: {
      v1::RegisterInstanceRequest request;
      request.mutable_instance()->set_id("churn-" + k);
      request.mutable_instance()->set_service("churn");
      request.mutable_instance()->set_address("127.0.0.1:" + std::to_string(20000 + n / 4 % 1000));
      return stub.RegisterInstance(admin_context().get(), request, &instance_reply);
    }
    case 1: {
      v1::CreateRouteRequest request;
      request.mutable_route()->set_name("churn-" + k);
      request.mutable_route()->set_service("churn");
      request.mutable_route()->mutable_match()->set_host("churn-" + k + ".example");
      return stub.CreateRoute(admin_context().get(), request, &route_reply);
    }
    case 2: {
      if (n < 4) return grpc::Status::OK;
      v1::DeregisterInstanceRequest request;
      request.set_id("churn-" + before);
      return stub.DeregisterInstance(admin_context().get(), request, &deleted);
    }
    default: {
      if (n < 4) return grpc::Status::OK;
      v1::DeleteRouteRequest request;
      request.set_name("churn-" + before);
      return stub.DeleteRoute(admin_context().get(), request, &deleted);
    }
  }
}

v1::ProxyStatus proxy_status(v1::Admin::Stub& stub) {
  v1::ListProxiesResponse list;
  REQUIRE(stub.ListProxies(admin_context().get(), v1::ListProxiesRequest{}, &list).ok());
  REQUIRE(list.proxies_size() == 1);
  return list.proxies(0);
}

}  // namespace

TEST_CASE("table churn: 1,000 registry changes under keep-alive load fail no request and keep the state of "
          "unchanged instances",
          "[proxy][control][delta]") {
  BackendProcess a("a", 120s), b("b", 120s);
  ControlProcess control(control_options());
  const std::string yaml =
      "tenants:\n  - id: acme\n"
      "services:\n"
      "  - name: web\n    tenant: acme\n"
      "    lb: { policy: least_request }\n"
      "    outlier: { consecutive_failures: 5, base_ejection: 10s }\n"
      "    instances:\n"
      "      - { id: a, address: " + a.address() + " }\n"
      "      - { id: b, address: " + b.address() + " }\n"
      "  - name: churn\n    tenant: acme\n    instances:\n      - { id: churn-base, address: 127.0.0.1:19999 }\n"
      "routes:\n  - name: web\n    match: { host: web.example }\n    service: web\n";
  const TgctlResult applied = tgctl(control, {"apply", "-f", control.write("web.yaml", yaml).string()});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);
  TempDir state("tg-itest-churn-proxy");
  auto proxy = subscribed_proxy(control.grpc_address(), "p1", state.path(), 2);
  REQUIRE(poll_for(10s, [&] { return answer(*proxy, "web.example") == "a" || answer(*proxy, "web.example") == "b"; }));
  auto stub = control.stub();

  // One request held in flight on one instance for the whole test.
  std::thread slow([&] {
    try {
      HttpClient client(proxy->port(), 150s);
      client.get("/slow", {{"Host", "web.example"}});
    } catch (const std::exception&) {
      // ended by the backends' end at the end of the test
    }
  });
  auto in_flight = [&](const std::string& id) {
    return proxy->metrics().sum("tg_upstream_in_flight", {{"service", "web"}, {"instance", id}});
  };
  REQUIRE(poll_for(10s, [&] { return in_flight("a") + in_flight("b") == 1; }));
  const std::string held = in_flight("a") == 1 ? "a" : "b";

  KeepAliveLoad load(proxy->port(), 4);
  REQUIRE(poll_for(10s, [&] { return load.answered() > 20; }));
  auto responses = [&](const std::string& id) {
    return proxy->metrics().sum("tg_upstream_responses_total", {{"service", "web"}, {"instance", id}});
  };
  double last_a = responses("a"), last_b = responses("b");
  const auto started = std::chrono::steady_clock::now();
  for (int n = 0; n < 1000; ++n) {
    const grpc::Status status = write_change(*stub, n);
    INFO("change " << n << ": " << status.error_message());
    REQUIRE(status.ok());
    if (n % 100 == 99) {
      // The held request still counts on its instance; counters only grow.
      CHECK(in_flight(held) >= 1);  // with load requests under way on it too
      const double now_a = responses("a"), now_b = responses("b");
      CHECK(now_a >= last_a);
      CHECK(now_b >= last_b);
      last_a = now_a;
      last_b = now_b;
    }
  }
  // The proxy catches up with the newest version, by delta updates.
  REQUIRE(poll_for(20s, [&] {
    const v1::ProxyStatus status = proxy_status(*stub);
    return status.lag() == 0 && status.sent().counter() == status.applied().counter();
  }, 20ms));
  const v1::ProxyStatus status = proxy_status(*stub);
  CHECK(status.last_update_kind() == v1::UPDATE_KIND_DELTA);
  CHECK(status.nacks() == 0);
  CHECK(answer(*proxy, "churn-249.example") != "404");  // the last route created (nothing listens behind it)
  CHECK(answer(*proxy, "churn-248.example") == "404");  // deleted
  const std::uint64_t answered = load.answered();
  REQUIRE(poll_for(10s, [&] { return load.answered() > answered + 20; }));
  load.stop();
  CHECK(load.errors().empty());
  for (const std::string& error : load.errors()) UNSCOPED_INFO(error);
  CHECK(in_flight(held) == 1);
  CHECK(responses("a") >= last_a);
  CHECK(responses("b") >= last_b);
  UNSCOPED_INFO("1,000 changes in " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started).count()
                                    << " ms, " << load.answered() << " requests");
  a.kill();  // ends the held request (the proxy answers it 502)
  b.kill();
  slow.join();
}
