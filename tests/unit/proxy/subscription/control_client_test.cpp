// The proxy side of Discovery.StreamTable (proxy/subscription/control_client.cpp)
// against an in-process fake control plane: hello, ACK of a config, NACK of a
// table the proxy cannot build, health updates, the saved table, reconnects
// after the control plane restarts, and a prompt stop.
#include "subscription/control_client.hpp"
#include "subscription/state_store.hpp"
#include "subscription/update_check.hpp"

#include "fake_discovery.hpp"
#include "temp_dir.hpp"

#include "table/table_digest.hpp"
#include "table/table_entries.hpp"
#include "table/table_version.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using tg::TableVersion;
using tg::proxy::InstallFn;
using tg::proxy::Snapshot;
using tg::proxy::subscription::ControlClient;
using tg::proxy::subscription::ControlOptions;
using tg::proxy::test::FakeControlPlane;
using tg::proxy::test::TempDir;
namespace v1 = tenantgate::v1;

namespace {

// Stands in for the server's workers: records each snapshot it is told to
// serve and reports the switch at once (or never, to test the timeout, or
// when the test says so: slow workers).
struct FakeWorkers {
  std::mutex mutex;
  std::vector<std::shared_ptr<const Snapshot>> installed;
  bool switch_tables = true;
  std::vector<std::function<void()>> late;  // switches not reported yet (switch_tables = false)

  InstallFn install() {
    return [this](std::shared_ptr<const Snapshot> snapshot, std::function<void()> switched) {
      {
        std::lock_guard lock(mutex);
        installed.push_back(std::move(snapshot));
        if (!switch_tables) late.push_back(switched);
      }
      if (switch_tables) switched();
    };
  }
  // The slow workers get to the switches posted so far.
  void finish_late() {
    std::vector<std::function<void()>> pending;
    {
      std::lock_guard lock(mutex);
      pending.swap(late);
    }
    for (auto& switched : pending) switched();
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return installed.size();
  }
  std::shared_ptr<const Snapshot> last() {
    std::lock_guard lock(mutex);
    return installed.empty() ? nullptr : installed.back();
  }
};

v1::Table make_table(v1::LbPolicy policy = v1::LB_POLICY_ROUND_ROBIN) {
  v1::Table table;
  table.add_tenants()->set_id("acme");
  v1::Service* service = table.add_services();
  service->set_name("api");
  service->set_tenant("acme");
  service->set_lb_policy(policy);
  for (int i = 1; i <= 2; ++i) {
    v1::Instance* instance = table.add_instances();
    instance->set_id("api-" + std::to_string(i));
    instance->set_service("api");
    instance->set_address("127.0.0.1:" + std::to_string(9000 + i));
    instance->set_weight(1);
    instance->set_admin_state(v1::ADMIN_STATE_ACTIVE);
    instance->set_health(v1::HEALTH_HEALTHY);
  }
  v1::Route* route = table.add_routes();
  route->set_name("api-root");
  route->set_service("api");
  route->mutable_match()->set_path_prefix("/");
  return table;
}

v1::StreamTableResponse config_update(TableVersion version, const v1::Table& table) {
  v1::StreamTableResponse update;
  update.mutable_version()->set_generation(version.generation);
  update.mutable_version()->set_counter(version.counter);
  update.set_config(table.SerializeAsString());
  return update;
}

v1::StreamTableResponse health_update(TableVersion version, const std::string& id, v1::Health health) {
  v1::StreamTableResponse update;
  update.mutable_version()->set_generation(version.generation);
  update.mutable_version()->set_counter(version.counter);
  v1::InstanceState* state = update.mutable_health()->add_instances();
  state->set_id(id);
  state->set_health(health);
  state->set_health_reason("HTTP 500 on /healthz");
  state->set_admin_state(v1::ADMIN_STATE_ACTIVE);
  return update;
}

std::shared_ptr<const Snapshot> empty_snapshot() {
  std::string error;
  auto snapshot = Snapshot::build(tg::config::Config{}, 1, "", error);
  REQUIRE(snapshot);
  return snapshot;
}

ControlOptions options_for(const FakeControlPlane& control, std::string state_dir = {}) {
  ControlOptions options;
  options.address = control.address();
  options.node_id = "node-1";
  options.state_dir = std::move(state_dir);
  options.switch_timeout = 5s;
  options.backoff = {20ms, 200ms};
  return options;
}

TableVersion version_of(const v1::TableVersion& v) { return {v.generation(), v.counter()}; }

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("the client says hello, ACKs a config, NACKs an unusable one, applies health, comes back after a restart",
          "[proxy][control][client]") {
  TempDir dir;
  auto control = std::make_unique<FakeControlPlane>("secret");
  REQUIRE(control->started());
  const int port = control->port();
  FakeWorkers workers;
  ControlOptions options = options_for(*control, dir.path());
  options.token = "secret";
  ControlClient client(options);
  REQUIRE(client.saved_table(1) == nullptr);
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());

