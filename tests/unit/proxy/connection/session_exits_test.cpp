// The session layer (proxy/connection/) on a real worker in this process
// (session_harness.hpp): one test per error exit of each phase
// (docs/life-of-a-request.md). The fault loops over whole exchanges are in
// session_fault_loops_test.cpp.
#include "session_harness.hpp"

#include "pipeline/phases.hpp"
#include "pipeline/wait_list.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>


using namespace tg::proxy;
using namespace tg::proxy::session;
using namespace std::chrono_literals;

namespace {

// Short deadlines for the one a test means to pass; the others stay long
// enough not to fire first on a loaded machine.
const Timeouts kShortConnect{50ms, 2000ms, 2000ms};
const Timeouts kShortResponse{2000ms, 50ms, 2000ms};
const Timeouts kShortIdle{2000ms, 2000ms, 50ms};

// A port on 127.0.0.1 that refuses connections (bound, never listening).
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t length = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A listener whose accept queue is full and never served: a further connect
// gets no answer (its SYN is dropped), so it waits for the connect deadline.
class BlackholePort {
 public:
  BlackholePort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 0) == 0);
    socklen_t length = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
    // Fill the queue: connections that complete but are never accepted.
    for (int i = 0; i < 2; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers_.push_back(c);
    }
  }
  ~BlackholePort() {
    for (int c : fillers_) ::close(c);
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

// One client exchange against `config`; the worker must settle afterwards.
struct Result {
  Transcript client;
  std::string log;
  WorkerStatsCopy stats;
  bool settled = false;
};

Result exchange(WorkerUnderTest& w, const Script& client) {
  Result r;
  r.client = run_client(w.port(), client);
  r.settled = w.settled();
  r.log = w.log_summary();
  r.stats = w.collect();
  return r;
}

const std::vector<Script> kOk{{read_head(), send(response(200, "ok")), stall()}};

}  // namespace

TEST_CASE("a malformed request head gets 400 in read_head and the connection closes", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send("GET /a HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n"), read_response(), stall()});
  CHECK(r.client.summary() == "400 connection_close");
  CHECK(r.log == "400/bad_request/read_head");
  CHECK(r.settled);
  CHECK(up.requests() == 0);
}

TEST_CASE("a request head above the limit gets 431 in read_head", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send("GET /a HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(70 * 1024, 'x') + "\r\n\r\n"),
                                read_response()});
  CHECK(r.client.summary() == "431 connection_close");
  CHECK(r.log == "431/headers_too_large/read_head");
  CHECK(r.settled);
  CHECK(up.requests() == 0);
}

TEST_CASE("a head that stops arriving is closed at the header deadline without a response", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  ProxySettings settings = WorkerUnderTest::small_settings();
  settings.header_timeout = 50ms;
  WorkerUnderTest w(one_service({up.port()}), settings);
  const Result r = exchange(w, {send("GET /a HTTP/1.1\r\nHost: t\r\n"), stall()});
  CHECK(r.client.summary() == "eof");
  CHECK(r.client.received.empty());
  CHECK(r.stats.stats.header_timeouts == 1);
  CHECK(r.log == "none");
  CHECK(r.settled);
}

TEST_CASE("a malformed percent-encoding in the path gets 400 in normalise", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send("GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n"), read_response(), close()});
  CHECK(r.client.statuses == std::vector<int>{400});
  CHECK(r.log == "400/bad_request/normalise");
  CHECK(r.settled);
  CHECK(up.requests() == 0);
}

TEST_CASE("a request no route matches gets 404 in match_route and the connection stays open", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  tg::config::Config config = one_service({up.port()});
  config.routes[0].match.path_prefix = "/api";
  WorkerUnderTest w(config);
  const Result r = exchange(w, {send(kGet1), read_response(), send("GET /api/x HTTP/1.1\r\nHost: t\r\n\r\n"),
                                read_response(), close()});
  CHECK(r.client.summary() == "404 200 done");
  CHECK(r.log == "404/no_route/match_route 200/-/-");
  CHECK(r.settled);
  CHECK(up.requests() == 1);
}

