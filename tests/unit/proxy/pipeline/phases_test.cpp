// Phases 2-5 and the driver (proxy/pipeline/), without sockets: each phase's
// error exits, and the driver's order and stops.
#include "pipeline_harness.hpp"

#include "pipeline/wait_list.hpp"
#include "upstream/upstream.hpp"

#include <catch2/catch.hpp>

using tg::config::LbPolicy;
using namespace tg::proxy;
using namespace tg::proxy::test;

namespace {

tg::config::Config one_route(std::uint64_t max_body = 1024) {
  tg::config::Config config;
  auto service = make_service("web", LbPolicy::round_robin, {{"a", 1, "127.0.0.1", 9}});
  service.limits.max_body = max_body;
  config.services.push_back(std::move(service));
  auto route = make_route("main", "web", "/app");
  route.match.host = "example.test";
  config.routes.push_back(std::move(route));
  return config;
}

constexpr const char* kGet = "GET /app/x HTTP/1.1\r\nHost: example.test\r\n\r\n";

// Answers every request it sees with a fixed step and counts them.
class FixedGate final : public AdmissionGate {
 public:
  explicit FixedGate(Step step) : step_(step) {}
  Step admit(PhaseInput&) override {
    ++calls;
    return step_;
  }
  int calls = 0;

 private:
  Step step_;
};

}  // namespace

TEST_CASE("normalise refuses a malformed path with 400 and no keep-alive", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head("GET /app/%zz HTTP/1.1\r\nHost: example.test\r\n\r\n");
  PhaseInput in = h.input();
  const Step step = normalise(in);
  CHECK(step.kind == Step::Kind::respond);
  CHECK(step.status == 400);
  CHECK(step.error == ErrorKind::bad_request);
  CHECK_FALSE(h.exchange().keep_alive);
}

TEST_CASE("normalise gives the request an id, its body framing and keep-alive", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head("POST /app/./x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\n");
  PhaseInput in = h.input();
  REQUIRE(normalise(in).kind == Step::Kind::proceed);
  const Exchange& ex = h.exchange();
  CHECK(ex.request_id_length > 0);
  CHECK_FALSE(ex.request_id_from_client);
  CHECK(ex.path == "/app/x");
  CHECK(ex.body.kind == BodyKind::fixed);
  CHECK(ex.body.remaining == 5);
  CHECK_FALSE(ex.body.done);
  CHECK(ex.keep_alive);
}

TEST_CASE("normalise turns keep-alive off while draining", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head(kGet);
  PhaseInput in = h.input(true);
  REQUIRE(normalise(in).kind == Step::Kind::proceed);
  CHECK_FALSE(h.exchange().keep_alive);
}

TEST_CASE("match_route answers 404 for no route, 503 route_removed once resumed", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head("GET /other HTTP/1.1\r\nHost: example.test\r\n\r\n");
  PhaseInput in = h.input();
  REQUIRE(normalise(in).kind == Step::Kind::proceed);
  Step step = match_route(in);
  CHECK(step.kind == Step::Kind::respond);
  CHECK(step.status == 404);
  CHECK(step.error == ErrorKind::no_route);

  h.exchange().resumed = true;
  step = match_route(in);
  CHECK(step.status == 503);
  CHECK(step.error == ErrorKind::route_removed);
}

TEST_CASE("match_route refuses a declared body above the service's max_body with 413", "[proxy][pipeline]") {
  PipelineHarness h(one_route(4));
  h.head("POST /app HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\n");
  PhaseInput in = h.input();
  REQUIRE(normalise(in).kind == Step::Kind::proceed);
  const Step step = match_route(in);
  CHECK(step.status == 413);
  CHECK(step.error == ErrorKind::body_too_large);
}

TEST_CASE("match_route sets the route and service of a matching request", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head(kGet);
  PhaseInput in = h.input();
  REQUIRE(normalise(in).kind == Step::Kind::proceed);
  REQUIRE(match_route(in).kind == Step::Kind::proceed);
  CHECK(h.exchange().route == 0);
  CHECK(in.service().name == "web");
}

TEST_CASE("admit with no gate admits, gates run in order and the first refusal wins", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head(kGet);
  PhaseInput in = h.input();
  CHECK(admit(in).kind == Step::Kind::proceed);

  FixedGate pass(Step::proceed());
  FixedGate refuse(Step::respond(429, ErrorKind::overflow));
  FixedGate never(Step::proceed());
  h.worker().admission_gates() = {&pass, &refuse, &never};
  const Step step = admit(in);
  CHECK(step.status == 429);
  CHECK(pass.calls == 1);
  CHECK(refuse.calls == 1);
  CHECK(never.calls == 0);
}

