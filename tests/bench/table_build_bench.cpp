// tg-bench-table-build: the cost of the balancer table on the control plane
// (docs/performance.md, "Control plane"). Fills a Registry (in-memory store,
// through the registry's own operations) with --tenants tenants, one service
// each, --instances instances spread over them and one route per service,
// then reports:
//   * the TableHub's initial build (encode every object; the full payload is
//     assembled lazily, for the first proxy that needs it)
//   * assembling the full payload (what a new proxy costs, once per version)
//     and its size
//   * publishing one config change (a route added): entry update, digest,
//     change log + the delta to one up-to-date subscriber
//   * publishing one health change (an instance drained): a health version
//     and the merged update for that subscriber
// Not run by CI: `build/bin/tg-bench-table-build [--tenants N] [--instances N]`.
#include "registry/registry.hpp"
#include "stream/table_hub.hpp"
#include "stream/version_proto.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace {

namespace v1 = ::tenantgate::v1;
using namespace tg::control;
using Steady = std::chrono::steady_clock;

class NullTimer final : public DebounceTimer {
 public:
  void arm(std::chrono::microseconds, std::function<void()>) override {}
  void cancel() override {}
};

struct CountingSubscriber final : TableSubscriber {
  std::size_t bytes = 0;
  std::shared_ptr<const TableUpdate> last;
  void send(std::shared_ptr<const TableUpdate> update) override {
    bytes += update->bytes().size();
    last = std::move(update);
  }
  void finish(const Status&) override {}
  void cancel(const Status&) override {}
};

