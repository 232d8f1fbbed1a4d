// The balancer-table stream end to end (proto/tenantgate/v1/discovery.proto,
// docs/control-plane.md, Table stream): real tg-control, real tg-proxy processes subscribed with
// --control, changes made with tgctl or the Admin API, traffic through the
// proxies to backends started here. Everything polls with deadlines.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

constexpr auto kConverge = std::chrono::seconds(10);

// A tg-proxy fed only by the control plane.
std::unique_ptr<ProxyProcess> subscribed_proxy(const ControlProcess& control, const std::string& node_id,
                                               const std::filesystem::path& state_dir, int workers = 1,
                                               const std::string& control_address = "") {
  return tg::itest::subscribed_proxy(control_address.empty() ? control.grpc_address() : control_address, node_id, state_dir,
                          workers);
}

v1::ListProxiesResponse list_proxies(const ControlProcess& control) {
  auto stub = control.stub();
  v1::ListProxiesResponse response;
  auto context = admin_context();
  const grpc::Status status = stub->ListProxies(context.get(), v1::ListProxiesRequest{}, &response);
  if (!status.ok()) throw std::runtime_error("ListProxies: " + status.error_message());
  return response;
}

const v1::ProxyStatus* find_proxy(const v1::ListProxiesResponse& list, const std::string& node_id) {
  for (const auto& proxy : list.proxies())
    if (proxy.node_id() == node_id) return &proxy;
  return nullptr;
}

bool same_version(const v1::TableVersion& a, const v1::TableVersion& b) {
  return a.generation() == b.generation() && a.counter() == b.counter();
}

// Every named proxy connected and serving the newest version.
bool all_current(const ControlProcess& control, const std::vector<std::string>& nodes) {
  const auto list = list_proxies(control);
  for (const std::string& node : nodes) {
    const v1::ProxyStatus* proxy = find_proxy(list, node);
    if (proxy == nullptr || !proxy->connected() || !same_version(proxy->applied(), list.newest())) return false;
  }
  return true;
}


bool answers_everywhere(const std::vector<const ProxyProcess*>& proxies, const std::string& host,
                        const std::string& expected) {
  for (const ProxyProcess* proxy : proxies)
    if (answer(*proxy, host) != expected) return false;
  return true;
}

void apply_yaml(const ControlProcess& control, const std::string& name, const std::string& yaml) {
  const auto file = control.write(name, yaml);
  const TgctlResult result = tgctl(control, {"apply", "-f", file.string()});
  if (result.exit_code != 0) throw std::runtime_error("apply failed:\n" + result.describe());
}

void run_ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  if (result.exit_code != 0) throw std::runtime_error("tgctl failed:\n" + result.describe());
}

double metric(const ProxyProcess& proxy, const std::string& name, const Labels& labels = {}) {
  return proxy.metrics().value(name, labels).value_or(-1);
}

std::string two_services(const Backend& a, const Backend& b) {
  return "tenants:\n  - id: acme\n"
         "services:\n"
         "  - name: web\n    tenant: acme\n    instances:\n      - { id: web-a, address: " + a.address() + " }\n"
         "  - name: web2\n    tenant: acme\n    instances:\n      - { id: web2-b, address: " + b.address() + " }\n";
}

}  // namespace

