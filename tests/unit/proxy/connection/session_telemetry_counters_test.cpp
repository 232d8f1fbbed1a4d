// Phase 7's counters that telemetry reports (docs/life-of-a-request.md,
// phase 7), on a real worker in this process (session_harness.hpp): the
// route's retries, error kinds and body bytes; the instance's bytes and,
// with --telemetry-instance-histograms, its latency.
#include "session_harness.hpp"

#include "pipeline/step.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace tg::proxy;
using namespace tg::proxy::session;
using namespace std::chrono_literals;

namespace {

const WorkerStatsCopy::Instance* instance(const WorkerStatsCopy& copy, const std::string& id) {
  for (const auto& i : copy.instances)
    if (i.id == id) return &i;
  return nullptr;
}

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

}  // namespace

TEST_CASE("a retried GET counts one retry on its route, its try error on the instance", "[proxy][connection][telemetry]") {
  UpstreamPeer first({{read_head(), reset()}});
  UpstreamPeer second({{read_head(), send(response(200, "ok")), stall()}});
  WorkerUnderTest w(one_service({first.port(), second.port()}));
  const Transcript client = run_client(w.port(), {send(kGet1), read_response(), close()});
  CHECK(client.summary() == "200 done");
  REQUIRE(w.settled());
  const WorkerStatsCopy copy = w.collect();
  REQUIRE(copy.routes.size() == 1);
  const WorkerStatsCopy::Route& route = copy.routes[0];
  CHECK(route.retries == 1);
  CHECK(route.fates[static_cast<std::size_t>(Fate::retried_ok)] == 1);
  CHECK(route.errors[static_cast<std::size_t>(ErrorKind::none)] == 1);
  CHECK(route.held == 0);
  CHECK(route.bytes_in == 0);
  CHECK(route.bytes_out == 2);
  const WorkerStatsCopy::Instance* a = instance(copy, "a");
  const WorkerStatsCopy::Instance* b = instance(copy, "b");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->errors[static_cast<std::size_t>(UpstreamError::reset)] == 1);
  CHECK(a->bytes_out == 0);
  CHECK(b->responses[1] == 1);
  CHECK(b->bytes_out == 2);
  CHECK(b->latency.count == 0);  // no instance histograms by default
  CHECK(route.serial != 0);
  CHECK(a->serial != b->serial);
}

TEST_CASE("a POST's body bytes count on its route and instance, and its latency with instance histograms",
          "[proxy][connection][telemetry]") {
  UpstreamPeer up({{read_head(), send(response(200, "done")), stall()}});
  ProxySettings settings = WorkerUnderTest::small_settings();
  settings.telemetry_instance_histograms = true;
  WorkerUnderTest w(one_service({up.port()}), settings);
  const Transcript client =
      run_client(w.port(), {send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"), read_response(), close()});
  CHECK(client.summary() == "200 done");
  REQUIRE(w.settled());
  const WorkerStatsCopy copy = w.collect();
  REQUIRE(copy.routes.size() == 1);
  CHECK(copy.routes[0].bytes_in == 5);
  CHECK(copy.routes[0].bytes_out == 4);
  CHECK(copy.routes[0].retries == 0);
  const WorkerStatsCopy::Instance* a = instance(copy, "a");
  REQUIRE(a);
  CHECK(a->bytes_in == 5);
  CHECK(a->bytes_out == 4);
  CHECK(a->latency.count == 1);
}

TEST_CASE("a refused connect counts its error kind on the route", "[proxy][connection][telemetry]") {
  RefusingPort refusing;
  WorkerUnderTest w(one_service({refusing.port()}));
  const Transcript client = run_client(w.port(), {send(kGet1), read_response(), close()});
  CHECK(client.summary().rfind("502", 0) == 0);
  REQUIRE(w.settled());
  const WorkerStatsCopy copy = w.collect();
  REQUIRE(copy.routes.size() == 1);
  CHECK(copy.routes[0].errors[static_cast<std::size_t>(ErrorKind::connect_failure)] == 1);
  CHECK(copy.routes[0].requests[4] == 1);
}
