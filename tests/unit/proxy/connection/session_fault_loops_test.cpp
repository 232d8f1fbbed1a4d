// The session layer (proxy/connection/) under faults, on a real worker in
// this process (session_harness.hpp): for canonical exchanges, each peer
// fails (closes, or resets) at each operation of its script in turn, as
// Beast's fail_count loops do. For every N the test checks what the client
// got, the access log's status/error/phase, how many request heads the
// upstream read, which upstream connections the proxy kept, and that the
// worker ends with no client connection, no busy upstream connection and
// nothing suspended (a connection's request context block goes back with the
// connection). One test per error exit of each phase: session_exits_test.cpp.
#include "session_harness.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <map>

using namespace tg::proxy;
using namespace tg::proxy::session;
using namespace std::chrono_literals;

namespace {

struct Scripted {
  Script client;
  std::vector<Script> upstream;  // per accepted connection, the last one repeated
  std::uint64_t buffer_body = 64 * 1024;
  // The run's upstream peer, for a client script that waits for it.
  std::shared_ptr<UpstreamPeer*> peer = std::make_shared<UpstreamPeer*>(nullptr);
};

enum class Side { client, upstream };

// What one run of an exchange came to, in one line.
std::string run_once(const Scripted& x, Side side, FailAt fail, Timeouts timeouts = {}) {
  UpstreamPeer up(x.upstream, side == Side::upstream ? fail : no_fault());
  *x.peer = &up;
  WorkerUnderTest w(one_service({up.port()}, timeouts, x.buffer_body));
  const Transcript c = run_client(w.port(), x.client, side == Side::client ? fail : no_fault());
  const bool settled = w.settled();
  const std::uint64_t parked = w.parked();
  // The upstream scripts of connections not parked end once the proxy has
  // closed them; parked ones wait for a next request.
  const bool ended = up.wait_running_at_most(static_cast<int>(parked), 5s);
  std::string out = "client " + c.summary() + " | log " + w.log_summary() + " | upstream " +
                    std::to_string(up.requests()) + " req " + std::to_string(up.connections()) + " conn " +
                    std::to_string(parked) + " parked";
  if (!settled) out += " | NOT SETTLED";
  if (!ended) out += " | UPSTREAM SCRIPT STILL RUNNING";
  return out;
}

// Runs the exchange failing at every operation of `side`'s script with both
// faults, and checks each outcome against `expected[{op, fault}]`, which must
// have an entry for each. With TG_SESSION_PRINT set in the environment it
// prints the outcomes instead, in this form, to review when a script changes.
using Expected = std::map<std::pair<std::size_t, Fault>, std::string>;

void check_every_fault(const Scripted& x, Side side, const Expected& expected) {
  const std::size_t ops = side == Side::client ? x.client.size() : x.upstream.front().size();
  const bool print = std::getenv("TG_SESSION_PRINT") != nullptr;
  if (print) {
    std::cout << (side == Side::client ? "client" : "upstream") << " normal: " << run_once(x, side, no_fault())
              << "\n";
  }
  for (std::size_t n = 0; n < ops; ++n) {
    for (Fault f : kFaults) {
      const Script& script = side == Side::client ? x.client : x.upstream.front();
      const std::string actual = run_once(x, side, fail_at(n, f));
      if (print) std::cout << "        {{" << n << ", Fault::" << to_string(f) << "}, \"" << actual << "\"},\n";
      INFO((side == Side::client ? "client" : "upstream") << " fails (" << to_string(f) << ") at op " << n << ": "
                                                          << script[n].describe());
      const auto it = expected.find({n, f});
      if (print) continue;
      REQUIRE(it != expected.end());
      CHECK(actual == it->second);
    }
  }
}

Scripted get_keep_alive() {
  return {{send(kGet1), read_response(), send(kGet2), read_response(), close()},
          {{read_head(), send(response(200, "hello")), read_head(), send(response(200, "world")), stall()}}};
}

Scripted post_kept_whole() {
  return {{send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"), send("hello"), read_response(), close()},
          {{read_head(), read_count(5), send(response(201, "made")), stall()}}};
}

// The client sends its body once the upstream has read the head, so the body
// streams (it is not in the buffer with the head).
Scripted post_streamed_chunked() {
  Scripted x;
  x.client = {send("POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"),
              until([peer = x.peer] { return (*peer)->ops_done() >= 1; }), send("5\r\nhello\r\n"),
              send("0\r\n\r\n"), read_response(), close()};
  x.upstream = {{read_head(), read_until("0\r\n\r\n"), send(response(201, "made")), stall()}};
  x.buffer_body = 0;
  return x;
}

Scripted chunked_response_exchange() {
  return {{send(kGet1), read_response(), close()},
          {{read_head(), send("HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
            send("5\r\nworld\r\n0\r\n\r\n"), stall()}}};
}

Scripted upgrade_tunnel() {
  return {{send(kUpgradeRequest), read_response(), send("ping"), read_until("pong"), close()},
          {{read_head(), send(kSwitching), read_until("ping"), send("pong"), stall()}}};
}

Scripted expect_continue() {
  return {{send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"), read_response(),
           send("hello"), read_response(), close()},
          {{read_head(), read_count(5), send(response(200, "ok")), stall()}}};
}

}  // namespace

// ============================================================================
// Part 1: every operation of each peer fails in turn
// ============================================================================

TEST_CASE("fault loop: GET keep-alive with content-length responses", "[proxy][connection][faults]") {
  const Scripted x = get_keep_alive();
  CHECK(run_once(x, Side::client, no_fault()) ==
        "client 200 200 done | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked");
  check_every_fault(x, Side::client,
                    {
                     {{0, Fault::close}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{0, Fault::reset}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::close}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{1, Fault::reset}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{2, Fault::close}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{2, Fault::reset}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::close}, "client 200 200 fault | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 200 200 fault | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked"},
                     {{4, Fault::close}, "client 200 200 fault | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked"},
                     {{4, Fault::reset}, "client 200 200 fault | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked"},
                    });
  check_every_fault(x, Side::upstream,
                    {
                     {{0, Fault::close}, "client 502 200 done | log 502/upstream_reset/forward 200/-/- | upstream 2 req 2 conn 1 parked"},
                     {{0, Fault::reset}, "client 502 200 done | log 502/upstream_reset/forward 200/-/- | upstream 2 req 2 conn 1 parked"},
                     {{1, Fault::close}, "client 502 200 done | log 502/upstream_reset/forward 200/-/- | upstream 2 req 2 conn 1 parked"},
                     {{1, Fault::reset}, "client 502 200 done | log 502/upstream_reset/forward 200/-/- | upstream 2 req 2 conn 1 parked"},
                     {{2, Fault::close}, "client 200 200 done | log 200/-/- 200/-/- | upstream 3 req 2 conn 1 parked"},
                     {{2, Fault::reset}, "client 200 200 done | log 200/-/- 200/-/- | upstream 3 req 2 conn 1 parked"},
                     {{3, Fault::close}, "client 200 200 done | log 200/-/- 200/-/- | upstream 3 req 2 conn 1 parked"},
                     {{3, Fault::reset}, "client 200 200 done | log 200/-/- 200/-/- | upstream 3 req 2 conn 1 parked"},
                     {{4, Fault::close}, "client 200 200 done | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked"},
                     {{4, Fault::reset}, "client 200 200 done | log 200/-/- 200/-/- | upstream 2 req 1 conn 1 parked"},
                    });
}


