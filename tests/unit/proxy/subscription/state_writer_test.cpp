// The --state-dir writer (proxy/subscription/state_writer.cpp): changes
// handed over per update are applied on the saved table off the update loop,
// coalesced to the newest version, and the result is the table the entries
// hold (same bytes, same digest) — or, when the file cannot serve as the
// base, the writer asks for the whole table instead of writing a wrong one.
#include "subscription/state_writer.hpp"

#include "temp_dir.hpp"

#include "table/table_digest.hpp"
#include "table/table_entries.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

using namespace std::chrono_literals;
using tg::TableVersion;
using tg::proxy::subscription::delta_changes;
using tg::proxy::subscription::EntryChanges;
using tg::proxy::subscription::load_state;
using tg::proxy::subscription::LoadStatus;
using tg::proxy::subscription::merge_entries;
using tg::proxy::subscription::SavedTable;
using tg::proxy::subscription::state_file_path;
using tg::proxy::subscription::StateWriter;
using tg::proxy::test::TempDir;
namespace table = tg::table;
namespace v1 = tenantgate::v1;

namespace {

std::string instance_entry(const std::string& id, int port, v1::Health health = v1::HEALTH_HEALTHY) {
  v1::Instance instance;
  instance.set_id(id);
  instance.set_service("api");
  instance.set_address("127.0.0.1:" + std::to_string(port));
  instance.set_health(health);
  return table::encode_entry(table::instances, instance);
}

std::string tenant_entry(const std::string& id) {
  v1::Tenant tenant;
  tenant.set_id(id);
  return table::encode_entry(table::tenants, tenant);
}

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

SavedTable saved_now(const std::string& dir) {
  SavedTable saved;
  std::string error;
  if (load_state(dir, saved, error) != LoadStatus::loaded) return {};
  return saved;
}

}  // namespace

TEST_CASE("merge_entries gives the table the entries hold, in their order", "[proxy][control][state]") {
  std::mt19937 random(17);
  table::TableEntries entries;
  for (int i = 0; i < 50; ++i) entries.set(table::instances, "i" + std::to_string(i), instance_entry("i" + std::to_string(i), i));
  for (int i = 0; i < 10; ++i) entries.set(table::tenants, "t" + std::to_string(i), tenant_entry("t" + std::to_string(i)));
  std::string saved = entries.serialize();
  for (int round = 0; round < 200; ++round) {
    EntryChanges changes;
    for (int k = 0; k < 5; ++k) {
      const int n = static_cast<int>(random() % 70);
      const bool tenant = n >= 60;
      const std::string key = tenant ? "t" + std::to_string(n - 60) : "i" + std::to_string(n);
      const auto kind = tenant ? table::tenants : table::instances;
      if (random() % 3 == 0) {
        entries.erase(kind, key);
        changes[{kind, key}] = std::nullopt;
      } else {
        std::string entry = tenant ? tenant_entry(key) : instance_entry(key, static_cast<int>(random() % 1000));
        entries.set(kind, key, entry);
        changes[{kind, key}] = std::move(entry);
      }
    }
    std::string merged, error;
    REQUIRE(merge_entries(saved, changes, merged, error));
    REQUIRE(merged == entries.serialize());
    saved = std::move(merged);
  }
  // A table in another order (an older writer) is put in order first.
  std::string shuffled = tenant_entry("t9") + instance_entry("i1", 1) + tenant_entry("t1");
  std::string merged, error;
  REQUIRE(merge_entries(shuffled, {}, merged, error));
  CHECK(merged == tenant_entry("t1") + tenant_entry("t9") + instance_entry("i1", 1));
  CHECK_FALSE(merge_entries("\x0a\x7f", {}, merged, error));
}

TEST_CASE("delta_changes lists a delta's removals and upserts", "[proxy][control][state]") {
  v1::TableDelta delta;
  delta.add_removed_instances("gone");
  delta.add_removed_tenants("old");
  delta.set_upserts(instance_entry("new", 1) + tenant_entry("t"));
  const EntryChanges changes = delta_changes(delta);
  REQUIRE(changes.size() == 4);
  CHECK_FALSE(changes.at({table::instances, "gone"}));
  CHECK_FALSE(changes.at({table::tenants, "old"}));
  CHECK(*changes.at({table::instances, "new"}) == instance_entry("new", 1));
  CHECK(*changes.at({table::tenants, "t"}) == tenant_entry("t"));
}

