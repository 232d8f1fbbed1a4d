// Group commit: concurrent writes share transactions; callbacks only after COMMIT.
#include "store/commit_queue.hpp"

#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tg::control {
namespace {

CommitBatch tenant_batch(std::uint64_t revision) {
  const std::string name = "t" + std::to_string(revision);
  return CommitBatch{revision, {Mutation{ObjectKind::tenant, name, "", name}}, {}};
}

TEST_CASE("commit queue: writes waiting behind a commit share the next one", "[commit_queue]") {
  MemoryStore store;
  // Callbacks run on the writer thread: they only count (Catch2 asserts on the test thread).
  std::atomic<std::size_t> transactions{0}, largest{0}, failed{0};
  CommitQueue queue(store, [&](std::chrono::nanoseconds, std::size_t batches, bool ok) {
    if (!ok) ++failed;
    ++transactions;
    largest = std::max<std::size_t>(largest, batches);
  });
  queue.start();
  store.hold_commits(true);  // the first commit blocks inside the store
  constexpr int n = 200;
  std::vector<std::promise<Status>> done(n);
  std::atomic<int> committed_when_acked{0};
  for (int i = 0; i < n; ++i) {
    if (i == 1) {  // wait (bounded) until the first write is inside its commit
      for (int spin = 0; spin < 10000 && store.held_commits() == 0; ++spin)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      REQUIRE(store.held_commits() == 1);
    }
    queue.submit(tenant_batch(i + 1), [&, i](const Status& status, CommitBatch&& batch) {
      // Acknowledged only once the store holds it.
      if (store.load().revision >= batch.revision) ++committed_when_acked;
      done[i].set_value(status);
    });
  }
  store.hold_commits(false);
  for (auto& d : done) {
    auto future = d.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(future.get().ok());
  }
  queue.stop();
  CHECK(failed == 0);
  CHECK(committed_when_acked == n);
  CHECK(store.load().tenants.size() == n);
  CHECK(store.commit_count() == 2);  // the first alone, then the other 199 together
  CHECK(transactions == 2);
  CHECK(largest == n - 1);
}

TEST_CASE("commit queue: a failed transaction fails every write in it", "[commit_queue]") {
  MemoryStore store;
  std::vector<std::pair<std::size_t, bool>> transactions;  // (batches, ok), written on the writer thread
  std::mutex transactions_mutex;
  CommitQueue queue(store, [&](std::chrono::nanoseconds, std::size_t batches, bool ok) {
    std::lock_guard lock(transactions_mutex);
    transactions.emplace_back(batches, ok);
  });
  queue.start();
  // A first write held inside its commit, so that the next two wait together
  // and share the next transaction. Its callback (on the writer thread, after
  // its transaction and before the next one starts) arms the failure.
  store.hold_commits(true);
  std::promise<Status> first, a, b;
  queue.submit(tenant_batch(1), [&](const Status& s, CommitBatch&&) {
    store.fail_next_commit();
    first.set_value(s);
  });
  for (int spin = 0; spin < 10000 && store.held_commits() == 0; ++spin)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(store.held_commits() == 1);
  queue.submit(tenant_batch(2), [&](const Status& s, CommitBatch&&) { a.set_value(s); });
  queue.submit(tenant_batch(3), [&](const Status& s, CommitBatch&&) { b.set_value(s); });
  store.hold_commits(false);
  auto f1 = first.get_future(), fa = a.get_future(), fb = b.get_future();
  REQUIRE(f1.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  REQUIRE(fa.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  REQUIRE(fb.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  queue.stop();
  CHECK(f1.get().ok());
  const Status sa = fa.get(), sb = fb.get();
  CHECK(sa.code == Code::internal);
  CHECK(sa.message.find("injected commit failure") != std::string::npos);
  CHECK(sb.code == Code::internal);
  CHECK(sb.message == sa.message);
  CHECK(transactions == std::vector<std::pair<std::size_t, bool>>{{1, true}, {2, false}});
  CHECK(store.load().tenants.size() == 1);  // only the first write is stored
}

// Deterministic batching is shown above; on SQLite the grouping depends on
// timing, so this checks durability and accounting, not a transaction count.
TEST_CASE("commit queue: many concurrent writers on SQLite", "[commit_queue][sqlite]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  std::atomic<std::size_t> transactions{0};
  CommitQueue queue(store, [&](std::chrono::nanoseconds, std::size_t, bool) { ++transactions; });
  queue.start();
  constexpr int threads = 8, per_thread = 50;
  std::atomic<std::uint64_t> revision{0};
  std::atomic<int> acked{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        std::promise<void> done;
        queue.submit(tenant_batch(++revision), [&](const Status& s, CommitBatch&&) {
          if (s.ok()) ++acked;
          done.set_value();
        });
        done.get_future().wait_for(std::chrono::seconds(10));
      }
    });
  }
  for (auto& w : writers) w.join();
  queue.stop();
  CHECK(acked == threads * per_thread);
  CHECK(store.load().tenants.size() == threads * per_thread);
  CHECK(transactions <= static_cast<std::size_t>(threads * per_thread));
  CHECK(transactions >= 1);
}

}  // namespace
}  // namespace tg::control