TEST_CASE("fault loop: POST with a small body kept whole", "[proxy][connection][faults]") {
  const Scripted x = post_kept_whole();
  CHECK(run_once(x, Side::client, no_fault()) ==
        "client 201 done | log 201/-/- | upstream 1 req 1 conn 1 parked");
  check_every_fault(x, Side::client,
                    {
                     {{0, Fault::close}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{0, Fault::reset}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::close}, "client fault | log 0/client_closed/- | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::reset}, "client fault | log 0/client_closed/- | upstream 0 req 0 conn 0 parked"},
                     {{2, Fault::close}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{2, Fault::reset}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::close}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                    });
  check_every_fault(x, Side::upstream,
                    {
                     {{0, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{0, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client 201 done | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 201 done | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                    });
}

TEST_CASE("fault loop: POST streamed chunked", "[proxy][connection][faults]") {
  const Scripted x = post_streamed_chunked();
  CHECK(run_once(x, Side::client, no_fault()) ==
        "client 201 done | log 201/-/- | upstream 1 req 1 conn 1 parked");
  check_every_fault(x, Side::client,
                    {
                     {{0, Fault::close}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{0, Fault::reset}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::close}, "client fault | log 0/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client fault | log 0/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client fault | log 0/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client fault | log 0/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client fault | log 0/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::reset}, "client fault | log 0/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{4, Fault::close}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{4, Fault::reset}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{5, Fault::close}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{5, Fault::reset}, "client 201 fault | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                    });
  check_every_fault(x, Side::upstream,
                    {
                     {{0, Fault::close}, "client 502 connection_close | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{0, Fault::reset}, "client 502 connection_close | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client 201 done | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 201 done | log 201/-/- | upstream 1 req 1 conn 1 parked"},
                    });
}

TEST_CASE("fault loop: chunked response", "[proxy][connection][faults]") {
  const Scripted x = chunked_response_exchange();
  CHECK(run_once(x, Side::client, no_fault()) ==
        "client 200 done | log 200/-/- | upstream 1 req 1 conn 1 parked");
  check_every_fault(x, Side::client,
                    {
                     {{0, Fault::close}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{0, Fault::reset}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::close}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{1, Fault::reset}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{2, Fault::close}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{2, Fault::reset}, "client 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                    });
  check_every_fault(x, Side::upstream,
                    {
                     {{0, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{0, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::close}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client 200 eof | log 200/upstream_reset/- | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client 200 eof | log 200/upstream_reset/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client 200 done | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 200 done | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                    });
}

TEST_CASE("fault loop: Upgrade and a 101 tunnel", "[proxy][connection][faults]") {
  const Scripted x = upgrade_tunnel();
  CHECK(run_once(x, Side::client, no_fault()) ==
        "client 101 done | log 101/-/- | upstream 1 req 1 conn 0 parked");
  check_every_fault(x, Side::client,
                    {
                     {{0, Fault::close}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{0, Fault::reset}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::close}, "client 101 fault | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client 101 fault | log 101/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client 101 fault | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client 101 fault | log 101/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client 101 fault | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::reset}, "client 101 fault | log 101/client_closed/- | upstream 1 req 1 conn 0 parked"},
                     {{4, Fault::close}, "client 101 fault | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{4, Fault::reset}, "client 101 fault | log 101/client_closed/- | upstream 1 req 1 conn 0 parked"},
                    });
  check_every_fault(x, Side::upstream,
                    {
                     {{0, Fault::close}, "client 502 eof | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{0, Fault::reset}, "client 502 eof | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::close}, "client 502 eof | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client 502 eof | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client 101 eof | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client 101 eof | log 101/upstream_reset/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client 101 eof | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::reset}, "client 101 eof | log 101/upstream_reset/- | upstream 1 req 1 conn 0 parked"},
                     {{4, Fault::close}, "client 101 done | log 101/-/- | upstream 1 req 1 conn 0 parked"},
                     {{4, Fault::reset}, "client 101 done | log 101/upstream_reset/- | upstream 1 req 1 conn 0 parked"},
                    });
}

TEST_CASE("fault loop: Expect 100-continue", "[proxy][connection][faults]") {
  const Scripted x = expect_continue();
  CHECK(run_once(x, Side::client, no_fault()) ==
        "client 100 200 done | log 200/-/- | upstream 1 req 1 conn 1 parked");
  check_every_fault(x, Side::client,
                    {
                     {{0, Fault::close}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{0, Fault::reset}, "client fault | log none | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::close}, "client 100 fault | log 0/client_closed/- | upstream 0 req 0 conn 0 parked"},
                     {{1, Fault::reset}, "client 100 fault | log 0/client_closed/- | upstream 0 req 0 conn 0 parked"},
                     {{2, Fault::close}, "client 100 fault | log 0/client_closed/- | upstream 0 req 0 conn 0 parked"},
                     {{2, Fault::reset}, "client 100 fault | log 0/client_closed/- | upstream 0 req 0 conn 0 parked"},
                     {{3, Fault::close}, "client 100 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 100 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{4, Fault::close}, "client 100 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{4, Fault::reset}, "client 100 200 fault | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                    });
  check_every_fault(x, Side::upstream,
                    {
                     {{0, Fault::close}, "client 100 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{0, Fault::reset}, "client 100 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::close}, "client 100 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{1, Fault::reset}, "client 100 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::close}, "client 100 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{2, Fault::reset}, "client 100 502 done | log 502/upstream_reset/forward | upstream 1 req 1 conn 0 parked"},
                     {{3, Fault::close}, "client 100 200 done | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                     {{3, Fault::reset}, "client 100 200 done | log 200/-/- | upstream 1 req 1 conn 1 parked"},
                    });
}
