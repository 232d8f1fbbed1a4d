// Phase 5's pending queue (pipeline/pick_instance.cpp, upstream/upstream.hpp):
// pick another instance, wait, or answer 503 overflow, without sockets. The
// connection counts of the worker's InstanceRuntimes stand in for busy
// upstream connections; plain Waiters stand in for other waiting requests.
#include "pipeline_harness.hpp"

#include "pipeline/wait_list.hpp"
#include "upstream/upstream.hpp"

#include <catch2/catch.hpp>

using tg::config::LbPolicy;
using namespace tg::proxy;
using namespace tg::proxy::test;

namespace {

constexpr const char* kGet = "GET /x HTTP/1.1\r\nHost: example.test\r\nX-User: u1\r\n\r\n";

tg::config::Config service_of(LbPolicy policy, std::size_t instances, std::uint32_t max_connections = 1) {
  tg::config::Config config;
  std::vector<InstanceSpec> specs;
  for (std::size_t i = 0; i < instances; ++i)
    specs.push_back({std::string(1, static_cast<char>('a' + i)), 1, "127.0.0.1", static_cast<std::uint16_t>(9000 + i)});
  auto service = make_service("web", policy, specs);
  if (policy == LbPolicy::ring_hash || policy == LbPolicy::maglev) {
    service.hash_key.kind = tg::config::HashKey::Kind::header;
    service.hash_key.name = "x-user";
  }
  service.limits.max_connections_per_instance = max_connections;
  service.limits.max_pending_per_instance = 4;
  service.limits.pending_timeout = std::chrono::milliseconds(700);
  config.services.push_back(std::move(service));
  config.routes.push_back(make_route("main", "web", "/"));
  return config;
}

// Phases 2-4 for kGet; then phase 5 is the test's.
PhaseInput matched(PipelineHarness& h) {
  h.head(kGet);
  PhaseInput in = h.input();
  REQUIRE(run_phases(in, PhaseId::normalise, PhaseId::admit).step.kind == Step::Kind::proceed);
  return in;
}

InstanceRuntime& instance(PipelineHarness& h, std::size_t index) { return *h.worker().table()->instances[index]; }

int wakes = 0;
void count_wake(void*) { ++wakes; }

// Busy connections on every instance go away at the end (the runtimes check nothing, but the
// next test's worker starts clean anyway; this keeps the harness's destructor ordinary).
struct Busy {
  PipelineHarness& h;
  ~Busy() {
    for (auto& inst : h.worker().table()->instances) inst->open_connections = 0;
  }
};

}  // namespace

TEST_CASE("at its connection share a first try waits in the instance's pending queue", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 1));
  Busy busy{h};
  PhaseInput in = matched(h);
  InstanceRuntime& a = instance(h, 0);
  a.open_connections = 1;
  const Step step = pick_instance(in);
  REQUIRE(step.kind == Step::Kind::suspend);
  const Exchange& ex = h.exchange();
  CHECK(a.pending.size() == 1);
  CHECK(a.pending_waits == 1);
  CHECK(ex.pending_on.get() == &a);
  CHECK(ex.attempts == 0);  // no try counted while it waits
  CHECK(ex.waiter.deadline_ms == h.worker().now_ms() + 700);
  CHECK(ex.waiter.on_timeout().status == 503);
  CHECK(ex.waiter.on_timeout().error == ErrorKind::overflow);
  CHECK(ex.waiter.timeout_fate == Fate::pending_timeout);
}

TEST_CASE("a full pending queue answers 503 overflow at once, fate pending_timeout", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 1));
  Busy busy{h};
  PhaseInput in = matched(h);
  InstanceRuntime& a = instance(h, 0);
  a.open_connections = 1;
  Waiter others[4];
  for (Waiter& w : others) REQUIRE(a.pending.add(w, 1'000'000, Step::respond(503, ErrorKind::overflow)));
  const Step step = pick_instance(in);
  CHECK(step.kind == Step::Kind::respond);
  CHECK(step.status == 503);
  CHECK(step.error == ErrorKind::overflow);
  CHECK(h.exchange().fate == Fate::pending_timeout);
  CHECK(a.pending.refused() == 1);
  CHECK_FALSE(h.exchange().waiter.waiting());
}

TEST_CASE("a new request queues behind waiting ones even when a connection is free", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 1));
  Busy busy{h};
  PhaseInput in = matched(h);
  InstanceRuntime& a = instance(h, 0);
  Waiter first;
  first.wake = &count_wake;
  wakes = 0;
  REQUIRE(a.pending.add(first, 1'000'000, Step::respond(503, ErrorKind::overflow)));
  // A connection is free (open 0 of 1): the waiter ahead is woken for it,
  // the new request waits behind.
  CHECK(pick_instance(in).kind == Step::Kind::suspend);
  CHECK(first.woken);
  CHECK(wakes == 1);
  CHECK(a.pending.size() == 2);
  CHECK(h.exchange().waiter.waiting());
}