TEST_CASE("a route created with tgctl answers through two proxies, moves, goes, and a late proxy gets it all",
          "[control][stream]") {
  Backend a("a"), b("b");
  ControlProcess control;
  apply_yaml(control, "base.yaml", two_services(a, b));
  TempDir state1("tg-itest-state"), state2("tg-itest-state"), state3("tg-itest-state");
  auto p1 = subscribed_proxy(control, "p1", state1.path());
  auto p2 = subscribed_proxy(control, "p2", state2.path());
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1", "p2"}); }, 20ms));
  CHECK(answer(*p1, "a.example") == "404");

  // created: answers through both
  auto start = Clock::now();
  run_ok(control, {"routes", "create", "r1", "--service", "web", "--host", "a.example"});
  const double returned = elapsed_ms(start);
  start = Clock::now();
  REQUIRE(poll_for(kConverge, [&] { return answers_everywhere({p1.get(), p2.get()}, "a.example", "a"); }, 2ms));
  INFO("tgctl returned after " << returned << " ms; both proxies answered " << elapsed_ms(start) << " ms later");
  CHECK(elapsed_ms(start) < 5000);

  // updated: traffic moves
  run_ok(control, {"routes", "patch", "r1", "--service", "web2"});
  REQUIRE(poll_for(kConverge, [&] { return answers_everywhere({p1.get(), p2.get()}, "a.example", "b"); }, 2ms));

  // another route, then the first one deleted: 404 everywhere
  run_ok(control, {"routes", "create", "r2", "--service", "web", "--host", "c.example"});
  run_ok(control, {"routes", "delete", "r1"});
  REQUIRE(poll_for(kConverge, [&] { return answers_everywhere({p1.get(), p2.get()}, "a.example", "404"); }, 2ms));
  CHECK(answers_everywhere({p1.get(), p2.get()}, "c.example", "a"));

  // a proxy started after all that gets the current table
  auto p3 = subscribed_proxy(control, "p3", state3.path());
  REQUIRE(poll_for(kConverge, [&] { return answer(*p3, "c.example") == "a"; }, 5ms));
  CHECK(answer(*p3, "a.example") == "404");
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1", "p2", "p3"}); }, 20ms));

  // what the proxies report about the stream
  CHECK(metric(*p1, "tg_control_connected") == 1);
  CHECK(metric(*p3, "tg_control_updates_total", {{"kind", "config"}, {"result", "ack"}}) >= 1);
  const auto list = list_proxies(control);
  const v1::ProxyStatus* p1_status = find_proxy(list, "p1");
  REQUIRE(p1_status != nullptr);
  CHECK(p1_status->lag() == 0);
  CHECK_FALSE(p1_status->boot_id().empty());
  CHECK(p1_status->connected_since_unix_ms() > 0);
}

TEST_CASE("without the control plane the proxies keep serving, a restarted proxy serves its saved table, "
          "and they converge when it is back",
          "[control][stream][restart]") {
  Backend a("a"), b("b");
  ControlOptions control_options;
  control_options.keep_grpc_port = true;
  ControlProcess control(control_options);
  apply_yaml(control, "base.yaml",
             two_services(a, b) + "routes:\n  - { name: r1, match: { host: a.example }, service: web }\n");
  const std::string address = control.grpc_address();
  TempDir state1("tg-itest-state"), state2("tg-itest-state");
  auto p1 = subscribed_proxy(control, "p1", state1.path());
  auto p2 = subscribed_proxy(control, "p2", state2.path());
  REQUIRE(poll_for(kConverge, [&] { return answers_everywhere({p1.get(), p2.get()}, "a.example", "a"); }, 5ms));
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1", "p2"}); }, 20ms));

  control.kill();
  for (int i = 0; i < 20; ++i) {
    CHECK(answer(*p1, "a.example") == "a");
    CHECK(answer(*p2, "a.example") == "a");
  }
  CHECK(poll_for(kConverge, [&] { return metric(*p1, "tg_control_connected") == 0; }, 20ms));

  // p2 restarts while the control plane is away: its saved table serves at once
  p2.reset();
  p2 = subscribed_proxy(control, "p2", state2.path(), 1, address);
  CHECK(answer(*p2, "a.example") == "a");
  CHECK(metric(*p2, "tg_control_connected") == 0);

  // the control plane comes back on the same port with a change made meanwhile
  control.start();
  REQUIRE(control.grpc_address() == address);
  run_ok(control, {"routes", "create", "r2", "--service", "web2", "--host", "b.example"});
  REQUIRE(poll_for(kConverge, [&] { return answers_everywhere({p1.get(), p2.get()}, "b.example", "b"); }, 5ms));
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1", "p2"}); }, 20ms));
  CHECK(answers_everywhere({p1.get(), p2.get()}, "a.example", "a"));
  // a new generation: the versions went on, not back
  CHECK(list_proxies(control).newest().generation() >= 2);
}