  auto hello = control->service().hello(0);
  REQUIRE(hello);
  CHECK(hello->node_id() == "node-1");
  CHECK(hello->boot_id() == client.boot_id());
  CHECK(hello->boot_id().size() == 16);
  CHECK_FALSE(hello->has_applied());
  CHECK(hello->listen() == "127.0.0.1:8080");
  CHECK_FALSE(hello->proxy_version().empty());
  REQUIRE(eventually([&] { return client.status().connected; }));

  // A config the proxy can build: ACK once the workers serve it.
  control->service().push(config_update({3, 1}, make_table()));
  auto answer = control->service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(version_of(answer->ack().version()) == TableVersion{3, 1});
  REQUIRE(workers.count() == 1);
  CHECK(workers.last()->control == TableVersion{3, 1});
  CHECK(workers.last()->version == 2);
  CHECK(workers.last()->routes.size() == 1);
  CHECK(workers.last()->instances.size() == 2);

  // sticky_link is refused by the proxy build: NACK with the reason, nothing installed.
  control->service().push(config_update({3, 2}, make_table(v1::LB_POLICY_STICKY_LINK)));
  answer = control->service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(version_of(answer->nack().version()) == TableVersion{3, 2});
  CHECK_THAT(answer->nack().reason(), Catch::Contains("sticky"));
  CHECK(workers.count() == 1);

  // A health update on top of the applied table.
  control->service().push(health_update({3, 3}, "api-1", v1::HEALTH_UNHEALTHY));
  answer = control->service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(version_of(answer->ack().version()) == TableVersion{3, 3});
  REQUIRE(workers.count() == 2);
  auto served = workers.last();
  CHECK(served->control == TableVersion{3, 3});
  REQUIRE(served->instances.size() == 2);
  for (const auto& instance : served->instances)
    CHECK(instance.health == (instance.id == "api-1" ? tg::config::Health::unhealthy : tg::config::Health::healthy));

  auto status = client.status();
  CHECK(status.config_acks == 1);
  CHECK(status.config_nacks == 1);
  CHECK(status.health_acks == 1);
  CHECK(status.health_nacks == 0);
  CHECK(status.applied == TableVersion{3, 3});
  CHECK(status.last_update_unix_ms > 0);
  CHECK(status.state_save_failures == 0);

  // The control plane restarts on the same port: the client reconnects and
  // names the version it serves.
  control.reset();
  REQUIRE(eventually([&] { return !client.status().connected; }));
  // The state dir holds the applied version with the state folded in: a
  // health update is saved at most once a second, and when the stream ends.
  tg::proxy::subscription::SavedTable saved;
  std::string error;
  // Written by the client's state writer thread: wait for it.
  REQUIRE(eventually([&] {
    return tg::proxy::subscription::load_state(dir.path(), saved, error) == tg::proxy::subscription::LoadStatus::loaded &&
           saved.version == TableVersion{3, 3};
  }));
  v1::Table table;
  REQUIRE(table.ParseFromString(saved.table));
  REQUIRE(table.instances_size() == 2);
  CHECK(table.instances(0).health() == v1::HEALTH_UNHEALTHY);
  CHECK(table.instances(0).health_reason() == "HTTP 500 on /healthz");
  CHECK(table.instances(1).health() == v1::HEALTH_HEALTHY);

  control = std::make_unique<FakeControlPlane>("secret", port);
  REQUIRE(control->started());
  hello = control->service().hello(0);
  REQUIRE(hello);
  CHECK(hello->boot_id() == client.boot_id());
  REQUIRE(hello->has_applied());
  CHECK(version_of(hello->applied()) == TableVersion{3, 3});
  REQUIRE(eventually([&] { return client.status().connected; }));
  status = client.status();
  CHECK(status.connects == 2);
  CHECK(status.disconnects == 1);

