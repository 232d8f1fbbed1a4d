// The alerting rows (migration 9): commit, a kill-free restart (reopen and
// load), listings, get_alert's assembly, the outbox order, tombstones, the
// ack key, and retention. SqliteStore and MemoryStore agree.
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

#include "tenantgate/v1/alerting.pb.h"

#include <catch2/catch.hpp>

#include <functional>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;

AlertChanges::Episode episode(std::uint64_t id, const std::string& rule, const std::string& tenant,
                              v1::Alert::State state, std::int64_t active, std::int64_t resolved = 0) {
  v1::Alert alert;
  alert.set_id(id);
  alert.set_fingerprint("00000000000000" + std::to_string(10 + id % 90));
  alert.set_rule(rule);
  alert.set_tenant(tenant);
  alert.set_state(state);
  alert.set_active_since_unix_ms(active);
  alert.set_resolved_unix_ms(resolved);
  (*alert.mutable_labels())["alertname"] = rule;
  AlertChanges::Episode e;
  e.id = id;
  e.fingerprint = alert.fingerprint();
  e.rule = rule;
  e.tenant = tenant;
  e.state = state;
  e.active_since_unix_ms = active;
  e.resolved_unix_ms = resolved;
  e.body = alert.SerializeAsString();
  return e;
}

AlertChanges::Transition transition(std::uint64_t id, v1::Alert::State from, v1::Alert::State to, std::int64_t at) {
  v1::AlertTransition t;
  t.set_unix_ms(at);
  t.set_from(from);
  t.set_to(to);
  t.set_actor("tg-control");
  t.set_action("evaluate");
  return {id, t.SerializeAsString()};
}

AlertChanges::Delivery delivery(const std::string& id, std::uint64_t alert_id, v1::Delivery::Status status,
                                std::int64_t created) {
  v1::Delivery d;
  d.set_id(id);
  d.set_notifier("hook");
  d.set_state(v1::Alert::STATE_FIRING);
  d.set_status(status);
  d.set_created_unix_ms(created);
  AlertChanges::Delivery row;
  row.id = id;
  row.alert_id = alert_id;
  row.notifier = "hook";
  row.fingerprint = "f";
  row.status = status;
  row.next_attempt_unix_ms = created;
  row.body = d.SerializeAsString();
  row.alert_body = "told";
  row.ack_url = "http://x/v1/alerts/" + std::to_string(alert_id) + "/ack?token=t";
  return row;
}

AlertChanges::Attempt attempt(const std::string& delivery_id, int http_status, std::int64_t at) {
  v1::DeliveryAttempt a;
  a.set_unix_ms(at);
  a.set_http_status(http_status);
  if (http_status != 200) a.set_error("http " + std::to_string(http_status));
  return {delivery_id, a.SerializeAsString()};
}

