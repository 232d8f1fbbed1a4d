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
  has("tg_control_table_versions_total{kind=\"config\"} 0");
  has("tg_control_table_subscribers 0");
}

TEST_CASE("metrics: the table stream's numbers", "[metrics][table_hub]") {
  test::FakeClock clock;
  Registry registry(clock);
  Metrics metrics;
  TableMetrics& t = metrics.table();
  t.generation = 4;
  t.counter = 17;
  t.config_versions = 3;
  t.health_versions = 14;
  t.build_seconds = 0.0125;
  t.payload_bytes = 10485760;
  t.subscribers = 2;
  t.config_sent = 5;
  t.health_sent = 20;
  t.acks = 24;
  t.nacks = 1;
  t.node_replacements = 6;
  t.refused_unauthenticated = 7;
  t.refused_permission = 8;
  t.refused_node_clash = 9;
  const std::string text = metrics.render(registry, 0);
  for (const std::string line :
       {"tg_control_table_generation 4", "tg_control_table_sequence 17",
        "tg_control_table_versions_total{kind=\"config\"} 3", "tg_control_table_versions_total{kind=\"health\"} 14",
        "tg_control_table_build_seconds 0.0125", "tg_control_table_payload_bytes 10485760",
        "tg_control_table_subscribers 2", "tg_control_table_updates_sent_total{kind=\"config\"} 5",
        "tg_control_table_updates_sent_total{kind=\"health\"} 20", "tg_control_table_acks_total 24",
        "tg_control_table_nacks_total 1", "tg_control_table_node_replacements_total 6",
        "tg_control_table_streams_refused_total{reason=\"unauthenticated\"} 7",
        "tg_control_table_streams_refused_total{reason=\"permission_denied\"} 8",
        "tg_control_table_streams_refused_total{reason=\"node_id_flapping\"} 9"}) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  }
}

}  // namespace
}  // namespace tg::control