  // And keeps applying.
  control->service().push(health_update({4, 1}, "api-1", v1::HEALTH_HEALTHY));
  answer = control->service().next_answer();
  REQUIRE(answer);
  CHECK(answer->has_ack());

  const auto before_stop = std::chrono::steady_clock::now();
  client.stop();
  client.join();
  CHECK(std::chrono::steady_clock::now() - before_stop < 2s);
}

namespace {

// The delta from table `from` to table `to`, with `to`'s digest, as tg-control builds it.
v1::StreamTableResponse delta_update(TableVersion version, const v1::Table& from, const v1::Table& to) {
  tg::table::TableEntries before, after;
  std::string error;
  REQUIRE(before.load(from.SerializeAsString(), error));
  REQUIRE(after.load(to.SerializeAsString(), error));
  v1::StreamTableResponse update;
  update.mutable_version()->set_generation(version.generation);
  update.mutable_version()->set_counter(version.counter);
  v1::TableDelta* delta = update.mutable_delta();
  google::protobuf::RepeatedPtrField<std::string>* removed[tg::table::kEntryKinds] = {
      delta->mutable_removed_tenants(), delta->mutable_removed_services(), delta->mutable_removed_instances(),
      delta->mutable_removed_routes()};
  std::string upserts;
  for (std::size_t k = 0; k < tg::table::kEntryKinds; ++k) {
    const auto kind = static_cast<tg::table::EntryKind>(k);
    for (const auto& [key, entry] : after.of(kind)) {
      const std::string* old = before.find(kind, key);
      if (!old || *old != entry) upserts += entry;
    }
    for (const auto& [key, entry] : before.of(kind))
      if (!after.find(kind, key)) removed[k]->Add(std::string(key));
  }
  delta->set_upserts(std::move(upserts));
  update.set_digest(after.digest());
  return update;
}

}  // namespace

TEST_CASE("a delta is applied on the table served, checked by its digest, refused as unusable otherwise",
          "[proxy][control][client][delta]") {
  TempDir dir;
  FakeControlPlane control;
  REQUIRE(control.started());
  FakeWorkers workers;
  ControlClient client(options_for(control, dir.path()));
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  REQUIRE(control.service().hello(0));
  const v1::Table base = make_table();
  control.service().push(config_update({5, 1}, base));
  auto answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());

  // One more route, one instance fewer: applied, served, saved.
  v1::Table next = make_table();
  v1::Route* route = next.add_routes();
  route->set_name("admin");
  route->set_service("api");
  route->mutable_match()->set_path_prefix("/admin/");
  next.mutable_instances()->RemoveLast();
  control.service().push(delta_update({5, 2}, base, next));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(version_of(answer->ack().version()) == TableVersion{5, 2});
  REQUIRE(workers.count() == 2);
  CHECK(workers.last()->routes.size() == 2);
  CHECK(workers.last()->instances.size() == 1);
  // Applied on the served snapshot (Snapshot::apply), not built whole: the
  // table has tenants (so an auth index) but no route with auth.
  CHECK(workers.last()->change != nullptr);
  tg::proxy::subscription::SavedTable saved;
  std::string error;
  REQUIRE(eventually([&] {
    return tg::proxy::subscription::load_state(dir.path(), saved, error) ==
               tg::proxy::subscription::LoadStatus::loaded &&
           saved.version == TableVersion{5, 2};
  }));
  CHECK(tg::table::table_digest(saved.table) == tg::table::table_digest(next.SerializeAsString()));

  // A delta whose result misses its digest: NACKed as unusable, nothing installed, 5.2 still served.
  v1::Table third = next;
  third.mutable_routes(1)->mutable_match()->set_path_prefix("/other/");
  auto damaged = delta_update({5, 3}, next, third);
  damaged.set_digest(damaged.digest() + 1);
  control.service().push(damaged);
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(answer->nack().delta_unusable());
  CHECK_THAT(answer->nack().reason(), Catch::Contains("digest"));
  CHECK(workers.count() == 2);
  CHECK(client.status().refusals[static_cast<std::size_t>(tg::proxy::subscription::Refusal::digest_mismatch)] == 1);

  // The same delta, undamaged, still applies: the refused one was undone.
  control.service().push(delta_update({5, 3}, next, third));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(workers.count() == 3);

  // A delta whose table is refused (not the delta itself): an ordinary NACK.
  v1::Table bad = third;
  bad.mutable_services(0)->set_lb_policy(v1::LB_POLICY_STICKY_LINK);
  control.service().push(delta_update({5, 4}, third, bad));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK_FALSE(answer->nack().delta_unusable());

  // An empty delta relabels the table served without building it again.
  auto relabel = delta_update({6, 1}, third, third);
  control.service().push(relabel);
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  REQUIRE(workers.count() == 4);
  CHECK(workers.last()->control == TableVersion{6, 1});
  CHECK(workers.last()->routes.size() == 2);

  // On a version it does not serve: base_mismatch, unusable.
  auto stale = delta_update({6, 2}, third, next);
  *stale.mutable_base_version() = tg::table::to_proto(TableVersion{5, 1});
  control.service().push(stale);
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(answer->nack().delta_unusable());
  client.stop();
  client.join();
}