TEST_CASE("the state writer applies changes on the saved table, newest only, health within its delay",
          "[proxy][control][state]") {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::pair<TableVersion, std::string>> done;
  table::TableEntries entries;
  entries.set(table::tenants, "acme", tenant_entry("acme"));
  entries.set(table::instances, "a", instance_entry("a", 1));
  entries.set(table::instances, "b", instance_entry("b", 2));
  {
    StateWriter writer(
        dir.path(),
        [&](const TableVersion& v, const std::string& e) {
          std::lock_guard lock(mutex);
          done.emplace_back(v, e);
        },
        2s);
    writer.submit_table(SavedTable{{4, 1}, "reg", entries.digest(), entries.serialize()});
    REQUIRE(eventually([&] { return saved_now(dir.path()).version == TableVersion{4, 1}; }));
    CHECK(saved_now(dir.path()).table == entries.serialize());

    // A config change (urgent): written at once, applied on the file.
    EntryChanges config;
    entries.set(table::instances, "c", instance_entry("c", 3));
    config[{table::instances, "c"}] = instance_entry("c", 3);
    entries.erase(table::instances, "a");
    config[{table::instances, "a"}] = std::nullopt;
    writer.submit_changes({4, 2}, "reg", entries.digest(), config, true);
    REQUIRE(eventually([&] { return saved_now(dir.path()).version == TableVersion{4, 2}; }, 1500ms));
    CHECK(saved_now(dir.path()).table == entries.serialize());
    CHECK(saved_now(dir.path()).digest == entries.digest());

    // Health changes in a burst: one write, of the newest, after the delay
    // (2 s after the previous write).
    const std::uint64_t writes = writer.writes();
    for (int k = 0; k < 20; ++k) {
      const auto health = k % 2 ? v1::HEALTH_UNHEALTHY : v1::HEALTH_HEALTHY;
      EntryChanges changes;
      entries.set(table::instances, "b", instance_entry("b", 2, health));
      changes[{table::instances, "b"}] = instance_entry("b", 2, health);
      writer.submit_changes({4, 3 + static_cast<std::uint64_t>(k)}, "reg", entries.digest(), changes, false);
    }
    REQUIRE(eventually([&] { return saved_now(dir.path()).version == TableVersion{4, 22}; }));
    CHECK(saved_now(dir.path()).table == entries.serialize());
    CHECK(writer.writes() - writes <= 2);  // the burst coalesced
    CHECK_FALSE(writer.needs_table());

    // Pending at destruction: written before the writer goes.
    EntryChanges last;
    entries.set(table::tenants, "globex", tenant_entry("globex"));
    last[{table::tenants, "globex"}] = tenant_entry("globex");
    writer.submit_changes({4, 23}, "reg", entries.digest(), last, false);
  }
  CHECK(saved_now(dir.path()).version == TableVersion{4, 23});
  CHECK(saved_now(dir.path()).table == entries.serialize());
  std::lock_guard lock(mutex);
  for (const auto& [version, error] : done) CHECK(error == "");
}

TEST_CASE("the state writer asks for the whole table when the file cannot be the base", "[proxy][control][state]") {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::string> errors;
  StateWriter writer(dir.path(), [&](const TableVersion&, const std::string& e) {
    std::lock_guard lock(mutex);
    errors.push_back(e);
  });
  table::TableEntries entries;
  entries.set(table::tenants, "acme", tenant_entry("acme"));
  // No file yet: nothing to apply changes on.
  EntryChanges changes;
  changes[{table::tenants, "acme"}] = tenant_entry("acme");
  writer.submit_changes({1, 2}, "reg", entries.digest(), changes, true);
  REQUIRE(eventually([&] { return writer.needs_table(); }));
  SavedTable none;
  std::string error;
  CHECK(load_state(dir.path(), none, error) == LoadStatus::absent);
  writer.submit_table(SavedTable{{1, 2}, "reg", entries.digest(), entries.serialize()});
  CHECK_FALSE(writer.needs_table());
  REQUIRE(eventually([&] { return saved_now(dir.path()).version == TableVersion{1, 2}; }));

  // Changes that do not lead to the digest (one was missed): not written.
  EntryChanges wrong;
  wrong[{table::tenants, "other"}] = tenant_entry("other");
  writer.submit_changes({1, 3}, "reg", entries.digest() + 1, wrong, true);
  REQUIRE(eventually([&] { return writer.needs_table(); }));
  CHECK(saved_now(dir.path()).version == TableVersion{1, 2});
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return errors.size() == 3;
  }));
  std::lock_guard lock(mutex);
  CHECK_THAT(errors[0], Catch::Contains("no saved table"));
  CHECK(errors[1] == "");
  CHECK_THAT(errors[2], Catch::Contains("digest"));
}