namespace {

// `n` tenants, each with a service of one instance at `backend`, and a route
// for host tN.example: a table of some size, so a delta and a full table
// differ.
std::string many_tenants(const Backend& backend, int n) {
  std::string yaml = "tenants:\n";
  for (int i = 0; i < n; ++i) yaml += "  - id: t" + std::to_string(i) + "\n";
  yaml += "services:\n";
  for (int i = 0; i < n; ++i)
    yaml += "  - name: s" + std::to_string(i) + "\n    tenant: t" + std::to_string(i) +
            "\n    instances:\n      - { id: s" + std::to_string(i) + "-1, address: " + backend.address() + " }\n";
  yaml += "routes:\n";
  for (int i = 0; i < n; ++i)
    yaml += "  - { name: r" + std::to_string(i) + ", match: { host: t" + std::to_string(i) + ".example }, service: s" +
            std::to_string(i) + " }\n";
  return yaml;
}

double control_metric(const ControlProcess& control, const std::string& name, const Labels& labels = {}) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body).value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("a route created or an instance registered reaches the proxies as a delta under 2 KB, and a restarted "
          "proxy catches up with one delta",
          "[control][stream][delta]") {
  Backend a("a"), b("b");
  ControlOptions control_options;
  control_options.keep_grpc_port = true;
  ControlProcess control(control_options);
  apply_yaml(control, "base.yaml", many_tenants(a, 200));
  TempDir state1("tg-itest-state");
  auto p1 = subscribed_proxy(control, "p1", state1.path());
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1"}); }, 20ms));
  const auto first = list_proxies(control);
  REQUIRE(find_proxy(first, "p1") != nullptr);
  CHECK(find_proxy(first, "p1")->last_update_kind() == v1::UPDATE_KIND_FULL);
  const std::uint64_t full_bytes = find_proxy(first, "p1")->last_update_bytes();
  CHECK(full_bytes > 20'000);

  // One route created: a delta of one entry.
  run_ok(control, {"routes", "create", "new-route", "--service", "s1", "--host", "new.example"});
  REQUIRE(poll_for(kConverge, [&] { return answer(*p1, "new.example") == "a"; }, 5ms));
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1"}); }, 20ms));
  auto listed = list_proxies(control);
  CHECK(find_proxy(listed, "p1")->last_update_kind() == v1::UPDATE_KIND_DELTA);
  CHECK(find_proxy(listed, "p1")->last_update_bytes() < 2048);

  // One instance registered: a delta too; traffic reaches it.
  run_ok(control, {"instances", "register", "s2", b.address(), "--id", "s2-b"});
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1"}); }, 20ms));
  listed = list_proxies(control);
  CHECK(find_proxy(listed, "p1")->last_update_kind() == v1::UPDATE_KIND_DELTA);
  CHECK(find_proxy(listed, "p1")->last_update_bytes() < 2048);
  CHECK(poll_for(kConverge, [&] { return answer(*p1, "t2.example") == "b"; }, 1ms));
  CHECK(control_metric(control, "tg_control_table_updates_sent_total", {{"kind", "delta"}}) >= 2);
  CHECK(control_metric(control, "tg_control_table_delta_refusals_total") == 0);

  // The proxy stops; three changes meanwhile; restarted with its saved table,
  // it gets one delta, not the backlog and not the full table.
  p1.reset();
  run_ok(control, {"routes", "create", "late-1", "--service", "s3", "--host", "late1.example"});
  run_ok(control, {"routes", "delete", "r4"});
  run_ok(control, {"instances", "deregister", "s5-1"});
  p1 = subscribed_proxy(control, "p1", state1.path());
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1"}); }, 20ms));
  listed = list_proxies(control);
  CHECK(find_proxy(listed, "p1")->last_update_kind() == v1::UPDATE_KIND_DELTA);
  CHECK(find_proxy(listed, "p1")->last_update_bytes() < 2048);
  CHECK(metric(*p1, "tg_control_updates_total", {{"kind", "config"}, {"result", "ack"}}) == 1);
  CHECK(answer(*p1, "late1.example") == "a");
  CHECK(answer(*p1, "t4.example") == "404");
  CHECK(answer(*p1, "t5.example") == "503");
  CHECK(answer(*p1, "t6.example") == "a");

  // tg-control restarts (a new generation, the same table): the proxy is
  // relabelled with an empty delta, not sent the table again.
  control.kill();
  control.start();
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1"}); }, 20ms));
  listed = list_proxies(control);
  CHECK(find_proxy(listed, "p1")->last_update_kind() == v1::UPDATE_KIND_DELTA);
  CHECK(find_proxy(listed, "p1")->last_update_bytes() < 300);
  CHECK(answer(*p1, "late1.example") == "a");
}

TEST_CASE("a version the proxies cannot apply is NACKed, shown by tgctl, never resent, and serving goes on",
          "[control][stream][nack]") {
  Backend a("a"), b("b");
  ControlProcess control;
  apply_yaml(control, "base.yaml",
             two_services(a, b) + "routes:\n  - { name: r1, match: { host: a.example }, service: web }\n");
  TempDir state1("tg-itest-state"), state2("tg-itest-state");
  auto p1 = subscribed_proxy(control, "p1", state1.path());
  auto p2 = subscribed_proxy(control, "p2", state2.path());
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1", "p2"}); }, 20ms));

  // tg-proxy refuses sticky_link (it needs Discovery.AssignLink): the table is
  // NACKed. One apply, so one version.
  const auto linked = [&](const std::string& policy) {
    return "services:\n  - name: linked\n    tenant: acme\n    lb: { policy: " + policy +
           " }\n    hash_key: { header: X-User }\n    instances:\n      - { id: linked-b, address: " + b.address() +
           " }\nroutes:\n  - { name: r-linked, match: { host: linked.example }, service: linked }\n";
  };
  apply_yaml(control, "linked.yaml", linked("sticky_link"));
  v1::TableVersion bad;
  REQUIRE(poll_for(kConverge, [&] {
    const auto list = list_proxies(control);
    bad = list.newest();
    for (const char* node : {"p1", "p2"}) {
      const v1::ProxyStatus* proxy = find_proxy(list, node);
      if (proxy == nullptr || !proxy->has_last_nack() || !same_version(proxy->last_nack().version(), bad))
        return false;
    }
    return true;
  }, 20ms));

  // shown by tgctl, with the reason
  const auto shown = json_as<v1::ListProxiesResponse>(tgctl(control, {"proxies", "list", "-o", "json"}));
  const v1::ProxyStatus* p1_status = find_proxy(shown, "p1");
  REQUIRE(p1_status != nullptr);
  CHECK(p1_status->last_nack().reason().find("sticky_link") != std::string::npos);
  CHECK_FALSE(same_version(p1_status->applied(), bad));
  CHECK(p1_status->lag() > 0);
  const TgctlResult table = tgctl(control, {"proxies", "list"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("p2") != std::string::npos);

  // both keep serving what they had
  CHECK(answers_everywhere({p1.get(), p2.get()}, "a.example", "a"));
  CHECK(answers_everywhere({p1.get(), p2.get()}, "linked.example", "404"));
  CHECK(metric(*p1, "tg_control_updates_total", {{"kind", "config"}, {"result", "nack"}}) == 1);

  // p1 restarts (same node id, new boot): the NACKed version is not sent again.
  // Updates go one at a time in order, so if it were, p1 would NACK it before
  // it could ACK the fix below.
  p1.reset();
  p1 = subscribed_proxy(control, "p1", state1.path());
  REQUIRE(poll_for(kConverge, [&] { return metric(*p1, "tg_control_connected") == 1; }, 20ms));

  // the fix, again in one version: both can apply it
  apply_yaml(control, "linked.yaml", linked("ring_hash"));
  REQUIRE(poll_for(kConverge, [&] { return answers_everywhere({p1.get(), p2.get()}, "linked.example", "b"); },
                   5ms));
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1", "p2"}); }, 20ms));
  CHECK(metric(*p1, "tg_control_updates_total", {{"kind", "config"}, {"result", "nack"}}) == 0);
  CHECK(metric(*p2, "tg_control_updates_total", {{"kind", "config"}, {"result", "nack"}}) == 1);
  CHECK(find_proxy(list_proxies(control), "p1")->nacks() >= 1);  // the record outlives the proxy's restart
}

TEST_CASE("no request fails during 100 table swaps under load", "[control][stream][swaps]") {
  Backend a("a"), b("b");
  a.on_path("/slow", Behaviour::echo().with_delay(std::chrono::milliseconds(150)));
  b.on_path("/slow", Behaviour::echo().with_delay(std::chrono::milliseconds(150)));
  ControlProcess control;
  apply_yaml(control, "base.yaml",
             "tenants:\n  - id: acme\nservices:\n  - name: web\n    tenant: acme\n    instances:\n"
             "      - { id: web-a, address: " + a.address() + " }\n      - { id: web-b, address: " + b.address() +
                 " }\nroutes:\n  - { name: r1, match: { host: a.example }, service: web }\n");
  TempDir state("tg-itest-state");
  auto proxy = subscribed_proxy(control, "p1", state.path(), 2);
  REQUIRE(poll_for(kConverge, [&] { return answer(*proxy, "a.example") == "a" || answer(*proxy, "a.example") == "b"; },
                   5ms));
  REQUIRE(poll_for(kConverge, [&] { return all_current(control, {"p1"}); }, 20ms));
  const double acks_before = metric(*proxy, "tg_control_updates_total", {{"kind", "config"}, {"result", "ack"}}) +
                             metric(*proxy, "tg_control_updates_total", {{"kind", "health"}, {"result", "ack"}});

  // Load: keep-alive clients (one connection each, for the whole test) with
  // fast and slow requests, so swaps land on idle, busy and in-flight connections.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> ok{0}, failed{0};
  std::vector<std::string> failures;
  std::mutex failures_mutex;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      try {
        HttpClient client(proxy->port());
        while (!stop) {
          const HttpResponse response =
              client.get(c == 0 ? "/slow" : "/", {{"Host", "a.example"}});
          if (response.status == 200) {
            ++ok;
          } else {
            ++failed;
            std::lock_guard lock(failures_mutex);
            failures.push_back(response.describe());
          }
        }
      } catch (const std::exception& e) {
        ++failed;
        std::lock_guard lock(failures_mutex);
        failures.push_back(e.what());
      }
    });
  }

  // 100 swaps, each applied before the next: config changes (a route added)
  // and health updates (an instance drained and made active again).
  auto stub = control.stub();
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t before = list_proxies(control).newest().counter();
    auto context = admin_context();
    grpc::Status status;
    if (i % 2 == 0) {
      v1::CreateRouteRequest request;
      request.mutable_route()->set_name("extra-" + std::to_string(i));
      request.mutable_route()->set_service("web");
      request.mutable_route()->mutable_match()->set_host("extra" + std::to_string(i) + ".example");
      v1::Route route;
      status = stub->CreateRoute(context.get(), request, &route);
    } else {
      v1::SetInstanceStateRequest request;
      request.set_id("web-b");
      request.set_admin_state(i % 4 == 1 ? v1::ADMIN_STATE_DRAINING : v1::ADMIN_STATE_ACTIVE);
      v1::Instance instance;
      status = stub->SetInstanceState(context.get(), request, &instance);
    }
    REQUIRE(status.ok());
    REQUIRE(poll_for(kConverge, [&] {
      return list_proxies(control).newest().counter() > before && all_current(control, {"p1"});
    }, 2ms));
  }
  stop = true;
  for (auto& t : clients) t.join();

  const double acks = metric(*proxy, "tg_control_updates_total", {{"kind", "config"}, {"result", "ack"}}) +
                      metric(*proxy, "tg_control_updates_total", {{"kind", "health"}, {"result", "ack"}});
  INFO("requests ok " << ok << ", swaps acknowledged " << acks - acks_before);
  for (const std::string& failure : failures) UNSCOPED_INFO(failure);
  CHECK(failed == 0);
  CHECK(ok > 100);
  CHECK(acks - acks_before >= 100);
  CHECK(metric(*proxy, "tg_control_updates_total", {{"kind", "health"}, {"result", "ack"}}) >= 50);
}
