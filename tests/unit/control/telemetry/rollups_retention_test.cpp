// Rollups retention (--rollups-retention) through Core: under steady input
// minute after minute, the rollups table stays at the retention's size.
#include "server/core.hpp"

#include "fake_clock.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <thread>

namespace tg::control {
namespace {

using namespace std::chrono_literals;

template <class T, class F>
T on_owner(Core& core, F f) {
  std::promise<T> result;
  boost::asio::post(core.io(), [&] { result.set_value(f()); });
  auto future = result.get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

std::size_t rollup_rows(Core& core) {
  std::promise<std::size_t> result;
  core.read_store([&](Store& store) { result.set_value(store.read_rollups_since(0).size()); });
  auto future = result.get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

TEST_CASE("core: rollups retention keeps the rollups table from growing under steady input", "[core][retention][telemetry]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  test::FakeClock clock;
  Registry registry(clock);
  registry.load(store.load());
  CoreOptions options;
  options.rollups_retention = 3min;
  options.retention_sweep = 5ms;
  options.retention_delete_batch = 4;  // several batches per sweep
  Core core(store, registry, options);
  core.start();
  constexpr int kSeries = 5;
  std::uint64_t seq = 0;
  std::size_t largest = 0;
  for (int minute = 0; minute < 20; ++minute) {
    const std::int64_t now = on_owner<std::int64_t>(core, [&] {
      clock.advance(1min);
      return clock.unix_ms();
    });
    CommitBatch batch;
    TelemetryCommit t;
    t.node_id = "p1";
    t.boot_id = "b1";
    t.seq = ++seq;
    t.received_unix_ms = now;
    for (int s = 0; s < kSeries; ++s) {
      RollupDelta d;
      d.series = SeriesKey{"acme", "r" + std::to_string(s), "svc", ""};
      d.minute_unix_ms = now - now % 60'000;
      d.counters.requests_by_class[1] = 1;
      t.deltas.push_back(std::move(d));
    }
    batch.telemetry.push_back(std::move(t));
    std::promise<bool> committed;
    boost::asio::post(core.io(), [&] {
      core.commit_telemetry(std::move(batch), [&](const Status& status, CommitBatch&&) { committed.set_value(status.ok()); });
    });
    auto future = committed.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    REQUIRE(future.get());
    // The sweep catches up: minutes older than 3 minutes go.
    std::size_t rows = rollup_rows(core);
    for (int i = 0; i < 2000 && rows > 4 * kSeries; ++i) {
      std::this_thread::sleep_for(2ms);
      rows = rollup_rows(core);
    }
    largest = std::max(largest, rows);
  }
  core.stop();
  CHECK(largest <= 4 * kSeries);  // the last 3 minutes and the current one, never more
  CHECK(core.metrics().rollups_deleted() >= 15 * kSeries);
}

}  // namespace
}  // namespace tg::control