TEST_CASE("a declared Content-Length above max_body gets 413 before anything is forwarded", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}, {}, 64 * 1024, 100));
  const Result r = exchange(w, {send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n"), read_response()});
  CHECK(r.client.summary() == "413 connection_close");
  CHECK(r.log == "413/body_too_large/match_route");
  CHECK(r.settled);
  CHECK(up.requests() == 0);
}

TEST_CASE("bad chunked framing in a body kept whole gets 400 in receive_body", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(
      w, {send("POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), read_response()});
  CHECK(r.client.summary() == "400 connection_close");
  CHECK(r.log == "400/bad_request/receive_body");
  CHECK(r.settled);
  CHECK(up.requests() == 0);
}

TEST_CASE("chunked data above max_body in a body kept whole gets 413 in receive_body", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}, {}, 64 * 1024, 100));
  const Result r = exchange(w, {send("POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"),
                                send("80\r\n" + std::string(128, 'x') + "\r\n"), read_response()});
  CHECK(r.client.summary() == "413 connection_close");
  CHECK(r.log == "413/body_too_large/receive_body");
  CHECK(r.settled);
  CHECK(up.requests() == 0);
}

TEST_CASE("bad chunked framing in a streamed body gets 400 in forward, nothing sent upstream", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), stall()}});
  WorkerUnderTest w(one_service({up.port()}, {}, 0));
  // Head and bad chunk arrive together: refused while the try sends its
  // head, so the upstream connection opened for it gets nothing.
  const Result r = exchange(
      w, {send("POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), read_response()});
  CHECK(r.client.summary() == "400 connection_close");
  CHECK(r.log == "400/bad_request/forward");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
  CHECK(up.wait_scripts_ended(5s));
  CHECK(up.requests() == 0);
}

TEST_CASE("a body kept whole that stops arriving gets 408, nothing forwarded", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}, kShortIdle));
  const Result r = exchange(w, {send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello"), read_response()});
  CHECK(r.client.summary() == "408 connection_close");
  CHECK(r.log == "408/request_timeout/receive_body");
  CHECK(r.stats.stats.body_timeouts == 1);
  CHECK(r.settled);
  CHECK(up.connections() == 0);
}

TEST_CASE("a service without instances gets 503 no_instance in pick_instance", "[proxy][connection][exits]") {
  tg::config::Config config = one_service({});
  WorkerUnderTest w(config);
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "503 done");
  CHECK(r.log == "503/no_instance/pick_instance");
  CHECK(r.settled);
}

TEST_CASE("a refused connect gets 502 connect_failure in forward", "[proxy][connection][exits]") {
  RefusingPort refusing;
  WorkerUnderTest w(one_service({refusing.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "502 done");
  CHECK(r.log == "502/connect_failure/forward");
  CHECK(r.settled);
}

TEST_CASE("a connect that gets no answer is a connect_failure at its deadline", "[proxy][connection][exits]") {
  BlackholePort blackhole;
  WorkerUnderTest w(one_service({blackhole.port()}, kShortConnect));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "502 done");
  CHECK(r.log == "502/connect_failure/forward");
  CHECK(r.settled);
}

TEST_CASE("an upstream that sends no response head in time gets 504 timeout in forward", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), stall()}});
  WorkerUnderTest w(one_service({up.port()}, kShortResponse));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "504 done");
  CHECK(r.log == "504/timeout/forward");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
  CHECK(up.requests() == 1);
}

TEST_CASE("a malformed response head gets 502 bad_upstream_response", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send("HTTP/1.1 2x0 Nope\r\n\r\n"), stall()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "502 done");
  CHECK(r.log == "502/bad_upstream_response/forward");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
}

TEST_CASE("a 101 to a request that did not ask for an upgrade gets 502", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n"),
                    stall()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "502 done");
  CHECK(r.log == "502/bad_upstream_response/forward");
  CHECK(r.settled);
}

