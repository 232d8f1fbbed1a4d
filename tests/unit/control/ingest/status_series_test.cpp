// Admin.Series for the containers' own metrics, from the status samples:
// per step the mean (cpu, load) or last value (memory, restarts) of an
// instance; a service sums or averages its instances. SqliteStore and
// MemoryStore give the same points.
#include "ingest/status_series.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

namespace tg::control::ingest {
namespace {

namespace v1 = tenantgate::v1;

StatusSample sample(std::int64_t time, const std::string& instance, double cpu, std::int64_t memory,
                    std::int64_t restarts, double load) {
  StatusSample s;
  s.time_unix_ms = time;
  s.tenant = "acme";
  s.service = "web";
  s.instance = instance;
  s.cpu = cpu;
  s.memory_bytes = memory;
  s.restarts = restarts;
  s.load = load;
  return s;
}

void fill(Store& store) {
  CommitBatch batch;
  // Step [60000, 120000): w1 twice, w2 once; step [120000, 180000): nothing; [180000, 240000): w1.
  batch.status_samples = {sample(60'000, "w1", 1.0, 100, 1, 2.0), sample(90'000, "w1", 3.0, 300, 2, 4.0),
                          sample(70'000, "w2", 0.5, 1000, 5, 1.0), sample(200'000, "w1", 2.0, 50, 2, 8.0)};
  CommitBatch other;
  StatusSample foreign = sample(80'000, "x1", 9, 9, 9, 9);
  foreign.tenant = "globex";
  foreign.service = "api";
  other.status_samples = {foreign};
  store.commit({batch, other});
}

v1::SeriesRequest request(const std::string& metric, const std::string& service, const std::string& instance) {
  v1::SeriesRequest r;
  r.set_metric(metric);
  r.set_service(service);
  r.set_instance(instance);
  r.set_since_unix_ms(60'000);
  r.set_until_unix_ms(240'000);
  r.set_step_ms(60'000);
  return r;
}

std::vector<std::pair<double, bool>> points(const v1::SeriesResponse& response) {
  std::vector<std::pair<double, bool>> out;
  for (const auto& p : response.points()) out.emplace_back(p.value(), p.empty());
  return out;
}

void check_series(Store& store) {
  fill(store);
  using P = std::vector<std::pair<double, bool>>;
  // Instance scope: mean cpu, last memory.
  const auto cpu = status_series(store, request("cpu", "", "w1"), 0);
  CHECK(cpu.metric() == "cpu");
  CHECK(cpu.step_ms() == 60'000);
  REQUIRE(cpu.points_size() == 3);
  CHECK(cpu.points(0).time_unix_ms() == 60'000);
  CHECK(points(cpu) == P{{2.0, false}, {0.0, true}, {2.0, false}});
  CHECK(points(status_series(store, request("memory_bytes", "", "w1"), 0)) == P{{300, false}, {0, true}, {50, false}});
  // Service scope: memory and restarts summed over instances, cpu and load averaged.
  CHECK(points(status_series(store, request("memory_bytes", "web", ""), 0)) ==
        P{{1300, false}, {0, true}, {50, false}});
  CHECK(points(status_series(store, request("restarts", "web", ""), 0)) == P{{7, false}, {0, true}, {2, false}});
  CHECK(points(status_series(store, request("cpu", "web", ""), 0)) == P{{1.25, false}, {0, true}, {2.0, false}});
  CHECK(points(status_series(store, request("load", "web", ""), 0)) == P{{2.0, false}, {0, true}, {8.0, false}});
  // Another tenant's filter finds nothing; a route scope has no status samples.
  auto foreign = request("cpu", "web", "");
  foreign.set_tenant("globex");
  CHECK(points(status_series(store, foreign, 0)) == P{{0, true}, {0, true}, {0, true}});
  auto by_route = request("cpu", "", "");
  by_route.set_route("r1");
  CHECK(points(status_series(store, by_route, 0)) == P{{0, true}, {0, true}, {0, true}});
  // Defaults: the last hour up to now, at 60 s.
  v1::SeriesRequest defaults;
  defaults.set_metric("load");
  defaults.set_instance("w1");
  const auto last_hour = status_series(store, defaults, 3'600'000 + 120'000);
  REQUIRE(last_hour.points_size() == 60);
  CHECK(last_hour.points(0).time_unix_ms() == 120'000);
  CHECK(last_hour.points(0).empty());
  CHECK(last_hour.points(1).value() == 8.0);
}

}  // namespace

TEST_CASE("is_status_metric: the four container metrics only", "[ingest][series]") {
  for (const char* m : {"cpu", "memory_bytes", "restarts", "load"}) CHECK(is_status_metric(m));
  for (const char* m : {"request_rate", "p99_latency", "", "CPU"}) CHECK_FALSE(is_status_metric(m));
}

TEST_CASE("status_series: memory store", "[ingest][series]") {
  MemoryStore store;
  check_series(store);
  CHECK_THROWS_AS(status_series(store, request("request_rate", "web", ""), 0), std::invalid_argument);
}

TEST_CASE("status_series: sqlite store", "[ingest][series][sqlite]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  check_series(store);
}

}  // namespace tg::control::ingest
