// A harness for the session layer (proxy/connection/): a real Worker in this
// process, a table built in code, and two scripted peers around it — a client
// that connects to the worker, and an upstream that the table's instances
// point at. The socket type of the data path is not replaced (it is a plain
// Asio socket, and idle descriptors go to an epoll watcher): faults are
// injected by the peers instead.
//
// A script is a list of operations. `fail_at(N)` makes a peer fail at its
// Nth operation (0-based) instead of doing it — closing its socket, or
// resetting it (SO_LINGER 0) — as Beast's test::fail_count does for a
// stream. A failing read first reads what it wanted and a failing `until`
// first waits, so the proxy's state at the failure is known; looping N over every operation of a script exercises every error
// exit the exchange has. Every wait is bounded by a deadline; a script that
// waits for the proxy to act (stall) waits for an event, never for a time.
#pragma once

#include "runtime/settings.hpp"
#include "runtime/worker.hpp"
#include "table/snapshot.hpp"

#include "config/model.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tg::proxy::session {

// Two plain keep-alive GETs the tests' routes answer.
inline const std::string kGet1 = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
inline const std::string kGet2 = "GET /b HTTP/1.1\r\nHost: t\r\n\r\n";
// An upgrade request and the upstream's 101 to it.
inline const std::string kUpgradeRequest = "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n";
inline const std::string kSwitching = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n";

using namespace std::chrono_literals;

// ---- scripts -----------------------------------------------------------------

struct Op {
  enum class Kind {
    send,           // write `bytes`
    read_until,     // read until `bytes` has been received (inclusive)
    read_count,     // read `count` more bytes
    read_head,      // upstream: read one request head (counted as a request seen)
    read_response,  // client: read one response (head, then its body by its framing)
    stall,          // send nothing, read and keep what comes, until the other side closes
    half_close,     // shutdown(SHUT_WR)
    reset,          // close with SO_LINGER 0: the other side sees a reset
    close,          // orderly close
    until,          // wait until `predicate` holds, or until the other side sends or closes
  };
  Kind kind;
  std::string bytes;
  std::size_t count = 0;
  std::function<bool()> predicate;
  std::string describe() const;
};

using Script = std::vector<Op>;

Op send(std::string bytes);
Op read_until(std::string delimiter);
Op read_count(std::size_t count);
Op read_head();
Op read_response();
Op stall();
Op half_close();
Op reset();
Op close();
// Orders one peer after the other: e.g. a client that sends its body only once
// the upstream has read the head. Ends early when the proxy sends to (or
// closes) this peer meanwhile.
Op until(std::function<bool()> predicate);

// How a peer fails at its Nth operation.
enum class Fault { close, reset };
inline constexpr Fault kFaults[] = {Fault::close, Fault::reset};
std::string_view to_string(Fault fault);

struct FailAt {
  std::size_t op = static_cast<std::size_t>(-1);  // none
  Fault fault = Fault::close;
};
inline FailAt fail_at(std::size_t op, Fault fault) { return {op, fault}; }
inline FailAt no_fault() { return {}; }

// What one run of a script saw.
struct Transcript {
  std::vector<int> statuses;     // client: the status of each response read (1xx included)
  std::string received;          // every byte received
  std::size_t ops_done = 0;      // operations completed
  int requests = 0;              // upstream: request heads read
  // How the script ended: "done" (all of it), "fault" (the injected failure),
  // "eof" / "reset" (the other side closed during a read), "connection_close"
  // (client: a response said "Connection: close", so the client stops),
  // "timeout" (a wait passed its deadline: the proxy did not act), "error".
  std::string end;
  // The statuses, then how it ended: "200 200 done", "502 connection_close", "eof".
  std::string summary() const;
};

// Runs `script` on a new connection to 127.0.0.1:port, on the calling thread.
Transcript run_client(std::uint16_t port, const Script& script, FailAt fail = {},
                      std::chrono::milliseconds io_timeout = 3s);

// ---- the upstream peer --------------------------------------------------------