TEST_CASE("workers that do not switch in time: NACK naming the wait", "[proxy][control][client]") {
  FakeControlPlane control;
  REQUIRE(control.started());
  FakeWorkers workers;
  workers.switch_tables = false;
  ControlOptions options = options_for(control);
  options.switch_timeout = 100ms;
  ControlClient client(options);
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  control.service().push(config_update({1, 1}, make_table()));
  auto answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK_THAT(answer->nack().reason(), Catch::StartsWith("workers did not switch within 100 ms"));
  // Not a refusal of the table: tg-control may send it again.
  CHECK(answer->nack().retryable());
  CHECK_FALSE(answer->nack().delta_unusable());
  CHECK(client.status().applied.empty());
}

TEST_CASE("a switch that timed out is confirmed when the same version comes again, without building it again",
          "[proxy][control][client][retry]") {
  FakeControlPlane control;
  REQUIRE(control.started());
  FakeWorkers workers;
  workers.switch_tables = false;
  ControlOptions options = options_for(control);
  options.switch_timeout = 100ms;
  ControlClient client(options);
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  const v1::Table base = make_table();
  control.service().push(config_update({3, 1}, base));
  auto answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(answer->nack().retryable());
  REQUIRE(workers.count() == 1);
  const auto posted = workers.last();

  // Sent again while the workers are still busy: one more retryable NACK,
  // nothing built or posted again.
  control.service().push(config_update({3, 1}, base));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(answer->nack().retryable());
  CHECK(workers.count() == 1);

  // The workers get to it; the next resend is ACKed at once, same snapshot.
  workers.finish_late();
  control.service().push(config_update({3, 1}, base));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(version_of(answer->ack().version()) == TableVersion{3, 1});
  CHECK(workers.count() == 1);
  CHECK(client.status().applied == TableVersion{3, 1});

  // A delta on it whose switch times out, then comes again: the entries were
  // put back after the timeout and take the delta again; the digest holds.
  v1::Table next = base;
  v1::Route* route = next.add_routes();
  route->set_name("admin");
  route->set_service("api");
  route->mutable_match()->set_path_prefix("/admin/");
  control.service().push(delta_update({3, 2}, base, next));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(answer->nack().retryable());
  REQUIRE(workers.count() == 2);
  CHECK(workers.last()->routes.size() == 2);
  workers.finish_late();
  control.service().push(delta_update({3, 2}, base, next));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(workers.count() == 2);
  CHECK(client.status().applied == TableVersion{3, 2});

  // Another version after a timed-out one is built as usual.
  v1::Table third = next;
  third.mutable_routes(1)->mutable_match()->set_path_prefix("/other/");
  control.service().push(delta_update({3, 3}, next, third));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  control.service().push(delta_update({3, 4}, next, next));
  answer = control.service().next_answer();
  REQUIRE(answer);
  CHECK(answer->has_nack());  // the workers never switched: still not confirmed
  CHECK(workers.count() == 4);
  workers.finish_late();
  client.stop();
  client.join();
  CHECK(posted);
}