TEST_CASE("pick_instance reserves an instance, and answers 503 no_instance when none is pickable", "[proxy][pipeline]") {
  tg::config::Config config = one_route();
  SECTION("an instance") {
    PipelineHarness h(config);
    h.head(kGet);
    PhaseInput in = h.input();
    REQUIRE(run_phases(in, PhaseId::normalise, PhaseId::match_route).step.kind == Step::Kind::proceed);
    REQUIRE(pick_instance(in).kind == Step::Kind::proceed);
    const Exchange& ex = h.exchange();
    CHECK(ex.attempts == 1);
    REQUIRE(ex.instance);
    CHECK(ex.instance->in_flight == 1);
    CHECK(ex.upstream.active);
    // The test releases what the try would have.
    --h.exchange().instance->in_flight;
  }
  SECTION("none") {
    config.services[0].instances[0].admin_state = tg::config::AdminState::disabled;
    PipelineHarness h(config);
    h.head(kGet);
    PhaseInput in = h.input();
    REQUIRE(run_phases(in, PhaseId::normalise, PhaseId::match_route).step.kind == Step::Kind::proceed);
    const Step step = pick_instance(in);
    CHECK(step.status == 503);
    CHECK(step.error == ErrorKind::no_instance);
  }
}

TEST_CASE("pick_instance answers 503 overflow at the per-worker connection limit with no pending queue",
          "[proxy][pipeline]") {
  tg::config::Config config = one_route();
  config.services[0].limits.max_connections_per_instance = 1;
  config.services[0].limits.max_pending_per_instance = 0;
  PipelineHarness h(config);
  h.head(kGet);
  PhaseInput in = h.input();
  REQUIRE(run_phases(in, PhaseId::normalise, PhaseId::match_route).step.kind == Step::Kind::proceed);
  h.worker().table()->instances[0]->open_connections = 1;
  const Step step = pick_instance(in);
  CHECK(step.status == 503);
  CHECK(step.error == ErrorKind::overflow);
  CHECK(h.exchange().fate == Fate::pending_timeout);
  CHECK(h.worker().table()->instances[0]->pending.refused() == 1);
  h.worker().table()->instances[0]->open_connections = 0;
}

TEST_CASE("after tries, pick_instance answers the last try's failure", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  h.head(kGet);
  PhaseInput in = h.input();
  REQUIRE(run_phases(in, PhaseId::normalise, PhaseId::match_route).step.kind == Step::Kind::proceed);
  Exchange& ex = h.exchange();
  ex.tried[0] = 0;
  ex.attempts = 1;  // the only instance was tried
  ex.error = ErrorKind::timeout;
  Step step = pick_instance(in);
  CHECK(step.status == 504);
  CHECK(step.error == ErrorKind::timeout);
  ex.error = ErrorKind::connect_failure;
  step = pick_instance(in);
  CHECK(step.status == 502);
}

TEST_CASE("the driver runs the phases in order and stops at the first that does not proceed", "[proxy][pipeline]") {
  PipelineHarness h(one_route());
  SECTION("stops at match_route") {
    h.head("GET /nowhere HTTP/1.1\r\nHost: example.test\r\n\r\n");
    PhaseInput in = h.input();
    const PhaseOutcome out = run_phases(in, PhaseId::normalise, PhaseId::pick_instance);
    CHECK(out.phase == PhaseId::match_route);
    CHECK(out.step.status == 404);
  }
  SECTION("stops at admit, before pick_instance") {
    h.head(kGet);
    FixedGate hold(Step::suspend());
    h.worker().admission_gates() = {&hold};
    PhaseInput in = h.input();
    const PhaseOutcome out = run_phases(in, PhaseId::normalise, PhaseId::pick_instance);
    CHECK(out.phase == PhaseId::admit);
    CHECK(out.step.kind == Step::Kind::suspend);
    CHECK(h.exchange().attempts == 0);
  }
  SECTION("all pass") {
    h.head(kGet);
    PhaseInput in = h.input();
    const PhaseOutcome out = run_phases(in, PhaseId::normalise, PhaseId::pick_instance);
    CHECK(out.step.kind == Step::Kind::proceed);
    CHECK(out.phase == PhaseId::pick_instance);
    CHECK(h.exchange().attempts == 1);
    --h.exchange().instance->in_flight;
  }
}

TEST_CASE("phase and error names are what the access log shows", "[proxy][pipeline]") {
  CHECK(to_string(PhaseId::match_route) == "match_route");
  CHECK(to_string(PhaseId::receive_body) == "receive_body");
  CHECK(to_string(PhaseId::none).empty());
  CHECK(to_string(ErrorKind::route_removed) == "route_removed");
  CHECK(to_string(ErrorKind::request_timeout) == "request_timeout");
}
