// StreamLimits on the TableHub (fake clock, sweep() called by hand or by the
// manual sweep timer): the hello and write deadlines, one shared update per
// version, proxy records retention and their cap.
#include "table_hub_fixture.hpp"

namespace tg::control::hub_test {
namespace {

// Connects node `node`, hello, then the write of its table completes but it
// never answers; then ends the stream from the proxy's side.
void come_and_go(HubFixture& f, const std::string& node) {
  const auto id = f.connect();
  f.hello(id, node);
  f.hub->disconnect(id, Status{});
}

TEST_CASE("stream limits: a stream without a hello is ended after hello_timeout", "[table_hub][limits]") {
  ManualTimer sweeper;  // outlives the fixture: the hub cancels it when destroyed
  HubFixture f;
  f.options.sweep_timer = &sweeper;
  f.start();
  REQUIRE(sweeper.armed());
  CHECK(sweeper.after() == std::chrono::microseconds(1'000'000));
  const auto silent = f.connect();
  const auto talking = f.connect();
  f.hello(talking, "edge-1");
  f.clock.advance(9'999ms);
  sweeper.fire();
  CHECK_FALSE(f.sub(silent).finished);
  REQUIRE(sweeper.armed());  // the sweep re-arms itself
  f.clock.advance(1ms);
  sweeper.fire();
  REQUIRE(f.sub(silent).finished);
  CHECK(f.sub(silent).finished->code == Code::deadline_exceeded);
  CHECK(f.sub(silent).finished->message == "no hello within 10000 ms of the stream's start");
  CHECK_FALSE(f.sub(silent).cancelled);
  CHECK(f.metrics.ended_hello_timeout == 1);
  CHECK_FALSE(f.sub(talking).finished);
  CHECK(f.hub->connected() == 1);
  f.hub->shutdown();
  CHECK_FALSE(sweeper.armed());
}

TEST_CASE("stream limits: a write the proxy never reads is dropped after write_timeout", "[table_hub][limits]") {
  HubFixture f;
  f.options.limits.write_timeout = 60s;
  f.start();
  const auto stuck = f.connect();
  const auto reader = f.connect();
  f.hello(stuck, "edge-stuck");
  f.hello(reader, "edge-reader");
  REQUIRE(f.sub(stuck).sent.size() == 1);  // the table: its write never completes
  f.ack(reader);
  // Newer versions meanwhile: the stuck stream is sent nothing more, the one
  // write in flight is all it holds.
  for (int i = 0; i < 3; ++i) {
    f.tenant("t" + std::to_string(i));
    f.timer.fire();
    f.ack(reader);
  }
  CHECK(f.sub(stuck).sent.size() == 1);
  CHECK(f.sub(reader).sent.size() == 4);
  f.clock.advance(59s);
  f.hub->sweep();
  CHECK_FALSE(f.sub(stuck).finished);
  f.clock.advance(1s);
  f.hub->sweep();
  REQUIRE(f.sub(stuck).finished);
  CHECK(f.sub(stuck).cancelled);
  CHECK(f.sub(stuck).finished->code == Code::deadline_exceeded);
  CHECK_THAT(f.sub(stuck).finished->message,
             Catch::StartsWith("the proxy read nothing of the last update (") &&
                 Catch::EndsWith(" bytes) for 60000 ms; the stream is cancelled"));
  CHECK(f.metrics.ended_write_timeout == 1);
  // The reader's writes completed; it waits for nothing the sweep ends.
  CHECK_FALSE(f.sub(reader).finished);
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).node_id() == "edge-reader");
  CHECK(listed.disconnected_not_listed() == 1);
}

TEST_CASE("stream limits: a write completed but never answered is not ended", "[table_hub][limits]") {
  HubFixture f;
  f.start();
  const auto a = f.connect();
  f.hello(a, "edge-1");
  f.hub->write_done(a, true);  // written; the ACK never comes
  f.clock.advance(1h);
  f.hub->sweep();
  CHECK_FALSE(f.sub(a).finished);
}

TEST_CASE("stream limits: every stream of one version is sent the same encoded update", "[table_hub][limits]") {
  HubFixture f;
  f.populate();
  f.start();
  std::vector<TableHub::SubscriberId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(f.connect());
    f.hello(ids.back(), "edge-" + std::to_string(i));
  }
  for (const auto id : ids) REQUIRE(f.sub(id).updates.size() == 1);
  const TableUpdate* shared = f.sub(ids[0]).updates[0].get();
  CHECK(f.sub(ids[1]).updates[0].get() == shared);
  CHECK(f.sub(ids[2]).updates[0].get() == shared);
  // The bytes are the message, encoded once.
  CHECK(shared->bytes() == shared->message().SerializeAsString());
  // A health version: the same merged update for every proxy on the same base.
  for (const auto id : ids) f.ack(id);
  f.set_state("i0", v1::ADMIN_STATE_DRAINING);
  f.timer.fire();
  for (const auto id : ids) REQUIRE(f.sub(id).updates.size() == 2);
  CHECK(f.sub(ids[0]).updates[1]->message().has_health());
  CHECK(f.sub(ids[1]).updates[1].get() == f.sub(ids[0]).updates[1].get());
  CHECK(f.sub(ids[2]).updates[1].get() == f.sub(ids[0]).updates[1].get());
}