TEST_CASE("a table saved in the state dir is served at start and named in the hello", "[proxy][control][client]") {
  TempDir dir;
  std::string error;
  REQUIRE(tg::proxy::subscription::save_state(
      dir.path(), {{2, 5}, tg::proxy::test::FakeDiscovery::registry_id, 99, make_table().SerializeAsString()}, error));
  FakeControlPlane control;
  REQUIRE(control.started());
  FakeWorkers workers;
  ControlClient client(options_for(control, dir.path()));
  auto saved = client.saved_table(1);
  REQUIRE(saved);
  CHECK(saved->control == TableVersion{2, 5});
  CHECK(saved->routes.size() == 1);
  CHECK(client.status().from_state_dir);
  CHECK(client.status().applied == TableVersion{2, 5});

  client.start(saved, "127.0.0.1:8080", workers.install());
  auto hello = control.service().hello(0);
  REQUIRE(hello);
  REQUIRE(hello->has_applied());
  CHECK(version_of(hello->applied()) == TableVersion{2, 5});
  CHECK(hello->registry_id() == tg::proxy::test::FakeDiscovery::registry_id);
  CHECK(hello->digest() == 99);

  // A health update applies on top of the saved table.
  control.service().push(health_update({2, 6}, "api-2", v1::HEALTH_UNHEALTHY));
  auto answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK_FALSE(client.status().from_state_dir);
  REQUIRE(workers.last());
  CHECK(workers.last()->control == TableVersion{2, 6});
}

TEST_CASE("a corrupt saved table is ignored and counted", "[proxy][control][client]") {
  TempDir dir;
  {
    std::ofstream out(tg::proxy::subscription::state_file_path(dir.path()), std::ios::binary);
    out << "TGTABLE1 but then garbage";
  }
  ControlOptions options;
  options.address = "127.0.0.1:1";
  options.node_id = "node-1";
  options.state_dir = dir.path();
  ControlClient client(options);
  CHECK(client.saved_table(1) == nullptr);
  CHECK(client.status().state_load_failures == 1);
  CHECK_FALSE(client.status().from_state_dir);
}

TEST_CASE("a saved table that is intact but not a usable Table is ignored and counted", "[proxy][control][client]") {
  TempDir dir;
  std::string error;
  REQUIRE(tg::proxy::subscription::save_state(
      dir.path(), {{1, 1}, "", 0, make_table(v1::LB_POLICY_STICKY_LINK).SerializeAsString()}, error));
  ControlOptions options;
  options.address = "127.0.0.1:1";
  options.node_id = "node-1";
  options.state_dir = dir.path();
  ControlClient client(options);
  CHECK(client.saved_table(1) == nullptr);
  CHECK(client.status().state_load_failures == 1);
}

TEST_CASE("a wrong token is refused and the client keeps retrying", "[proxy][control][client]") {
  FakeControlPlane control("secret");
  REQUIRE(control.started());
  FakeWorkers workers;
  ControlOptions options = options_for(control);
  options.token = "wrong";
  ControlClient client(options);
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  CHECK(control.service().wait_rejected(3));
  CHECK_FALSE(control.service().hello(0, 0ms));
  // Never "connected": tg-control did not accept a hello.
  CHECK_FALSE(client.status().connected);
  CHECK(client.status().connects == 0);
}

TEST_CASE("a table of another registry is NACKed and the proxy keeps its table, unless adopted",
          "[proxy][control][client][registry]") {
  TempDir dir;
  std::string error;
  // The proxy served version 2.2 of registry "old0registry" (saved in its state dir).
  REQUIRE(tg::proxy::subscription::save_state(dir.path(), {{2, 2}, "old0registry", 7, make_table().SerializeAsString()},
                                         error));
  FakeControlPlane control;  // registry FakeDiscovery::registry_id: another database
  REQUIRE(control.started());
  FakeWorkers workers;
  ControlClient client(options_for(control, dir.path()));
  auto saved = client.saved_table(1);
  REQUIRE(saved);
  client.start(saved, "127.0.0.1:8080", workers.install());
  REQUIRE(eventually([&] { return client.status().connected; }));

  // The empty registry of a new database, version 1.1: refused.
  control.service().push(config_update({1, 1}, v1::Table{}));
  auto answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK_THAT(answer->nack().reason(), Catch::Contains("tgctl registry adopt old0registry"));
  CHECK(workers.count() == 0);
  CHECK(client.status().applied == TableVersion{2, 2});
  CHECK(client.status().registry_id == "old0registry");
  CHECK(client.status().refusals[static_cast<std::size_t>(tg::proxy::subscription::Refusal::foreign_registry)] == 1);

  // The operator adopted the proxy's registry: the update says so.
  auto adopted = config_update({1, 2}, make_table());
  adopted.add_adopted_registry_ids("old0registry");
  control.service().push(adopted);
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  CHECK(client.status().registry_id == tg::proxy::test::FakeDiscovery::registry_id);
  // From now on the proxy is of the new registry: an older version of it is refused.
  control.service().push(config_update({1, 1}, make_table()));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK_THAT(answer->nack().reason(), Catch::Contains("--accept-restore"));
}