double ms_since(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

template <class Request, class Response>
CommitBatch write(Registry& registry, Status (Registry::*op)(const Request&, const WriteContext&, Response*, CommitBatch*),
                  const Request& request) {
  static const WriteContext context{"bench", "Bench"};
  Response out;
  CommitBatch batch;
  const Status status = (registry.*op)(request, context, &out, &batch);
  if (!status.ok()) throw std::runtime_error(status.message);
  return batch;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tg-bench-table-build: TableHub build and publish costs"};
  int tenants = 10000, instances = 50000, repeats = 9;
  app.add_option("--tenants", tenants, "tenants (= services = routes)")->capture_default_str();
  app.add_option("--instances", instances, "instances, spread over the services")->capture_default_str();
  app.add_option("--repeats", repeats, "changes measured (median reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  SystemClock clock;
  Registry registry(clock);
  registry.set_generation(1);
  const auto fill_start = Steady::now();
  for (int t = 0; t < tenants; ++t) {
    const std::string n = std::to_string(t);
    v1::CreateTenantRequest tenant;
    tenant.mutable_tenant()->set_id("tenant-" + n);
    (*tenant.mutable_tenant()->mutable_labels())["plan"] = t % 3 ? "free" : "pro";
    write(registry, &Registry::create_tenant, tenant);
    v1::CreateServiceRequest service;
    service.mutable_service()->set_name("svc-" + n);
    service.mutable_service()->set_tenant("tenant-" + n);
    service.mutable_service()->set_lb_policy(v1::LB_POLICY_LEAST_REQUEST);
    write(registry, &Registry::create_service, service);
    v1::CreateRouteRequest route;
    route.mutable_route()->set_name("route-" + n);
    route.mutable_route()->set_service("svc-" + n);
    route.mutable_route()->mutable_match()->set_host("t" + n + ".example.com");
    route.mutable_route()->mutable_match()->set_path_prefix("/api/");
    write(registry, &Registry::create_route, route);
  }
  for (int i = 0; i < instances; ++i) {
    v1::RegisterInstanceRequest request;
    const int t = i % tenants;
    request.mutable_instance()->set_service("svc-" + std::to_string(t));
    request.mutable_instance()->set_address("10." + std::to_string(i / 65536 % 256) + "." +
                                            std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ":8080");
    (*request.mutable_instance()->mutable_labels())["zone"] = i % 2 ? "a" : "b";
    write(registry, &Registry::register_instance, request);
  }
  std::printf("registry: %d tenants, %d services, %d instances, %d routes (filled in %.0f ms)\n", tenants, tenants,
              instances, tenants, ms_since(fill_start));

  NullTimer timer;
  auto start = Steady::now();
  TableHubOptions options;
  options.registry_id = "bench";
  TableHub hub(registry, clock, timer, options);
  const double build_ms = ms_since(start);
  std::printf("initial build: %.1f ms\n", build_ms);

  // One subscriber, always up to date, so each publish also prepares its update.
  CountingSubscriber subscriber;
  hub.connect(1, subscriber, "bench");
  v1::StreamTableRequest hello;
  hello.mutable_hello()->set_node_id("bench");
  to_proto(hub.newest(), hello.mutable_hello()->mutable_applied());
  hello.mutable_hello()->set_registry_id(options.registry_id);
  hello.mutable_hello()->set_digest(hub.digest());
  hub.receive(1, hello);
  hub.write_done(1, true);  // the welcome
  auto ack = [&] {
    hub.write_done(1, true);
    v1::StreamTableRequest r;
    *r.mutable_ack()->mutable_version() = subscriber.last->message().version();
    hub.receive(1, r);
  };

  std::vector<double> config_ms, health_ms;
  std::size_t config_bytes = 0;
  for (int k = 0; k < repeats; ++k) {
    v1::CreateRouteRequest route;
    route.mutable_route()->set_name("bench-route-" + std::to_string(k));
    route.mutable_route()->set_service("svc-0");
    route.mutable_route()->mutable_match()->set_host("bench" + std::to_string(k) + ".example.com");
    CommitBatch batch = write(registry, &Registry::create_route, route);
    start = Steady::now();
    hub.on_commit(batch);
    hub.publish();
    config_ms.push_back(ms_since(start));
    config_bytes = subscriber.last ? subscriber.last->bytes().size() : 0;
    if (!subscriber.last || !subscriber.last->message().has_delta()) throw std::runtime_error("expected a delta update");
    ack();

    v1::SetInstanceStateRequest drain;
    drain.set_id(registry.instances().begin()->first);
    drain.set_admin_state(k % 2 ? v1::ADMIN_STATE_ACTIVE : v1::ADMIN_STATE_DRAINING);
    batch = write(registry, &Registry::set_instance_state, drain);
    start = Steady::now();
    hub.on_commit(batch);
    hub.publish();
    health_ms.push_back(ms_since(start));
    if (!subscriber.last->message().has_health()) throw std::runtime_error("expected a health update");
    ack();
  }
  // A new proxy: the full payload of the newest version, assembled for it
  // (before, every config version paid this).
  CountingSubscriber cold;
  hub.connect(2, cold, "bench-cold");
  v1::StreamTableRequest cold_hello;
  cold_hello.mutable_hello()->set_node_id("bench-cold");
  start = Steady::now();
  hub.receive(2, cold_hello);
  hub.write_done(2, true);  // the welcome; the full table follows
  const double full_ms = ms_since(start);
  if (!cold.last || !cold.last->message().has_config()) throw std::runtime_error("expected a full table");
  std::printf("full table for a new proxy (assembled once per version): %.1f ms, %zu bytes (%.1f MiB)\n", full_ms,
              cold.last->bytes().size(), static_cast<double>(cold.last->bytes().size()) / (1024 * 1024));
  std::printf("publish one config change (route added) and its delta: median %.3f ms over %d, update %zu bytes\n",
              median(config_ms), repeats, config_bytes);
  std::printf("full payloads assembled during the changes: %llu\n",
              static_cast<unsigned long long>(hub.state().full_builds()));
  std::printf("publish one health change (instance drained): median %.3f ms over %d, update %zu bytes\n",
              median(health_ms), repeats, subscriber.last->bytes().size());
  return 0;
}