// Listens on 127.0.0.1 (port chosen by the kernel) and drives each accepted
// connection, on a thread of its own, with a script: connection i gets
// scripts[min(i, size - 1)]. The fault applies to connection `fail_connection`
// only (the first by default), like a peer that fails once.
class UpstreamPeer {
 public:
  explicit UpstreamPeer(std::vector<Script> scripts, FailAt fail = {}, std::size_t fail_connection = 0);
  ~UpstreamPeer();
  UpstreamPeer(const UpstreamPeer&) = delete;
  UpstreamPeer& operator=(const UpstreamPeer&) = delete;

  std::uint16_t port() const { return port_; }
  int connections() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }
  // Operations completed, on all connections.
  int ops_done() const { return ops_done_.load(); }
  // Waits (bounded) until every connection's script has ended.
  bool wait_scripts_ended(std::chrono::milliseconds timeout) { return wait_running_at_most(0, timeout); }
  // Waits (bounded) until no connection waits to be accepted and at most `n`
  // connection scripts are still running (those of connections the proxy
  // keeps in its pool wait for more).
  bool wait_running_at_most(int n, std::chrono::milliseconds timeout);
  std::vector<Transcript> transcripts();

 private:
  void accept_loop();
  void serve(int fd, std::size_t index);

  std::vector<Script> scripts_;
  FailAt fail_;
  std::size_t fail_connection_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> ops_done_{0};
  std::atomic<int> running_{0};
  std::atomic<bool> accepting_{false};
  std::mutex mutex_;
  std::vector<Transcript> transcripts_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// ---- the worker ---------------------------------------------------------------

// One access-log line, the fields the tests look at.
struct LogLine {
  int status = 0;
  std::string error, phase;
  std::string summary() const;  // "502/upstream_reset/forward"; "-" for an empty field
};

// Short timeouts for a service, so timeout exits happen in tests.
struct Timeouts {
  std::chrono::milliseconds connect{1000}, response_headers{1000}, idle{1000};
};

// A service "web" over the given ports (one instance each, ids a, b, ...)
// and one route "/" to it.
config::Config one_service(const std::vector<std::uint16_t>& ports, Timeouts timeouts = {},
                           std::uint64_t buffer_body = 64 * 1024, std::uint64_t max_body = 1024 * 1024);

// A started Worker with an access log in a temporary file; stopped, joined and
// the file removed at the end.
class WorkerUnderTest {
 public:
  explicit WorkerUnderTest(const config::Config& config, ProxySettings settings = small_settings());
  ~WorkerUnderTest();
  WorkerUnderTest(const WorkerUnderTest&) = delete;
  WorkerUnderTest& operator=(const WorkerUnderTest&) = delete;

  static ProxySettings small_settings();

  std::uint16_t port() const { return port_; }
  Worker& worker() { return *worker_; }

  template <typename Fn>
  auto on_worker(Fn fn) {
    std::promise<decltype(fn())> done;
    auto result = done.get_future();
    worker_->post([&] { done.set_value(fn()); });
    return result.get();
  }
  WorkerStatsCopy collect();
  // The access-log lines written so far (flushed on the worker first).
  std::vector<LogLine> log();
  std::string log_summary();  // the lines' summaries joined by ' '

  // Waits (bounded) until `accepted` client connections were accepted, none
  // is open any more, and every open upstream connection is parked in its
  // pool; true when it happened.
  bool settled(std::uint64_t accepted = 1, std::chrono::milliseconds timeout = 5s);
  // Upstream connections parked in pools now.
  std::uint64_t parked();

 private:
  ProxySettings settings_;
  std::string log_path_;
  std::unique_ptr<AccessLogWriter> writer_;
  std::unique_ptr<Worker> worker_;
  std::uint16_t port_ = 0;
};

std::shared_ptr<const Snapshot> snapshot_of(const config::Config& config, std::uint64_t version);

// ---- canonical messages ---------------------------------------------------------

std::string response(int status, std::string_view body, std::string_view extra_headers = "");
std::string chunked_response(int status, const std::vector<std::string>& chunks);

}  // namespace tg::proxy::session
