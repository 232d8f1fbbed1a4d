#include "server/metrics.hpp"

#include "fake_clock.hpp"
#include "registry/registry.hpp"

#include <catch2/catch.hpp>

namespace tg::control {
namespace {

TEST_CASE("metrics: Prometheus text with sizes, calls, durations and commits", "[metrics]") {
  test::FakeClock clock;
  Registry registry(clock);
  Metrics metrics;
  metrics.record_call("CreateRoute", Code::ok, std::chrono::microseconds(700));
  metrics.record_call("CreateRoute", Code::invalid_argument, std::chrono::microseconds(40));
  metrics.record_commit(std::chrono::microseconds(300), 3, true);
  metrics.record_commit(std::chrono::microseconds(300), 1, true);
  metrics.record_commit(std::chrono::microseconds(300), 1, false);
  metrics.record_http(404);
  CHECK(metrics.calls("CreateRoute", Code::invalid_argument) == 1);
  const std::string text = metrics.render(registry, 42);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has("tg_control_tenants 0");
  has("tg_control_instances{health=\"unhealthy\"} 0");
  has("tg_control_registry_revision 42");
  has("tg_control_admin_calls_total{method=\"CreateRoute\",code=\"OK\"} 1");
  has("tg_control_admin_calls_total{method=\"CreateRoute\",code=\"INVALID_ARGUMENT\"} 1");
  has("tg_control_admin_call_duration_seconds_bucket{method=\"CreateRoute\",le=\"5e-05\"} 1");
  has("tg_control_admin_call_duration_seconds_bucket{method=\"CreateRoute\",le=\"0.001\"} 2");
  has("tg_control_admin_call_duration_seconds_count{method=\"CreateRoute\"} 2");
  has("tg_control_sqlite_commit_duration_seconds_count 2");
  has("tg_control_sqlite_commit_batch_size_bucket{le=\"1\"} 1");
  has("tg_control_sqlite_commit_batch_size_bucket{le=\"4\"} 2");
  has("tg_control_sqlite_commit_batch_size_sum 4");
  has("tg_control_sqlite_commit_failures_total 1");
  has("tg_control_http_requests_total{code=\"404\"} 1");
}

}  // namespace
}  // namespace tg::control
