// A request suspended by a phase (proxy/connection/downstream.cpp,
// pipeline/wait_list.hpp), on a real worker in this process: it holds no
// table, reads nothing, answers at its deadline, frees its place when the
// client closes, is bounded, and resumes on the current table.
//
// The phase that suspends is a test AdmissionGate (phase 4): it queues the
// request on its WaitList the first time and admits it once woken.
#include "connection/downstream.hpp"
#include "pipeline/wait_list.hpp"
#include "table/snapshot.hpp"
#include "runtime/worker.hpp"
#include "table/worker_table.hpp"

#include "../table/config_builders.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <memory>

using namespace tg::proxy;
using namespace std::chrono_literals;
using tg::config::LbPolicy;
using tg::itest::Backend;
using tg::itest::HttpClient;
using tg::itest::poll_for;

namespace {

class HoldGate final : public AdmissionGate {
 public:
  HoldGate(std::size_t max_waiting, std::uint64_t wait_ms) : list(max_waiting), wait_ms_(wait_ms) {}
  Step admit(PhaseInput& in) override {
    if (in.ex.resumed) return Step::proceed();
    if (!list.add(in.ex.waiter, in.worker.now_ms() + wait_ms_, Step::respond(504, ErrorKind::timeout)))
      return Step::respond(503, ErrorKind::overflow);
    return Step::suspend();
  }
  WaitList list;

 private:
  std::uint64_t wait_ms_;
};

tg::config::Config config_for(const Backend& backend, bool with_route = true) {
  tg::config::Config config;
  config.services.push_back(
      tg::proxy::test::make_service("web", LbPolicy::round_robin, {{"a", 1, "127.0.0.1", backend.port()}}));
  if (with_route) config.routes.push_back(tg::proxy::test::make_route("main", "web", "/"));
  return config;
}

std::shared_ptr<const Snapshot> snapshot_of(const tg::config::Config& config, std::uint64_t version) {
  std::string error;
  auto s = Snapshot::build(config, version, "", error);
  INFO(error);
  REQUIRE(s != nullptr);
  return s;
}

// One started worker with the gate, stopped and joined at the end.
class WorkerUnderTest {
 public:
  WorkerUnderTest(const tg::config::Config& config, HoldGate& gate)
      : worker_(0, settings_, nullptr, &Downstream::accept) {
    worker_.listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = worker_.local_endpoint().port();
    worker_.admission_gates().push_back(&gate);
    worker_.start(snapshot_of(config, 1));
  }
  ~WorkerUnderTest() {
    worker_.post([this] { worker_.stop(); });
    worker_.join();
  }

  // Runs `fn` on the worker thread and returns its result.
  template <typename Fn>
  auto on_worker(Fn fn) {
    std::promise<decltype(fn())> done;
    auto result = done.get_future();
    worker_.post([&] { done.set_value(fn()); });
    return result.get();
  }
  WorkerStats stats() {
    return on_worker([this] { return worker_.stats(); });
  }
  void install(std::shared_ptr<const Snapshot> snapshot) {
    on_worker([&] {
      worker_.install(std::move(snapshot));
      return 0;
    });
  }
  Worker& worker() { return worker_; }
  std::uint16_t port() const { return port_; }

 private:
  ProxySettings settings_;
  Worker worker_;
  std::uint16_t port_ = 0;
};

bool suspended_count(WorkerUnderTest& w, std::uint64_t n) {
  return poll_for(5s, [&] { return w.stats().suspended == n; });
}

}  // namespace

