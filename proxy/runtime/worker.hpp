// One data-plane worker: an io_context run by one thread, with its own
// SO_REUSEPORT listener, timer wheel, buffer pool, table view, counters and
// access-log buffer (docs/architecture.md, Threads). Nothing here is shared with other
// workers but the breakers (atomic cells of the Snapshot); other threads talk
// to a worker only by posting to its io_context.
#pragma once

#include "balancing/balancer.hpp"
#include "core/socket.hpp"
#include "core/timer_wheel.hpp"
#include "limits/worker_limits.hpp"
#include "metrics/histogram.hpp"
#include "observability/access_log.hpp"
#include "runtime/connection.hpp"
#include "runtime/idle_watcher.hpp"
#include "runtime/settings.hpp"
#include "table/worker_table.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tg::proxy {

class AdmissionGate;

struct WorkerStats {
  std::uint64_t downstream_connections = 0;  // open now
  std::uint64_t upstream_connections = 0;    // open now
  std::uint64_t connections_accepted = 0;
  std::uint64_t accept_errors = 0;
  std::uint64_t header_timeouts = 0;
  std::uint64_t idle_connections = 0;  // keep-alive connections handed to the IdleWatcher
  std::uint64_t tunnels_active = 0;  // upgraded connections being relayed
  std::uint64_t tunnels_opened = 0;
  std::uint64_t interim_responses = 0;  // 1xx relayed to clients
  std::array<std::uint64_t, 5> unrouted_requests{};  // responses by class with no route (400/404/431)
  std::array<std::uint64_t, kErrorKindSlots> unrouted_errors{};  // their error kinds (telemetry)
  // Suspended requests (pipeline/wait_list.hpp).
  std::uint64_t suspended = 0;                  // waiting now
  std::uint64_t suspensions = 0;                // requests that started waiting
  std::uint64_t suspension_timeouts = 0;        // answered by their deadline
  std::uint64_t suspension_client_closed = 0;   // the client went away while waiting
  // Request bodies (limits.buffer_body).
  std::uint64_t bodies_kept_whole = 0;  // received whole before the first try
  std::uint64_t body_timeouts = 0;      // stopped arriving: answered 408, nothing forwarded
  std::uint64_t breaker_log_dropped = 0;  // breaker transitions not logged (queue full)
  std::uint64_t telemetry_events_dropped = 0;  // breaker transitions not kept for telemetry (full)
  // Authentication (phase 4, pipeline/auth_gate.hpp).
  std::uint64_t auth_checks = 0;             // credentials checked (API key hash, JWT parse and signature)
  std::uint64_t auth_cache_hits = 0;         // JWTs found verified in the worker's cache
  std::uint64_t auth_cached_tokens = 0;      // entries in that cache now
  std::uint64_t auth_failing_addresses = 0;  // client addresses in the failure limiter now
  std::uint64_t auth_key_requests = 0;       // unknown kids reported for a key refetch
};

// A breaker transition this worker made, kept for telemetry until the
// collector takes it (Worker::take_telemetry_events).
struct BreakerEventCopy {
  std::int64_t unix_ms = 0;
  std::string tenant, service, instance, address;
  resilience::Transition transition;
  std::uint64_t open_for_ms = 0;  // to open: how long it stays open
  std::uint32_t failures = 0;     // to open for consecutive failures: how many
};

// A copy of one worker's counters, taken on that worker and read elsewhere.
struct WorkerStatsCopy {
  struct Route {
    std::string name, service, tenant;
    std::array<std::uint64_t, 5> requests{};
    metrics::LatencyHistogram latency;
    std::array<std::uint64_t, resilience::kFates> fates{};
    std::array<std::uint64_t, auth::kAuthFailures> auth_failures{};
    // For telemetry (RouteRuntime's).
    std::array<std::uint64_t, kErrorKindSlots> errors{};
    std::uint64_t retries = 0, held = 0, bytes_in = 0, bytes_out = 0;
    std::uint64_t serial = 0;
  };
  struct Instance {
    std::string id, service;
    std::array<std::uint64_t, 5> responses{};
    std::array<std::uint64_t, kUpstreamErrorKinds> errors{};
    std::uint64_t in_flight = 0, open_connections = 0, idle_connections = 0;
    // Pending queue: waiting now, started waiting, refused (full), timed out.
    std::uint64_t pending = 0, pending_waits = 0, pending_refused = 0, pending_timeouts = 0;
    // The service has breakers; the instance's breaker (per proxy, the same
    // in every worker's copy): its state and transitions by reason.
    bool outlier = false;
    resilience::BreakerState breaker_state = resilience::BreakerState::closed;
    std::array<std::uint64_t, resilience::kBreakerReasons> transitions{};
    // For telemetry (InstanceRuntime's) and the tenant of its service.
    std::string tenant;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    metrics::LatencyHistogram latency;
    std::uint64_t serial = 0;
  };
  WorkerStats stats;
  std::uint64_t table_version = 0;
  std::vector<Route> routes;
  std::vector<Instance> instances;
  limits::LimitsCopy limits;  // phase 4's limits (pipeline/limit_gate.hpp), filled by the server
  std::vector<BreakerEventCopy> events;  // Worker::take_telemetry_events(), for telemetry only
};

