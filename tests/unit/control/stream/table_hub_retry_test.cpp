// TableHub: a retryable NACK (the proxy could not confirm the table in time,
// it did not refuse it) brings the same version back after a back-off; and
// the full payload is assembled only when a proxy needs the whole table
// (tests/unit/control/stream/table_hub_fixture.hpp).
#include "table_hub_fixture.hpp"

namespace tg::control::hub_test {
namespace {

void retryable_nack(HubFixture& f, TableHub::SubscriberId id) {
  f.hub->write_done(id, true);
  v1::StreamTableRequest r;
  to_proto(version_of(f.sub(id).last()), r.mutable_nack()->mutable_version());
  r.mutable_nack()->set_reason("workers did not switch within 10 s");
  r.mutable_nack()->set_retryable(true);
  f.hub->receive(id, r);
}

}  // namespace

TEST_CASE("table hub: a retryable NACK brings the same version back after a doubling back-off", "[table_hub][retry]") {
  HubFixture f;
  f.options.retry_backoff = 1s;
  f.options.retry_backoff_max = 3s;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  REQUIRE(f.sub(a).sent.size() == 1);
  REQUIRE(f.sub(a).last().has_config());
  retryable_nack(f, a);
  CHECK(f.metrics.nacks == 1);
  CHECK(f.metrics.nacks_retryable == 1);
  CHECK(f.proxies().proxies(0).last_nack().reason() == "workers did not switch within 10 s");

  // Not before the back-off.
  f.hub->sweep();
  CHECK(f.sub(a).sent.size() == 1);
  f.clock.advance(999ms);
  f.hub->sweep();
  CHECK(f.sub(a).sent.size() == 1);
  f.clock.advance(1ms);
  f.hub->sweep();
  REQUIRE(f.sub(a).sent.size() == 2);
  CHECK(version_of(f.sub(a).last()) == TableVersion{7, 1});
  CHECK(f.sub(a).last().has_config());
  CHECK(f.metrics.resends == 1);
  // The same encoded update: nothing assembled again.
  CHECK(f.sub(a).updates[0] == f.sub(a).updates[1]);

  // Again: 2 s, then capped at 3 s.
  retryable_nack(f, a);
  f.clock.advance(1999ms);
  f.hub->sweep();
  CHECK(f.sub(a).sent.size() == 2);
  f.clock.advance(1ms);
  f.hub->sweep();
  REQUIRE(f.sub(a).sent.size() == 3);
  retryable_nack(f, a);
  f.clock.advance(2999ms);
  f.hub->sweep();
  CHECK(f.sub(a).sent.size() == 3);
  f.clock.advance(1ms);
  f.hub->sweep();
  REQUIRE(f.sub(a).sent.size() == 4);
  CHECK(f.metrics.resends == 3);

  // The ACK ends it; the next version is an ordinary delta.
  f.ack(a);
  CHECK(f.proxies().proxies(0).applied().counter() == 1);
  f.route("more", "web");
  f.timer.fire();
  REQUIRE(f.sub(a).sent.size() == 5);
  CHECK(f.sub(a).last().has_delta());
  CHECK(f.metrics.resends == 3);
}

TEST_CASE("table hub: a retryable NACK's back-off holds across a reconnect, a newer version goes at once",
          "[table_hub][retry]") {
  HubFixture f;
  f.options.retry_backoff = 5s;
  f.populate();
  f.start();
  const auto a = f.connect();
  f.hello(a, "proxy-a");
  retryable_nack(f, a);
  f.hub->disconnect(a, Status{});
  const auto b = f.connect();
  f.hello(b, "proxy-a", "boot-1");
  CHECK(f.sub(b).sent.empty());  // still backing off
  f.clock.advance(5s);
  f.hub->sweep();
  REQUIRE(f.sub(b).sent.size() == 1);
  CHECK(version_of(f.sub(b).last()) == TableVersion{7, 1});
  retryable_nack(f, b);
  // A newer version is not held by the back-off of an older one.
  f.route("more", "web");
  f.timer.fire();
  REQUIRE(f.sub(b).sent.size() == 2);
  CHECK(version_of(f.sub(b).last()) == TableVersion{7, 2});
  // A plain NACK stays final, even after any back-off.
  f.nack(b, "service web: bad policy");
  f.clock.advance(1h);
  f.hub->sweep();
  CHECK(f.sub(b).sent.size() == 2);
}

TEST_CASE("table hub: a config version assembles no full payload until a proxy needs the whole table",
          "[table_hub][lazy]") {
  HubFixture f;
  f.populate();
  f.start();
  CHECK(f.hub->state().full_builds() == 0);  // nothing at start either
  // A proxy up to date gets deltas: no full payload.
  const auto a = f.connect();
  f.hello(a, "proxy-a", "boot-1", f.hub->newest());
  CHECK(f.sub(a).sent.empty());
  for (int i = 0; i < 5; ++i) {
    f.route("r" + std::to_string(i), "web");
    f.timer.fire();
    REQUIRE(f.sub(a).last().has_delta());
    f.ack(a);
  }
  CHECK(f.hub->state().full_builds() == 0);
  CHECK(f.metrics.payload_bytes == f.hub->payload().size());

  // Two new proxies: one full payload, shared.
  const auto b = f.connect();
  f.hello(b, "proxy-b");
  const auto c = f.connect();
  f.hello(c, "proxy-c");
  REQUIRE(f.sub(b).last().has_config());
  CHECK(f.sub(b).updates.back() == f.sub(c).updates.back());
  CHECK(f.hub->state().full_builds() == 1);
  CHECK(f.sub(b).last().config() == f.hub->payload());

  // A version nobody needed in full assembles nothing.
  f.route("late", "web");
  f.timer.fire();
  REQUIRE(f.sub(a).last().has_delta());
  f.ack(a);
  CHECK(f.hub->state().full_builds() == 1);
  // While changes wait for the debounce, a new proxy waits for the version
  // that holds them (the entries are ahead of the newest version)...
  f.route("later", "web");
  const auto d = f.connect();
  f.hello(d, "proxy-d");
  CHECK(f.sub(d).sent.empty());
  CHECK(f.hub->state().full_builds() == 1);
  // ...which it gets in full when it is published.
  f.timer.fire();
  REQUIRE(f.sub(d).sent.size() == 1);
  CHECK(f.sub(d).last().has_config());
  CHECK(version_of(f.sub(d).last()) == f.hub->newest());
  CHECK(f.sub(d).last().digest() == f.hub->digest());
  CHECK(f.hub->state().full_builds() == 2);
  // A payload already assembled for the newest version is served while
  // changes wait.
  f.route("latest", "web");
  const auto e = f.connect();
  f.hello(e, "proxy-e");
  REQUIRE(f.sub(e).sent.size() == 1);
  CHECK(f.sub(e).updates.back() == f.sub(d).updates.back());
  CHECK(f.hub->state().full_builds() == 2);
}

}  // namespace tg::control::hub_test