TEST_CASE("stream limits: disconnected proxy records are dropped after the retention, the last N kept",
          "[table_hub][limits]") {
  HubFixture f;
  f.options.limits.proxy_retention = 1h;
  f.options.limits.retention_keep = 100;
  f.start();
  const auto live = f.connect();
  f.hello(live, "live");
  f.ack(live);  // up to date: nothing in flight for the write deadline
  for (int i = 0; i < 150; ++i) {
    come_and_go(f, "gone-" + std::to_string(1000 + i));
    f.clock.advance(1s);
  }
  CHECK(f.hub->proxy_records() == 151);
  CHECK(f.metrics.proxy_records == 151);
  f.clock.advance(1h - 150s);  // the first disconnect is exactly 1 h old
  f.hub->sweep();
  CHECK(f.hub->proxy_records() == 150);
  f.clock.advance(2h);
  f.hub->sweep();
  CHECK(f.hub->proxy_records() == 101);  // the connected one and the 100 most recent
  CHECK(f.metrics.proxy_records == 101);
  CHECK(f.metrics.proxy_records_dropped == 50);

  v1::ListProxiesResponse all;
  f.hub->list_proxies(&all, true);
  REQUIRE(all.proxies_size() == 101);
  CHECK(all.proxies(0).node_id() == "gone-1050");  // the oldest kept
  CHECK(all.proxies(99).node_id() == "gone-1149");
  CHECK(all.proxies(100).node_id() == "live");
  CHECK(all.disconnected_not_listed() == 0);
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK(listed.proxies(0).node_id() == "live");
  CHECK(listed.disconnected_not_listed() == 100);

  // A kept record that reconnects is connected again, and not dropped.
  const auto back = f.connect();
  f.hello(back, "gone-1050");
  f.ack(back);
  f.clock.advance(2h);
  f.hub->sweep();
  v1::ListProxiesResponse after;
  f.hub->list_proxies(&after, true);
  REQUIRE(after.proxies_size() == 101);  // 99 disconnected, "live" and "gone-1050"
  CHECK(after.proxies(0).node_id() == "gone-1050");
  CHECK(after.proxies(0).connected());
  CHECK(f.metrics.proxy_records_dropped == 50);
}

TEST_CASE("stream limits: a fenced proxy stays listed after it disconnects", "[table_hub][limits][registry]") {
  HubFixture f;
  f.start();
  const auto a = f.connect();
  f.hello(a, "edge-ahead", "boot-1", TableVersion{7, 9});  // a version this database never had
  f.hub->disconnect(a, Status{});
  const auto listed = f.proxies();
  REQUIRE(listed.proxies_size() == 1);
  CHECK_FALSE(listed.proxies(0).connected());
  CHECK_THAT(listed.proxies(0).fenced(), Catch::StartsWith("database older than the fleet"));
}

TEST_CASE("stream limits: churning node ids never keep more than max_disconnected records", "[table_hub][limits]") {
  HubFixture f;
  f.options.limits.max_disconnected = 5;
  f.options.limits.retention_keep = 3;
  f.start();
  for (int i = 0; i < 20; ++i) {
    come_and_go(f, "churn-" + std::to_string(100 + i));
    f.clock.advance(1ms);
    CHECK(f.hub->proxy_records() <= 6);  // the cap is applied when the next stream opens
  }
  f.hub->sweep();
  CHECK(f.hub->proxy_records() == 5);
  v1::ListProxiesResponse all;
  f.hub->list_proxies(&all, true);
  REQUIRE(all.proxies_size() == 5);
  CHECK(all.proxies(0).node_id() == "churn-115");  // the most recent five
  CHECK(f.metrics.proxy_records_dropped == 15);
}

TEST_CASE("stream limits: an unparsable message ends the stream as a bad request", "[table_hub][limits]") {
  HubFixture f;
  f.start();
  const auto a = f.connect();
  f.hub->reject(a, Status::invalid("StreamTableRequest", "cannot be parsed: bad bytes"));
  REQUIRE(f.sub(a).finished);
  CHECK(f.sub(a).finished->code == Code::invalid_argument);
  const auto b = f.connect();
  v1::StreamTableRequest ack;
  ack.mutable_ack();
  f.hub->receive(b, ack);  // not a hello
  REQUIRE(f.sub(b).finished);
  CHECK(f.metrics.ended_bad_request == 2);
}

}  // namespace
}  // namespace tg::control::hub_test
