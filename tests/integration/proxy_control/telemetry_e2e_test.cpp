// Telemetry end to end: the real tg-control, two real tg-proxy subscribed to
// it and an in-process backend that answers some requests with 500. What the
// clients got through both proxies shows up in tg-control's Top (Admin RPC
// and `tgctl top -o json`) summed per route, exactly: a proxy restarted in
// the middle counts nothing twice (its new boot id starts a new sequence, and
// what it sent before is committed once), and tg-control killed with SIGKILL
// and started again still has every acknowledged batch in its minute rollups.
#include "control/support/control_process.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

struct Sent {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;  // 500 from the backend
};

// `ok` requests to / and `failed` to /fail through `proxy`, on one keep-alive
// connection; every status is checked, so the expected sums are exact.
void send(const ProxyProcess& proxy, Sent& sent, int ok, int failed) {
  HttpClient client(proxy.port(), 5s);
  for (int i = 0; i < ok; ++i) {
    REQUIRE(client.get("/", {{"Host", "shop.example"}}).status == 200);
    ++sent.ok;
  }
  for (int i = 0; i < failed; ++i) {
    REQUIRE(client.get("/fail", {{"Host", "shop.example"}}).status == 500);
    ++sent.failed;
  }
}

// Top by route over the last 5 minutes: the row of route `shop` (requests,
// errors), or {0, 0} when there is none yet.
std::pair<std::uint64_t, std::uint64_t> top_shop(const ControlProcess& control) {
  v1::TopRequest request;
  request.set_by("route");
  request.set_window_ms(300'000);
  v1::TopResponse response;
  auto context = admin_context();
  const grpc::Status status = control.stub()->Top(context.get(), request, &response);
  if (!status.ok()) return {0, 0};
  for (const v1::TopRow& row : response.rows())
    if (row.route() == "shop") return {row.requests(), row.errors()};
  return {0, 0};
}

// The sum of `metric` over the last 10 minutes from the minute rollups.
std::uint64_t series_sum(const ControlProcess& control, const std::string& metric) {
  v1::SeriesRequest request;
  request.set_metric(metric);
  request.set_route("shop");
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  request.set_since_unix_ms(now_ms - 10 * 60'000);
  request.set_until_unix_ms(now_ms + 60'000);
  request.set_step_ms(60'000);
  v1::SeriesResponse response;
  auto context = admin_context();
  if (!control.stub()->Series(context.get(), request, &response).ok()) return 0;
  double sum = 0;
  for (const v1::SeriesPoint& point : response.points()) sum += point.value();
  return static_cast<std::uint64_t>(sum + 0.5);
}

}  // namespace

TEST_CASE("telemetry end to end: two proxies' request outcomes are summed exactly in tg-control's top, across a "
          "proxy restart and a kill -9 of tg-control",
          "[proxy][control][telemetry]") {
  Backend backend("shop-1");
  backend.on_path("/fail", Behaviour::fixed(500, "boom\n"));
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  options.keep_grpc_port = true;
  ControlProcess control(options);
  const std::string yaml =
      "tenants:\n  - id: acme\n"
      "services:\n"
      "  - name: shop\n    tenant: acme\n    instances:\n      - { id: shop-1, address: 127.0.0.1:" +
      std::to_string(backend.port()) + " }\n"
      "routes:\n  - { name: shop, match: { host: shop.example }, service: shop }\n"
      // The readiness probes go to a route of their own, so route shop counts
      // exactly what send() sent.
      "  - { name: probe, match: { host: probe.example }, service: shop }\n";
  const TgctlResult applied = tgctl(control, {"apply", "-f", control.write("shop.yaml", yaml).string()});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);

  TempDir state1("tg-itest-tel-p1"), state2("tg-itest-tel-p2");
  auto p1 = subscribed_proxy(control.grpc_address(), "p1", state1.path());
  auto p2 = subscribed_proxy(control.grpc_address(), "p2", state2.path());
  REQUIRE(poll_for(10s, [&] { return answer(*p1, "probe.example") == "shop-1" && answer(*p2, "probe.example") == "shop-1"; }));
  Sent sent;

  send(*p1, sent, 30, 10);
  send(*p2, sent, 20, 5);
  const auto sent_at = std::chrono::steady_clock::now();
  const bool summed = poll_for(10s, [&] { return top_shop(control) == std::pair{sent.ok + sent.failed, sent.failed}; }, 50ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent_at);
  INFO("top: " << top_shop(control).first << " requests, " << top_shop(control).second << " errors; sent "
               << sent.ok + sent.failed << ", " << sent.failed << "; waited " << took.count() << " ms");
  REQUIRE(summed);
  WARN("two proxies' counts reached tg-control's top after " << took.count() << " ms");

  // tgctl top -o json says the same.
  {
    const TgctlResult top = tgctl(control, {"top", "--by", "route", "-o", "json"});
    INFO(top.describe());
    REQUIRE(top.exit_code == 0);
    const boost::json::value parsed = boost::json::parse(top.out);
    bool found = false;
    for (const boost::json::value& row : parsed.at("rows").as_array()) {
      // proto3 JSON leaves out fields at their default ("" route: requests that matched no route).
      const boost::json::value* route = row.as_object().if_contains("route");
      if (route == nullptr || route->as_string() != "shop") continue;
      found = true;
      // proto3 JSON: 64-bit integers are strings.
      CHECK(std::stoull(std::string(row.at("requests").as_string())) == sent.ok + sent.failed);
    }
    CHECK(found);
  }

  // p2 restarted (a new boot id) in the middle of the traffic: nothing counted twice.
  p2.reset();
  send(*p1, sent, 5, 1);
  p2 = subscribed_proxy(control.grpc_address(), "p2", state2.path());
  REQUIRE(poll_for(10s, [&] { return answer(*p2, "probe.example") == "shop-1"; }));
  send(*p2, sent, 7, 2);
  REQUIRE(poll_for(10s, [&] { return top_shop(control) == std::pair{sent.ok + sent.failed, sent.failed}; }, 50ms));

  // tg-control killed: every acknowledged batch is in the rollups when it is back,
  // and the proxies' unacknowledged ones arrive once.
  send(*p1, sent, 4, 0);
  control.kill();
  send(*p2, sent, 3, 1);  // counted while tg-control is down: buffered by p2
  control.start();
  const std::uint64_t total = sent.ok + sent.failed;
  const bool stored = poll_for(15s, [&] { return series_sum(control, "requests") == total; }, 100ms);
  INFO("rollups: " << series_sum(control, "requests") << " requests, sent " << total);
  REQUIRE(stored);
  CHECK(series_sum(control, "errors") == sent.failed);
  CHECK(top_shop(control) == std::pair{total, sent.failed});
}