TEST_CASE("an upstream reset after the response head cuts the client connection, never a second head", "[proxy][connection][exits]") {
  for (Fault f : kFaults) {
    INFO(to_string(f));
    UpstreamPeer up({{read_head(), send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart"), reset()}});
    WorkerUnderTest w(one_service({up.port()}));
    const Result r = exchange(w, {send(kGet1), read_response(), stall()});
    CHECK(r.client.summary() == "200 eof");
    CHECK(r.client.received.find("HTTP/1.1", 1) == std::string::npos);
    CHECK(r.log == "200/upstream_reset/-");
    CHECK(r.settled);
    CHECK(w.parked() == 0);
  }
}

TEST_CASE("a client gone mid-response leaves the upstream connection closed, not pooled", "[proxy][connection][exits]") {
  const std::string body(4 * 1024 * 1024, 'b');
  UpstreamPeer up({{read_head(), send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body),
                    read_head(), send(response(200, "ok")), stall()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1), read_until("\r\n\r\n"), reset()});
  CHECK(r.log == "200/client_closed/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
  // The next request needs a new upstream connection.
  const Transcript next = run_client(w.port(), {send(kGet2), read_response(), close()});
  CHECK(next.summary() == "200 done");
  CHECK(w.settled(2));
  CHECK(up.connections() == 2);
}

TEST_CASE("a GET whose upstream resets is retried on the next instance", "[proxy][connection][exits]") {
  UpstreamPeer first({{read_head(), reset()}});
  UpstreamPeer second({{read_head(), send(response(200, "ok")), stall()}});
  WorkerUnderTest w(one_service({first.port(), second.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "200 done");
  CHECK(r.log == "200/-/-");
  CHECK(first.requests() == 1);
  CHECK(second.requests() == 1);
  CHECK(r.settled);
  CHECK(w.parked() == 1);
}

TEST_CASE("a streamed POST whose upstream resets is answered 502 and never sent twice", "[proxy][connection][exits]") {
  UpstreamPeer first({{read_head(), reset()}});
  UpstreamPeer second({{read_head(), send(response(200, "ok")), stall()}});
  WorkerUnderTest w(one_service({first.port(), second.port()}, {}, 0));
  const Result r =
      exchange(w, {send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"), read_response(), close()});
  CHECK(r.client.summary() == "502 done");
  CHECK(r.log == "502/upstream_reset/forward");
  CHECK(first.requests() == 1);
  CHECK(second.connections() == 0);
  CHECK(r.settled);
}

TEST_CASE("a 503 retried on status is answered by the next instance's response, body intact", "[proxy][connection][exits]") {
  UpstreamPeer first({{read_head(), send(response(503, "busy")), stall()}});
  UpstreamPeer second({{read_head(), send(response(200, "hello")), stall()}});
  tg::config::Config config = one_service({first.port(), second.port()});
  config.services[0].retry.on |= tg::config::retry_503;
  WorkerUnderTest w(config);
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "200 done");
  CHECK(r.client.received.ends_with("hello"));
  CHECK(r.log == "200/-/-");
  CHECK(first.requests() == 1);
  CHECK(second.requests() == 1);
  CHECK(r.settled);
  CHECK(w.parked() == 1);  // the second instance's connection; the 503 one is closed
}

namespace {

// Phase 4: a gate that answers, or that suspends the request on its list
// with a deadline (it is never woken here).
class Gate final : public AdmissionGate {
 public:
  Gate(std::uint16_t status, std::uint64_t wait_ms) : list(4), status_(status), wait_ms_(wait_ms) {}
  Step admit(PhaseInput& in) override {
    if (status_ != 0) return Step::respond(status_, ErrorKind::overflow);
    if (!list.add(in.ex.waiter, in.worker.now_ms() + wait_ms_, Step::respond(504, ErrorKind::timeout)))
      return Step::respond(503, ErrorKind::overflow);
    return Step::suspend();
  }
  WaitList list;

 private:
  std::uint16_t status_;
  std::uint64_t wait_ms_;
};

void add_gate(WorkerUnderTest& w, Gate& gate) {
  w.on_worker([&] {
    w.worker().admission_gates().push_back(&gate);
    return 0;
  });
}

}  // namespace

TEST_CASE("an admission gate's answer is the response, in admit, nothing forwarded", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}));
  Gate gate(429, 0);
  add_gate(w, gate);
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "429 done");
  CHECK(r.log == "429/overflow/admit");
  CHECK(r.settled);
  CHECK(up.connections() == 0);
}

TEST_CASE("a suspended request is answered at its deadline, in admit, nothing forwarded", "[proxy][connection][exits]") {
  UpstreamPeer up(kOk);
  WorkerUnderTest w(one_service({up.port()}));
  Gate gate(0, 30);
  add_gate(w, gate);
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "504 done");
  CHECK(r.log == "504/timeout/admit");
  CHECK(r.stats.stats.suspension_timeouts == 1);
  CHECK(r.stats.stats.suspended == 0);
  CHECK(r.settled);
  CHECK(w.on_worker([&] { return gate.list.size(); }) == 0);
  CHECK(up.connections() == 0);
}

TEST_CASE("a client gone while its request is suspended is recorded client_closed", "[proxy][connection][exits]") {
  for (Fault f : kFaults) {
    INFO(to_string(f));
    UpstreamPeer up(kOk);
    WorkerUnderTest w(one_service({up.port()}));
    Gate gate(0, 60'000);
    add_gate(w, gate);
    const Transcript c = run_client(
        w.port(), {send(kGet1), until([&] { return w.collect().stats.suspended == 1; }), stall()}, fail_at(2, f));
    CHECK(c.summary() == "fault");
    CHECK(w.settled());
    CHECK(w.log_summary() == "0/client_closed/-");
    CHECK(w.collect().stats.suspension_client_closed == 1);
    CHECK(w.on_worker([&] { return gate.list.size(); }) == 0);
  }
}

TEST_CASE("beyond the per-instance connection share a request gets 503 overflow in pick_instance", "[proxy][connection][exits]") {
  // The first request holds the only connection allowed (its upstream never
  // answers) while the second arrives; no pending queue, so no wait.
  UpstreamPeer up({{read_head(), stall()}});
  tg::config::Config config = one_service({up.port()}, {300ms, 1000ms, 1000ms});
  config.services[0].limits.max_connections_per_instance = 1;
  config.services[0].limits.max_pending_per_instance = 0;
  WorkerUnderTest w(config);
  std::promise<Transcript> first_done;
  std::thread first([&] { first_done.set_value(run_client(w.port(), {send(kGet1), read_response(), close()})); });
  const Transcript second =
      run_client(w.port(), {until([&] { return up.requests() == 1; }), send(kGet2), read_response(), close()});
  const Transcript held = first_done.get_future().get();
  first.join();
  CHECK(second.summary() == "503 done");
  CHECK(held.summary() == "504 done");
  CHECK(w.settled(2));
  CHECK(w.log_summary() == "503/overflow/pick_instance 504/timeout/forward");
}

TEST_CASE("an upstream that stalls mid-response is cut at the idle deadline", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart"), stall()}});
  WorkerUnderTest w(one_service({up.port()}, kShortIdle));
  const Result r = exchange(w, {send(kGet1), read_response(), stall()});
  CHECK(r.client.summary() == "200 eof");
  CHECK(r.log == "200/timeout/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
}

TEST_CASE("a client that stalls mid-body while it streams is closed at the idle deadline", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), stall()}});
  WorkerUnderTest w(one_service({up.port()}, kShortIdle, 0));
  const Result r = exchange(w, {send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello"), stall()});
  CHECK(r.client.summary() == "eof");
  CHECK(r.client.received.empty());
  CHECK(r.log == "0/timeout/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
}

TEST_CASE("a tunnel with no byte either way ends at the idle deadline", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send(kSwitching), stall()}});
  WorkerUnderTest w(one_service({up.port()}, kShortIdle));
  const Result r = exchange(w, {send(kUpgradeRequest), read_response(), stall()});
  CHECK(r.client.summary() == "101 eof");
  CHECK(r.log == "101/timeout/-");
  CHECK(r.stats.stats.tunnels_active == 0);
  CHECK(r.settled);
}

