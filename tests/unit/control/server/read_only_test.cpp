// A full database puts tg-control into read-only mode instead of stopping it:
// the failed write answers UNAVAILABLE, memory goes back to what the database
// holds, later writes are refused, and a probe write ends the mode once space
// returns. The disk is made "full" with PRAGMA max_page_count.
#include "on_owner.hpp"
#include "server/core.hpp"

#include "fake_clock.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <thread>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using namespace std::chrono_literals;

using test::on_owner;

// Runs `sql` on the writer thread (the store's only user) and waits.
void on_writer(Core& core, const std::string& sql) {
  std::promise<void> done;
  core.read_store([&](Store& store) {
    static_cast<SqliteStore&>(store).database().exec(sql);
    done.set_value();
  });
  REQUIRE(done.get_future().wait_for(10s) == std::future_status::ready);
}

// CreateTenant as the Admin service does it: refused before the registry
// changes when read-only.
Status create_tenant(Core& core, const std::string& id) {
  auto done = std::make_shared<std::promise<Status>>();
  auto future = done->get_future();
  boost::asio::post(core.io(), [&core, id, done] {
    if (Status refused = core.write_refusal(); !refused.ok()) {
      done->set_value(refused);
      return;
    }
    v1::CreateTenantRequest request;
    request.mutable_tenant()->set_id(id);
    (*request.mutable_tenant()->mutable_labels())["team"] = std::string(60, 'x');
    v1::Tenant out;
    CommitBatch batch;
    Status status = core.registry().create_tenant(request, WriteContext{"t", "CreateTenant"}, &out, &batch);
    if (!status.ok()) {
      done->set_value(status);
      return;
    }
    core.commit(std::move(batch), [done](const Status& committed) { done->set_value(committed); });
  });
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

// The stored state, read on the writer thread.
LoadedState stored(Core& core) {
  std::promise<LoadedState> state;
  core.read_store([&](Store& store) { state.set_value(store.load()); });
  auto future = state.get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

template <class F>
bool eventually(F condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST_CASE("core: a full database means read-only mode, not a stop, and writes resume when space returns",
          "[core][read-only]") {
  test::TempDir dir;
  SqliteStore store(SqliteOptions{dir.file("tg.db")});
  test::FakeClock clock;
  Registry registry(clock);
  registry.load(store.load());
  Core core(store, registry, CoreOptions{200ms, 20ms});
  std::string fatal;  // owner thread
  core.on_fatal([&](const std::string& reason) { fatal = reason; });
  std::vector<std::uint64_t> observed;  // owner thread
  core.add_observer([&](const CommitBatch& batch) { observed.push_back(batch.revision); });
  core.start();
  REQUIRE(create_tenant(core, "before").ok());

  // No page may be added from now on: a write fails as soon as it needs one.
  on_writer(core, "PRAGMA max_page_count = 1");  // clamped to the current size
  Status failed;
  std::string full_id;
  for (int i = 0; i < 1000 && failed.ok(); ++i) {
    full_id = "t" + std::to_string(i);
    failed = create_tenant(core, full_id);
  }
  INFO(failed.message);
  REQUIRE(failed.code == Code::unavailable);
  CHECK_THAT(failed.message, Catch::Contains("the database is full (") &&
                                 Catch::Contains("); writes are refused until space returns"));
  // Memory goes back to the database: the tenant that was not stored is gone.
  CHECK(eventually([&] { return on_owner(core, [&] { return core.registry().tenants().count(full_id) == 0; }); }));
  const std::uint64_t stored_revision = stored(core).revision;
  CHECK(on_owner(core, [&] { return core.registry().revision(); }) == stored_revision);
  CHECK(on_owner(core, [&] { return core.committed_revision(); }) == stored_revision);
  CHECK(on_owner(core, [&] { return observed.back(); }) == stored_revision);  // observers saw only stored batches
  CHECK(on_owner(core, [&] { return core.read_only(); }));
  CHECK(on_owner(core, [&] { return core.metrics().store_read_only(); }));
  CHECK(on_owner(core, [&] { return core.metrics().store_full(); }) >= 1);
  CHECK(on_owner(core, [&] { return core.metrics().render(core.registry(), core.committed_revision()); })
            .find("tg_control_store_read_only 1\n") != std::string::npos);

  // Later writes are refused without touching the registry; reads go on.
  const Status refused = create_tenant(core, "while-full");
  CHECK(refused.code == Code::unavailable);
  CHECK_THAT(refused.message, Catch::Contains("the database is full"));
  CHECK(on_owner(core, [&] { return core.registry().tenants().count("before"); }) == 1);
  CHECK(on_owner(core, [&] { return core.registry().tenants().count("while-full"); }) == 0);
  // The probe keeps failing while there is no space.
  std::this_thread::sleep_for(100ms);
  CHECK(on_owner(core, [&] { return core.read_only(); }));

  // Space returns: the probe write succeeds and writes are accepted again.
  on_writer(core, "PRAGMA max_page_count = 1073741823");
  CHECK(eventually([&] { return !on_owner(core, [&] { return core.read_only(); }); }));
  CHECK_FALSE(on_owner(core, [&] { return core.metrics().store_read_only(); }));
  REQUIRE(create_tenant(core, full_id).ok());
  CHECK(on_owner(core, [&] { return core.registry().revision(); }) == stored_revision + 1);
  CHECK(on_owner(core, [&] { return fatal; }).empty());
  core.stop();
  const LoadedState state = store.load();
  CHECK(state.revision == stored_revision + 1);
  CHECK(state.tenants.size() == registry.tenants().size());
}

}  // namespace
}  // namespace tg::control
