// Retention of event occurrences (--events-retention) and status samples:
// old rows are deleted in batches on the writer thread while ingest writes
// keep committing in between.
#include "server/core.hpp"

#include "fake_clock.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace tg::control {
namespace {

using namespace std::chrono_literals;

CommitBatch ingest_batch(std::int64_t time, int events, int samples, const std::string& prefix) {
  CommitBatch batch;
  for (int i = 0; i < events; ++i)
    batch.events.push_back(EventRecord{time, "ingest", "OrderFailed", "error", "acme", "web", "w1", "",
                                       prefix + std::to_string(i % 3), "order failed", "{}"});
  for (int i = 0; i < samples; ++i) {
    StatusSample s;
    s.time_unix_ms = time;
    s.tenant = "acme";
    s.service = "web";
    s.instance = "w1";
    batch.status_samples.push_back(s);
  }
  return batch;
}

template <class Read>
auto on_owner(Core& core, Read read) {
  std::promise<decltype(read())> result;
  boost::asio::post(core.io(), [&] { result.set_value(read()); });
  auto future = result.get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

}  // namespace

TEST_CASE("core: occurrences and status samples past their retention go in batches while ingest writes go on",
          "[core][retention][ingest]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  test::FakeClock clock;
  const std::int64_t now = clock.unix_ms();
  const std::int64_t old = now - 15LL * 24 * 3600 * 1000;
  store.commit({ingest_batch(old, 2500, 3200, "old-")});
  Registry registry(clock);
  registry.load(store.load());
  CoreOptions options;
  options.events_retention = 14 * 24h;
  options.status_retention = 14 * 24h;
  options.retention_sweep = 1h;  // only the sweep at start runs within this test
  options.retention_delete_batch = 1000;
  Core core(store, registry, options);
  core.start();
  // Ingest writes meanwhile: each must commit while the deletes are under way.
  std::atomic<int> committed{0};
  const int writes = 50;
  for (int i = 0; i < writes; ++i)
    boost::asio::post(core.io(), [&core, &committed, now, i] {
      core.commit(ingest_batch(now, 10, 2, "new-" + std::to_string(i) + "-"), [&committed](const Status& status) {
        if (status.ok()) ++committed;
      });
    });
  std::uint64_t occurrences = 0, samples = 0;
  for (int i = 0; i < 2000 && (occurrences < 2500 || samples < 3200 || committed < writes); ++i) {
    occurrences = on_owner(core, [&] { return core.metrics().ingest_deleted("occurrences"); });
    samples = on_owner(core, [&] { return core.metrics().ingest_deleted("status_samples"); });
    std::this_thread::sleep_for(5ms);
  }
  CHECK(occurrences == 2500);
  CHECK(samples == 3200);
  CHECK(committed == writes);
  core.stop();
  EventQuery all;
  all.occurrences = true;
  all.limit = 100000;
  const auto left = store.list_events(all);
  CHECK(left.size() == static_cast<std::size_t>(writes * 10));
  for (const auto& row : left) CHECK(row.record.time_unix_ms == now);
  CHECK(store.list_status_samples(StatusQuery{}).size() == static_cast<std::size_t>(writes * 2));
}

}  // namespace tg::control