TEST_CASE("an early response while the body streams stops the body and closes both connections", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send(response(413, "no")), stall()}});
  WorkerUnderTest w(one_service({up.port()}, {}, 0));
  const Result r = exchange(w, {send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nhello"),
                                read_response()});
  CHECK(r.client.summary() == "413 connection_close");
  CHECK(r.log == "413/-/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
  CHECK(up.requests() == 1);
}

TEST_CASE("an upstream's Connection: close is honoured: its connection is not pooled, the client's stays open", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send(response(200, "bye", "Connection: close\r\n")), stall()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), send(kGet2), read_response(), close()});
  CHECK(r.client.summary() == "200 200 done");
  CHECK(r.log == "200/-/- 200/-/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
  CHECK(up.connections() == 2);
}

TEST_CASE("bytes past the end of a response leave the upstream connection unpooled", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send(response(200, "ok") + "HTTP/1.1 200 X\r\n"), stall()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), close()});
  CHECK(r.client.summary() == "200 done");
  CHECK(r.client.received.find("HTTP/1.1", 1) == std::string::npos);
  CHECK(r.log == "200/-/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
}

TEST_CASE("a response delimited by the upstream's close ends the client connection too", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send("HTTP/1.1 200 OK\r\n\r\nuntil the end"), close()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1), read_response(), stall()});
  // The body is read to its end, the close; the head said Connection: close.
  CHECK(r.client.summary() == "200 connection_close");
  CHECK(r.client.received.ends_with("until the end"));
  CHECK(r.log == "200/-/-");
  CHECK(r.settled);
  CHECK(w.parked() == 0);
}

TEST_CASE("pipelined requests are answered one at a time, in order, on one upstream connection", "[proxy][connection][exits]") {
  UpstreamPeer up({{read_head(), send(response(200, "first")), read_head(), send(response(200, "second")), stall()}});
  WorkerUnderTest w(one_service({up.port()}));
  const Result r = exchange(w, {send(kGet1 + kGet2), read_response(), read_response(), close()});
  CHECK(r.client.summary() == "200 200 done");
  CHECK(r.client.received.find("first") < r.client.received.find("second"));
  CHECK(r.log == "200/-/- 200/-/-");
  CHECK(r.settled);
  CHECK(up.connections() == 1);
  CHECK(w.parked() == 1);
}