// The whole contract on `open()` (a fresh store on the first call, the same
// data reopened on the next: for SqliteStore a restart).
void check_alert_rows(const std::function<Store&(bool reopen)>& open) {
  Store& store = open(false);
  const LoadedAlerts empty = store.load_alerts();
  CHECK(empty.rules.empty());
  CHECK(empty.open_episodes.empty());
  CHECK(empty.max_alert_id == 0);
  REQUIRE(empty.ack_key.size() == 64);
  const std::string ack_key = empty.ack_key;

  CommitBatch first;
  first.alerts.rules.push_back({"high-errors", std::string("rule-body")});
  first.alerts.rules.push_back({"gone", std::string("x")});
  first.alerts.notifiers.push_back({"hook", std::string("notifier-body")});
  first.alerts.silences.push_back({"s1", std::string("silence-body")});
  first.alerts.tombstones.push_back({"rule/old", std::string("deploy/alerts.yaml")});
  first.alerts.episodes.push_back(episode(1, "high-errors", "acme", v1::Alert::STATE_FIRING, 1000));
  first.alerts.episodes.push_back(episode(2, "high-errors", "globex", v1::Alert::STATE_RESOLVED, 1000, 5000));
  first.alerts.episodes.push_back(episode(3, "latency", "acme", v1::Alert::STATE_PENDING, 2000));
  first.alerts.transitions.push_back(transition(1, v1::Alert::STATE_UNSPECIFIED, v1::Alert::STATE_PENDING, 1000));
  first.alerts.transitions.push_back(transition(1, v1::Alert::STATE_PENDING, v1::Alert::STATE_FIRING, 1500));
  first.alerts.deliveries.push_back(delivery("msg_b", 1, v1::Delivery::STATUS_PENDING, 1500));
  first.alerts.deliveries.push_back(delivery("msg_a", 1, v1::Delivery::STATUS_PENDING, 1500));
  first.alerts.deliveries.push_back(delivery("msg_c", 2, v1::Delivery::STATUS_DELIVERED, 1500));
  first.alerts.attempts.push_back(attempt("msg_b", 503, 1600));
  store.commit({first});

  CommitBatch second;
  second.alerts.rules.push_back({"gone", std::nullopt});
  second.alerts.attempts.push_back(attempt("msg_a", 200, 1700));
  AlertChanges::Delivery done = delivery("msg_a", 1, v1::Delivery::STATUS_DELIVERED, 1500);
  done.alert_body = "ignored on update";
  second.alerts.deliveries.push_back(done);
  // The episode replaced (an ack): its transitions stay.
  second.alerts.episodes.push_back(episode(1, "high-errors", "acme", v1::Alert::STATE_FIRING, 1000));
  second.alerts.transitions.push_back(transition(1, v1::Alert::STATE_FIRING, v1::Alert::STATE_FIRING, 1800));
  store.commit({second});

  Store& again = open(true);
  const LoadedAlerts loaded = again.load_alerts();
  CHECK(loaded.ack_key == ack_key);  // created once per database
  CHECK(loaded.rules == std::vector<std::string>{"rule-body"});
  CHECK(loaded.notifiers == std::vector<std::string>{"notifier-body"});
  CHECK(loaded.silences == std::vector<std::string>{"silence-body"});
  REQUIRE(loaded.tombstones.size() == 1);
  CHECK(loaded.tombstones[0].name == "rule/old");
  CHECK(loaded.tombstones[0].body == std::optional<std::string>("deploy/alerts.yaml"));
  CHECK(loaded.max_alert_id == 3);
  REQUIRE(loaded.open_episodes.size() == 2);  // 2 is resolved
  CHECK(loaded.open_episodes[0].id == 1);
  CHECK(loaded.open_episodes[1].id == 3);
  CHECK(loaded.open_episodes[1].state == v1::Alert::STATE_PENDING);
  REQUIRE(loaded.pending_deliveries.size() == 1);  // msg_a delivered since
  CHECK(loaded.pending_deliveries[0].id == "msg_b");
  CHECK(loaded.pending_deliveries[0].attempts == 1);
  CHECK(loaded.pending_deliveries[0].alert_body == "told");
  CHECK(loaded.pending_deliveries[0].ack_url == "http://x/v1/alerts/1/ack?token=t");

  // Listings: id descending, filtered.
  auto ids = [&again](AlertQuery query) {
    std::vector<std::uint64_t> out;
    for (const auto& body : again.list_alerts(query)) {
      v1::Alert alert;
      REQUIRE(alert.ParseFromString(body));
      CHECK(alert.transitions().empty());
      out.push_back(alert.id());
    }
    return out;
  };
  auto q = [](int state, std::string tenant, std::string rule, std::uint32_t limit, std::uint64_t before) {
    AlertQuery query;
    query.state = state;
    query.tenant = std::move(tenant);
    query.rule = std::move(rule);
    query.limit = limit;
    query.before_id = before;
    return query;
  };
  CHECK(ids({}) == std::vector<std::uint64_t>{3, 2, 1});
  CHECK(ids(q(0, "acme", "", 100, 0)) == std::vector<std::uint64_t>{3, 1});
  CHECK(ids(q(v1::Alert::STATE_RESOLVED, "", "", 100, 0)) == std::vector<std::uint64_t>{2});
  CHECK(ids(q(0, "", "high-errors", 100, 0)) == std::vector<std::uint64_t>{2, 1});
  CHECK(ids(q(0, "", "", 1, 0)) == std::vector<std::uint64_t>{3});
  CHECK(ids(q(0, "", "", 10, 3)) == std::vector<std::uint64_t>{2, 1});

  // One episode whole: transitions, deliveries in creation order, attempts.
  CHECK_FALSE(again.get_alert(99));
  const auto body = again.get_alert(1);
  REQUIRE(body);
  v1::Alert alert;
  REQUIRE(alert.ParseFromString(*body));
  CHECK(alert.id() == 1);
  CHECK(alert.labels().at("alertname") == "high-errors");
  REQUIRE(alert.transitions_size() == 3);
  CHECK(alert.transitions(1).to() == v1::Alert::STATE_FIRING);
  CHECK(alert.transitions(2).unix_ms() == 1800);
  REQUIRE(alert.deliveries_size() == 2);
  CHECK(alert.deliveries(0).id() == "msg_b");
  CHECK(alert.deliveries(0).status() == v1::Delivery::STATUS_PENDING);
  REQUIRE(alert.deliveries(0).attempts_size() == 1);
  CHECK(alert.deliveries(0).attempts(0).http_status() == 503);
  CHECK(alert.deliveries(1).id() == "msg_a");
  CHECK(alert.deliveries(1).status() == v1::Delivery::STATUS_DELIVERED);
  CHECK(alert.deliveries(1).attempts(0).http_status() == 200);

  // A transition of an absent episode is refused (a foreign key), and the
  // whole commit with it.
  CommitBatch bad;
  bad.alerts.rules.push_back({"never", std::string("x")});
  bad.alerts.transitions.push_back(transition(42, v1::Alert::STATE_PENDING, v1::Alert::STATE_FIRING, 1));
  CHECK_THROWS(again.commit({bad}));
  CHECK(again.load_alerts().rules.size() == 1);

  // Retention: resolved episodes only, in batches, with their rows.
  CommitBatch old;
  for (std::uint64_t id = 4; id <= 8; ++id)
    old.alerts.episodes.push_back(episode(id, "latency", "acme", v1::Alert::STATE_RESOLVED, 100, 200 + id));
  old.alerts.deliveries.push_back(delivery("msg_old", 4, v1::Delivery::STATUS_DELIVERED, 150));
  old.alerts.attempts.push_back(attempt("msg_old", 200, 160));
  old.alerts.transitions.push_back(transition(4, v1::Alert::STATE_FIRING, v1::Alert::STATE_RESOLVED, 204));
  again.commit({old});
  CHECK(again.delete_alerts_before(1000, 3) == 3);  // 4, 5, 6: the oldest first
  CHECK_FALSE(again.get_alert(4));
  CHECK(again.get_alert(7));
  CHECK(again.delete_alerts_before(1000, 3) == 2);
  CHECK(again.delete_alerts_before(1000, 3) == 0);
  CHECK(again.get_alert(2));  // resolved at 5000: after the cutoff
  CHECK(again.get_alert(1));  // open
  CHECK(again.delete_alerts_before(10'000, 100) == 1);
  CHECK(ids({}) == std::vector<std::uint64_t>{3, 1});
  // Ids are never given twice, also after the newest were deleted.
  CHECK(again.load_alerts().max_alert_id == 8);
}

}  // namespace

TEST_CASE("alert store: rows survive a reopen, listings, get_alert, outbox, retention (sqlite)", "[store][alerts]") {
  test::TempDir dir;
  std::unique_ptr<SqliteStore> store;
  check_alert_rows([&](bool) -> Store& {
    store.reset();
    store = std::make_unique<SqliteStore>(SqliteOptions{dir.file("tg.db")});
    return *store;
  });
}

TEST_CASE("alert store: the same contract (memory)", "[store][alerts]") {
  MemoryStore store;
  check_alert_rows([&](bool) -> Store& { return store; });
}

TEST_CASE("alert store: two databases draw different ack keys", "[store][alerts]") {
  test::TempDir dir;
  SqliteStore a(SqliteOptions{dir.file("a.db")});
  SqliteStore b(SqliteOptions{dir.file("b.db")});
  CHECK(a.load_alerts().ack_key != b.load_alerts().ack_key);
}

}  // namespace tg::control
