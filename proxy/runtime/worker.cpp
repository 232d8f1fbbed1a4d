#include "runtime/worker.hpp"

#include <cstring>
#include <sys/mman.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <new>
#include <random>

namespace tg::proxy {

std::uint64_t steady_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::uint64_t steady_now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

namespace {
// Context blocks kept warm per worker for the next busy connection; beyond
// this a released block's memory goes back to the system.
constexpr std::size_t kMaxPooledBlocks = 32;
// Pooled blocks that stayed unused for a whole trim period are freed, down
// to this many: a quiet worker keeps little memory for requests it is not
// getting, a busy one keeps its pool.
constexpr std::size_t kMinPooledBlocks = 2;
constexpr std::uint64_t kPoolTrimMs = 1000;

std::uint64_t seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

Worker::Worker(unsigned index, const ProxySettings& settings, AccessLogWriter* access_log, OnAccept on_accept)
    : index_(index),
      settings_(settings),
      // One thread runs this io_context and every socket of the worker is used
      // only from it: the per-descriptor reactor locks can go (a lock and an
      // unlock per I/O operation). Posting from other threads (table swaps,
      // stats, stop) stays safe: the scheduler keeps its lock.
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      ticker_(io_.get_executor()),
      now_ms_(steady_now_ms()),
      wheel_(now_ms_),
      idle_watcher_(io_),
      random_(seed()),
      on_accept_(on_accept) {
  if (access_log) access_log_.emplace(*access_log);
  // "<16 hex digits>-<worker index in hex>-": formatted once; each request
  // appends its counter (next_request_id).
  request_id_prefix_length_ = static_cast<std::size_t>(
      std::snprintf(request_id_prefix_, sizeof request_id_prefix_, "%016llx-%x-",
                    static_cast<unsigned long long>(random_.next()), index_));
}

Worker::~Worker() {
  for (void* block : free_blocks_) ::munmap(block, block_bytes_);
}

void Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_.emplace(io_.get_executor());
  acceptor_->open(endpoint.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  ::setsockopt(acceptor_->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // Accepted sockets inherit TCP_NODELAY from the listener (Linux): one
  // setsockopt here instead of one per connection.
  acceptor_->set_option(tcp::no_delay(true));
  acceptor_->bind(endpoint);
  acceptor_->listen(asio::socket_base::max_listen_connections);
  acceptor_->non_blocking(true);
}

tcp::endpoint Worker::local_endpoint() const { return acceptor_->local_endpoint(); }

void Worker::start(std::shared_ptr<const Snapshot> snapshot) {
  table_ = WorkerTable::build(std::move(snapshot), nullptr, settings_.workers);
  choose_admission_gates();
  accept();
  tick();
  idle_watcher_.start();
  thread_ = std::thread([this] {
    io_.run();
    // stop() left no work behind; run whatever completions remain so no
    // handler outlives the worker's members.
    io_.restart();
    io_.poll();
    if (access_log_) access_log_->flush();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

void Worker::install(std::shared_ptr<const Snapshot> snapshot) {
  // Requests in flight keep the previous WorkerTable (and with it the old
  // Snapshot) alive; state is carried over by instance id and route name.
  LocalPtr<WorkerTable> previous = table_;
  table_ = WorkerTable::build(std::move(snapshot), previous.get(), settings_.workers);
  choose_admission_gates();
  // Breakers of instances reported healthy again were closed when the
  // snapshot was built (table/snapshot.hpp), once for the proxy.
  if (!previous) return;
  // Requests waiting for a connection run phases 3-5 again on the new table:
  // their route, instance or limits may have changed, or gone.
  for (const auto& instance : previous->instances)
    if (!instance->pending.empty()) [[unlikely]] instance->pending.wake_all();
}

void Worker::add_admission_gate(AdmissionGate* gate, GateFilter serves) {
  registered_gates_.emplace_back(gate, serves);
  if (table_) choose_admission_gates();
}

void Worker::choose_admission_gates() {
  if (registered_gates_.empty()) return;  // gates set directly (tests) stay
  admission_gates_.clear();
  for (const auto& [gate, serves] : registered_gates_)
    if (!serves || serves(*table_->snapshot)) admission_gates_.push_back(gate);
}

void Worker::note_breaker_transition(const InstanceRuntime& instance, const resilience::Transition& t,
                                     std::uint64_t open_until_ms) {
  if (breaker_events_.size() >= kMaxBreakerEvents) {
    ++stats_.breaker_log_dropped;
    return;
  }
  const std::uint64_t open_for =
      t.to == resilience::BreakerState::open && open_until_ms > now_ms_ ? open_until_ms - now_ms_ : 0;
  breaker_events_.push_back({LocalPtr<InstanceRuntime>(const_cast<InstanceRuntime*>(&instance)), t, open_for});
}

void Worker::log_breaker_transitions() {
  for (const BreakerEvent& e : breaker_events_)
    resilience::log_transition(e.instance->service, e.instance->id, e.instance->address, e.transition, e.open_for_ms);
  if (settings_.telemetry_events) keep_telemetry_events();
  breaker_events_.clear();
}

// At the tick, off the request path: the transitions with what the
// collector reports about them, up to a bound (the rest counted).
void Worker::keep_telemetry_events() {
  const std::int64_t unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const BreakerEvent& e : breaker_events_) {
    if (telemetry_events_.size() >= kMaxTelemetryEvents) {
      ++stats_.telemetry_events_dropped;
      continue;
    }
    BreakerEventCopy copy;
    copy.unix_ms = unix_ms;
    copy.service = e.instance->service;
    copy.instance = e.instance->id;
    copy.address = e.instance->address;
    copy.transition = e.transition;
    copy.open_for_ms = e.open_for_ms;
    if (table_) {
      const Snapshot& snapshot = *table_->snapshot;
      if (const std::uint32_t* found = snapshot.service_ids.find(copy.service)) {
        const ServiceDef& service = snapshot.services[*found];
        copy.tenant = service.tenant;
        copy.failures = service.breaker.consecutive_failures;
      }
    }
    telemetry_events_.push_back(std::move(copy));
  }
}

void Worker::accept() {
  if (!acceptor_ || !acceptor_->is_open()) return;
  // The peer address comes with the accept (no getpeername per connection).
  acceptor_->async_accept(accept_peer_, [this](const boost::system::error_code& ec, Socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      ++stats_.accept_errors;
      // Out of descriptors or memory: back off briefly instead of spinning.
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory) {
        auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
        timer->async_wait([this, timer](const boost::system::error_code&) { accept(); });
        return;
      }
      accept();
      return;
    }
    ++stats_.connections_accepted;
    on_accept_(*this, std::move(socket), accept_peer_);
    accept();
  });
}

void Worker::tick() {
  now_ms_ = steady_now_ms();
  wheel_.advance(now_ms_);
  if (access_log_) access_log_->flush_if_due(now_ms_);
  if (!breaker_events_.empty()) log_breaker_transitions();
  if (now_ms_ - pool_trimmed_ms_ >= kPoolTrimMs) trim_block_pool();
  if (stopped_) return;
  ticker_.expires_after(std::chrono::milliseconds(TimerWheel::kTickMs));
  ticker_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void* Worker::acquire_block(std::size_t bytes) {
  block_bytes_ = bytes;
  if (free_blocks_.empty()) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  void* block = free_blocks_.back();
  free_blocks_.pop_back();
  pool_low_water_ = std::min(pool_low_water_, free_blocks_.size());
  return block;
}

void Worker::trim_block_pool() {
  // The pool never went below pool_low_water_ this period: that many
  // blocks were not needed at all.
  const std::size_t unused = pool_low_water_ > kMinPooledBlocks ? pool_low_water_ - kMinPooledBlocks : 0;
  // The least recently used are at the front.
  const std::size_t drop = std::min(unused, free_blocks_.size());
  for (std::size_t i = 0; i < drop; ++i) ::munmap(free_blocks_[i], block_bytes_);
  free_blocks_.erase(free_blocks_.begin(), free_blocks_.begin() + static_cast<std::ptrdiff_t>(drop));
  pool_low_water_ = free_blocks_.size();
  pool_trimmed_ms_ = now_ms_;
}

void Worker::release_block(void* block) {
  if (free_blocks_.size() < kMaxPooledBlocks) {
    free_blocks_.push_back(block);
  } else {
    ::munmap(block, block_bytes_);
  }
}

std::size_t Worker::next_request_id(char* out) {
  // 16 hex digits random per worker start, worker index, counter: unique
  // across workers and restarts without coordination.
  std::memcpy(out, request_id_prefix_, request_id_prefix_length_);
  std::uint64_t counter = ++request_counter_;
  char digits[16];
  std::size_t count = 0;
  do {
    digits[count++] = "0123456789abcdef"[counter & 0xf];
    counter >>= 4;
  } while (counter != 0);
  char* p = out + request_id_prefix_length_;
  while (count > 0) *p++ = digits[--count];
  return static_cast<std::size_t>(p - out);
}

void Worker::connection_opened(Connection& connection) {
  connections_.push_back(connection);
  ++stats_.downstream_connections;
}

void Worker::connection_closed() {
  --stats_.downstream_connections;
  if (draining_ && stats_.downstream_connections == 0 && on_drained_) {
    auto done = std::move(on_drained_);
    on_drained_ = nullptr;
    done();
  }
}

void Worker::begin_drain(std::function<void()> on_drained) {
  draining_ = true;
  on_drained_ = std::move(on_drained);
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
  // drain() may close and unlink connections: walk a copy of the pointers.
  std::vector<LocalPtr<Connection>> open;
  for (Connection& c : connections_) open.emplace_back(&c);
  for (auto& s : open) s->drain();
  if (stats_.downstream_connections == 0 && on_drained_) {
    auto done = std::move(on_drained_);
    on_drained_ = nullptr;
    done();
  }
}

void Worker::stop() {
  // Close everything here, on the worker thread, so that every pending handler
  // runs (aborted) while the worker's members are still alive; run() then
  // returns for lack of work. Destroying io_ with handlers still queued would
  // run connection destructors after the pools they return to are gone.
  stopped_ = true;
  boost::system::error_code ignored;
  ticker_.cancel();
  if (acceptor_) acceptor_->close(ignored);
  idle_watcher_.close();
  std::vector<LocalPtr<Connection>> open;
  for (Connection& c : connections_) open.emplace_back(&c);
  for (auto& c : open) c->abort();
  open.clear();
  table_.reset();  // closes pooled upstream connections
  if (access_log_) access_log_->flush();
}

WorkerStatsCopy Worker::collect() const {
  WorkerStatsCopy copy;
  copy.stats = stats_;
  if (!table_) return copy;
  copy.table_version = table_->snapshot->version;
  const Snapshot& snapshot = *table_->snapshot;
  for (std::size_t i = 0; i < table_->routes.size(); ++i) {
    const RouteRuntime& r = *table_->routes[i];
    copy.routes.push_back({r.name, r.service, snapshot.services[snapshot.routes[i].service].tenant, r.requests,
                           r.latency, r.fates, r.auth_failures});
    WorkerStatsCopy::Route& out = copy.routes.back();
    out.errors = r.errors;
    out.retries = r.retries;
    out.held = r.held;
    out.bytes_in = r.bytes_in;
    out.bytes_out = r.bytes_out;
    out.serial = r.serial;
  }
  for (std::size_t i = 0; i < table_->instances.size(); ++i) {
    const InstanceRuntime& inst = *table_->instances[i];
    WorkerStatsCopy::Instance out{inst.id, inst.service, inst.responses, inst.errors, inst.in_flight,
                                  inst.open_connections, inst.idle.size()};
    out.outlier = snapshot.services[snapshot.instances[i].service].outlier && inst.breaker;
    if (out.outlier) {
      out.breaker_state = inst.breaker->state();
      for (std::size_t r = 0; r < resilience::kBreakerReasons; ++r)
        out.transitions[r] = inst.breaker->transitions(static_cast<resilience::BreakerReason>(r));
    }
    out.pending = inst.pending.size();
    out.pending_waits = inst.pending_waits;
    out.pending_refused = inst.pending.refused();
    out.pending_timeouts = inst.pending.expired();
    out.tenant = snapshot.services[snapshot.instances[i].service].tenant;
    out.bytes_in = inst.bytes_in;
    out.bytes_out = inst.bytes_out;
    out.latency = inst.latency;
    out.serial = inst.serial;
    copy.instances.push_back(std::move(out));
  }
  return copy;
}

}  // namespace tg::proxy