TEST_CASE("a table with a value a configuration file could not hold is NACKed as invalid, the table kept",
          "[proxy][control][client][validate]") {
  FakeControlPlane control;
  REQUIRE(control.started());
  FakeWorkers workers;
  ControlClient client(options_for(control));
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  REQUIRE(eventually([&] { return client.status().connected; }));
  control.service().push(config_update({4, 1}, make_table()));
  auto answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_ack());
  REQUIRE(workers.count() == 1);

  v1::Table bad = make_table();
  bad.mutable_services(0)->mutable_timeouts()->set_idle_ms(UINT64_MAX);
  control.service().push(config_update({4, 2}, bad));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK(version_of(answer->nack().version()) == tg::TableVersion{4, 2});
  CHECK(answer->nack().reason() == "service api: timeouts.idle_ms 18446744073709551615 is out of range");

  v1::Table wildcard = make_table();
  wildcard.mutable_routes(0)->mutable_match()->set_host("*");
  control.service().push(config_update({4, 3}, wildcard));
  answer = control.service().next_answer();
  REQUIRE(answer);
  REQUIRE(answer->has_nack());
  CHECK_THAT(answer->nack().reason(), Catch::StartsWith("route \"api-root\": match.host: bad host \"*\""));

  CHECK(workers.count() == 1);  // nothing installed: version 4.1 keeps serving
  const auto status = client.status();
  CHECK(status.applied == tg::TableVersion{4, 1});
  CHECK(status.config_nacks == 2);
  CHECK(status.refusals[static_cast<std::size_t>(tg::proxy::subscription::Refusal::invalid)] == 2);
  CHECK(status.refusals[static_cast<std::size_t>(tg::proxy::subscription::Refusal::malformed)] == 0);
}

TEST_CASE("stop is prompt while tg-control is unreachable and the backoff is long", "[proxy][control][client]") {
  // A port nobody listens on: start and stop a server to learn one.
  std::string address;
  {
    FakeControlPlane gone;
    REQUIRE(gone.started());
    address = gone.address();
  }
  FakeWorkers workers;
  ControlOptions options;
  options.address = address;
  options.node_id = "node-1";
  options.backoff = {5000ms, 5000ms};
  ControlClient client(options);
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  REQUIRE(eventually([&] { return !client.status().connected; }, 1s));
  const auto before_stop = std::chrono::steady_clock::now();
  client.stop();
  client.join();
  CHECK(std::chrono::steady_clock::now() - before_stop < 2s);
  CHECK(client.status().connects == 0);
}

TEST_CASE("an unknown kid is sent as a KeyRequest on the stream, once per tenant every 30 s",
          "[proxy][control][client][auth]") {
  TempDir dir;
  FakeControlPlane control;
  REQUIRE(control.started());
  FakeWorkers workers;
  ControlClient client(options_for(control, dir.path()));
  client.start(empty_snapshot(), "127.0.0.1:8080", workers.install());
  REQUIRE(eventually([&] { return client.status().connected; }));
  client.request_key("acme", "k9");
  client.request_key("acme", "k10");  // the same tenant within 30 s: not sent
  client.request_key("globex", "g1");
  // The fake reads requests with the answer to the next update.
  REQUIRE(eventually([&] {
    control.service().push(config_update({3, static_cast<std::uint64_t>(workers.count() + 1)}, make_table()));
    auto answer = control.service().next_answer();
    return answer && control.service().key_requests().size() >= 2;
  }));
  const auto requests = control.service().key_requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].tenant() == "acme");
  CHECK(requests[0].kid() == "k9");
  CHECK(requests[1].tenant() == "globex");
  CHECK(requests[1].kid() == "g1");
  control.service().push(config_update({4, 1}, make_table()));
  REQUIRE(control.service().next_answer());
  CHECK(control.service().key_requests().size() == 2);
}