class Worker {
 public:
  // Called for each accepted connection, on the worker thread; it starts
  // the connection (proxy/connection/downstream.hpp).
  using OnAccept = void (*)(Worker& worker, Socket socket, const tcp::endpoint& peer);

  Worker(unsigned index, const ProxySettings& settings, AccessLogWriter* access_log, OnAccept on_accept);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread, before start(): bind this worker's listener (SO_REUSEPORT).
  void listen(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const;
  void start(std::shared_ptr<const Snapshot> snapshot);
  void join();

  // Any thread: post work to this worker.
  void post(std::function<void()> fn);

  // ---- worker thread only ----
  void install(std::shared_ptr<const Snapshot> snapshot);
  // Stops accepting, closes idle connections; calls `on_drained` (on this
  // worker) once no connection is left.
  void begin_drain(std::function<void()> on_drained);
  bool draining() const { return draining_; }
  WorkerStatsCopy collect() const;
  // The breaker transitions kept since the last call (telemetry on only).
  std::vector<BreakerEventCopy> take_telemetry_events() { return std::exchange(telemetry_events_, {}); }
  void stop();

  asio::io_context& io() { return io_; }
  const ProxySettings& settings() const { return settings_; }
  const LocalPtr<WorkerTable>& table() const { return table_; }
  std::uint64_t now_ms() const { return now_ms_; }
  TimerWheel& wheel() { return wheel_; }
  IdleWatcher& idle_watcher() { return idle_watcher_; }
  WorkerStats& stats() { return stats_; }
  PoolHost& pool_host() { return pool_host_; }
  AccessLogBuffer* access_log() { return access_log_ ? &*access_log_ : nullptr; }
  balancing::Random& random() { return random_; }
  unsigned index() const { return index_; }

  // Memory blocks for request contexts (pipeline/exchange.hpp), all of
  // `bytes` (the same on every call): mapped from the kernel, a few kept warm.
  void* acquire_block(std::size_t bytes);
  void release_block(void* block);
  // Writes a new request id into `out` (at least 40 bytes); returns its length.
  std::size_t next_request_id(char* out);
  // Phase 4's steps, run in order (none by default). The worker does not own them.
  std::vector<AdmissionGate*>& admission_gates() { return admission_gates_; }
  // Registers a step of phase 4, run for the tables `serves` accepts (null:
  // every table): admission_gates() is chosen again at each install, so a
  // table no gate serves costs the request path nothing. Before start() or
  // on the worker thread.
  using GateFilter = bool (*)(const Snapshot& table);
  void add_admission_gate(AdmissionGate* gate, GateFilter serves);

  // Scratch space for phase 5's list of instances to skip (no allocation
  // once it has grown).
  std::vector<std::uint32_t>& pick_scratch() { return pick_scratch_; }
  // A breaker moved (this worker's change made it; counted in the cell):
  // logged at the next tick, not on the request path.
  void note_breaker_transition(const InstanceRuntime& instance, const resilience::Transition& t,
                               std::uint64_t open_until_ms);

  void connection_opened(Connection& connection);
  void connection_closed();

 private:
  void accept();
  void tick();
  void trim_block_pool();
  void log_breaker_transitions();
  void keep_telemetry_events();
  struct BreakerEvent {
    LocalPtr<InstanceRuntime> instance;
    resilience::Transition transition;
    std::uint64_t open_for_ms = 0;
  };
  static constexpr std::size_t kMaxBreakerEvents = 1024;

  const unsigned index_;
  const ProxySettings& settings_;
  asio::io_context io_;
  std::optional<Acceptor> acceptor_;
  tcp::endpoint accept_peer_;  // filled by each accept
  asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>
      ticker_;
  std::uint64_t now_ms_;
  TimerWheel wheel_;
  IdleWatcher idle_watcher_;
  LocalPtr<WorkerTable> table_;
  WorkerStats stats_;
  PoolHost pool_host_{io_.get_executor(), wheel_, now_ms_, stats_.upstream_connections};
  std::optional<AccessLogBuffer> access_log_;
  balancing::Random random_;
  OnAccept on_accept_;
  std::vector<void*> free_blocks_;  // most recently used last
  std::size_t block_bytes_ = 0;
  std::size_t pool_low_water_ = 0;   // fewest free blocks since the last trim
  std::uint64_t pool_trimmed_ms_ = 0;
  std::vector<AdmissionGate*> admission_gates_;
  void choose_admission_gates();
  std::vector<std::pair<AdmissionGate*, GateFilter>> registered_gates_;
  std::vector<std::uint32_t> pick_scratch_;
  std::vector<BreakerEvent> breaker_events_;
  static constexpr std::size_t kMaxTelemetryEvents = 1024;
  std::vector<BreakerEventCopy> telemetry_events_;
  boost::intrusive::list<Connection, boost::intrusive::base_hook<ConnectionHook>,
                         boost::intrusive::constant_time_size<false>>
      connections_;
  std::uint64_t request_counter_ = 0;
  char request_id_prefix_[32] = {};
  std::size_t request_id_prefix_length_ = 0;
  bool draining_ = false;
  bool stopped_ = false;
  std::function<void()> on_drained_;
  std::thread thread_;
};

std::uint64_t steady_now_ms();
std::uint64_t steady_now_ns();

}  // namespace tg::proxy