TEST_CASE("a woken request takes the connection that woke it", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 1));
  Busy busy{h};
  PhaseInput in = matched(h);
  InstanceRuntime& a = instance(h, 0);
  Waiter behind;
  REQUIRE(a.pending.add(behind, 1'000'000, Step::respond(503, ErrorKind::overflow)));
  Exchange& ex = h.exchange();
  ex.resumed = true;
  ex.pending_on = &a;  // woken by a's queue
  CHECK(pick_instance(in).kind == Step::Kind::proceed);
  CHECK(ex.instance.get() == &a);
  CHECK(ex.attempts == 1);
  CHECK_FALSE(ex.pending_on);
  CHECK(behind.waiting());  // no room left for it: not woken
  ex.upstream.active = false;
  --a.in_flight;
}

TEST_CASE("round_robin takes another instance with a free connection rather than wait", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 3));
  Busy busy{h};
  instance(h, 0).open_connections = 1;
  instance(h, 2).open_connections = 1;
  for (int i = 0; i < 3; ++i) {
    h.exchange().reset();
    PhaseInput in = matched(h);
    REQUIRE(pick_instance(in).kind == Step::Kind::proceed);
    CHECK(h.exchange().instance.get() == &instance(h, 1));
    --instance(h, 1).in_flight;
    h.exchange().upstream.active = false;
  }
  // Every instance full: the request waits (on the instance the policy picked).
  instance(h, 1).open_connections = 1;
  h.exchange().reset();
  PhaseInput in = matched(h);
  CHECK(pick_instance(in).kind == Step::Kind::suspend);
  std::size_t waiting = 0;
  for (std::size_t i = 0; i < 3; ++i) waiting += instance(h, i).pending.size();
  CHECK(waiting == 1);
}

TEST_CASE("a hash policy waits for its own instance even when another has room", "[proxy][pipeline][pending]") {
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    PipelineHarness h(service_of(policy, 3));
    Busy busy{h};
    PhaseInput first = matched(h);
    REQUIRE(pick_instance(first).kind == Step::Kind::proceed);
    InstanceRuntime* const own = h.exchange().instance.get();
    --own->in_flight;
    h.exchange().upstream.active = false;
    own->open_connections = 1;
    h.exchange().reset();
    PhaseInput in = matched(h);
    CHECK(pick_instance(in).kind == Step::Kind::suspend);
    CHECK(own->pending.size() == 1);
  }
}

TEST_CASE("a retry at the connection share answers 503 overflow at once", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 2));
  Busy busy{h};
  PhaseInput in = matched(h);
  Exchange& ex = h.exchange();
  ex.tried[0] = 0;
  ex.attempts = 1;  // instance a was tried
  ex.error = ErrorKind::connect_failure;
  instance(h, 1).open_connections = 1;
  const Step step = pick_instance(in);
  CHECK(step.status == 503);
  CHECK(step.error == ErrorKind::overflow);
  CHECK(instance(h, 1).pending.size() == 0);
}

TEST_CASE("a connection parked or closed wakes as many waiters as there is room", "[proxy][upstream][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 1, 2));
  Busy busy{h};
  InstanceRuntime& a = instance(h, 0);
  a.open_connections = 2;
  Waiter w[3];
  wakes = 0;
  for (Waiter& waiter : w) {
    waiter.wake = &count_wake;
    REQUIRE(a.pending.add(waiter, 1'000'000, Step::respond(503, ErrorKind::overflow)));
  }
  a.wake_pending();
  CHECK(wakes == 0);  // no room
  a.open_connections = 1;
  a.wake_pending();
  CHECK(wakes == 1);
  a.wake_pending();
  CHECK(wakes == 1);  // the woken one has not taken its room yet
  a.open_connections = 0;
  a.wake_pending();
  CHECK(wakes == 2);
  CHECK(a.pending.woken() == 2);
}

TEST_CASE("a request woken by another instance's queue does not jump this one's", "[proxy][pipeline][pending]") {
  PipelineHarness h(service_of(LbPolicy::round_robin, 1));
  Busy busy{h};
  PhaseInput in = matched(h);
  InstanceRuntime& a = instance(h, 0);
  Waiter first;
  first.wake = &count_wake;
  wakes = 0;
  REQUIRE(a.pending.add(first, 1'000'000, Step::respond(503, ErrorKind::overflow)));
  Exchange& ex = h.exchange();
  ex.resumed = true;
  ex.pending_on = new InstanceRuntime("gone", "web", tcp::endpoint(asio::ip::make_address("127.0.0.1"), 9999));
  CHECK(pick_instance(in).kind == Step::Kind::suspend);
  CHECK(ex.pending_on.get() == &a);
  CHECK(first.woken);  // the room goes to the one ahead
  CHECK(a.pending.size() == 2);
}