TEST_CASE("a suspended request reaches no upstream until woken, then is forwarded", "[proxy][connection][suspend]") {
  Backend backend("b");
  HoldGate gate(8, 60'000);
  WorkerUnderTest w(config_for(backend), gate);
  HttpClient client(w.port());
  client.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(suspended_count(w, 1));
  CHECK(backend.requests() == 0);
  CHECK(w.on_worker([&] { return gate.list.size(); }) == 1);

  CHECK(w.on_worker([&] { return gate.list.wake_one(); }));
  const auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(backend.requests() == 1);
  const WorkerStats stats = w.stats();
  CHECK(stats.suspended == 0);
  CHECK(stats.suspensions == 1);
  CHECK(stats.suspension_timeouts == 0);
}

TEST_CASE("a suspended request pins no table, and resumes on the current one", "[proxy][connection][suspend]") {
  Backend backend("b");
  HoldGate gate(8, 60'000);
  WorkerUnderTest w(config_for(backend), gate);
  std::weak_ptr<const Snapshot> first =
      w.on_worker([&] { return std::weak_ptr<const Snapshot>(w.worker().table()->snapshot); });
  HttpClient client(w.port());
  client.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(suspended_count(w, 1));

  SECTION("route still there") {
    w.install(snapshot_of(config_for(backend), 2));
    CHECK(first.expired());  // the waiting request held no reference to it
    w.on_worker([&] { return gate.list.wake_one(); });
    CHECK(client.read_response().status == 200);
  }
  SECTION("route removed meanwhile: 503 route_removed") {
    w.install(snapshot_of(config_for(backend, false), 2));
    CHECK(first.expired());
    w.on_worker([&] { return gate.list.wake_one(); });
    const auto response = client.read_response();
    CHECK(response.status == 503);
    CHECK(response.body.find("\"route_removed\"") != std::string::npos);
    CHECK(backend.requests() == 0);
  }
}

TEST_CASE("a suspended request is answered at its deadline", "[proxy][connection][suspend]") {
  Backend backend("b");
  HoldGate gate(8, 50);
  WorkerUnderTest w(config_for(backend), gate);
  HttpClient client(w.port());
  client.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto response = client.read_response();
  CHECK(response.status == 504);
  CHECK(response.body.find("\"timeout\"") != std::string::npos);
  CHECK(backend.requests() == 0);
  const WorkerStats stats = w.stats();
  CHECK(stats.suspension_timeouts == 1);
  CHECK(stats.suspended == 0);
  CHECK(w.on_worker([&] { return gate.list.size(); }) == 0);
}

TEST_CASE("a client closing while its request waits frees the place at once", "[proxy][connection][suspend]") {
  Backend backend("b");
  HoldGate gate(8, 60'000);
  WorkerUnderTest w(config_for(backend), gate);
  {
    HttpClient client(w.port());
    client.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(suspended_count(w, 1));
  }  // closed
  REQUIRE(poll_for(5s, [&] { return w.stats().suspension_client_closed == 1; }));
  CHECK(w.stats().suspended == 0);
  CHECK(w.on_worker([&] { return gate.list.size(); }) == 0);
  CHECK(w.stats().downstream_connections == 0);
  CHECK(backend.requests() == 0);
}

TEST_CASE("a body sent while the request waits does not wake it", "[proxy][connection][suspend]") {
  Backend backend("b");
  HoldGate gate(8, 60'000);
  WorkerUnderTest w(config_for(backend), gate);
  HttpClient client(w.port());
  client.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  REQUIRE(suspended_count(w, 1));
  client.send("hello");
  // Still waiting after the body bytes are in the proxy's socket: wake it
  // and the body arrives upstream whole.
  CHECK(w.stats().suspension_client_closed == 0);
  CHECK(w.stats().suspended == 1);
  w.on_worker([&] { return gate.list.wake_one(); });
  const auto response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body.find("\"body_length\":5") != std::string::npos);
}

TEST_CASE("beyond the list's bound a request is answered at once", "[proxy][connection][suspend]") {
  Backend backend("b");
  HoldGate gate(1, 60'000);
  WorkerUnderTest w(config_for(backend), gate);
  HttpClient first(w.port());
  first.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(suspended_count(w, 1));
  HttpClient second(w.port());
  const auto refused = second.get("/y");
  CHECK(refused.status == 503);
  CHECK(refused.body.find("\"overflow\"") != std::string::npos);
  w.on_worker([&] { return gate.list.wake_one(); });
  CHECK(first.read_response().status == 200);
}
