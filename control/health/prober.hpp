// Runs health probes on its own io_context and thread, never on the owner
// loop: TCP (connect) and HTTP (connect, "GET path HTTP/1.1" with Host, read
// the status line). Each probe has one deadline covering connect and
// response; sockets are closed with a reset (SO_LINGER 0) so thousands of
// probes a second leave no TIME_WAIT behind on the checker's side.
//
// Results are handed to the sink in batches on the prober thread: when
// `flush_at` results are waiting or `flush_every` after the first of a batch.
// The sink must not block (HealthChecker posts the batch to the owner loop).
#pragma once

#include "health/probe.hpp"
#include "io_thread.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace tg::control::health {

struct ProberOptions {
  std::chrono::milliseconds flush_every{20};
  std::size_t flush_at = 512;
  std::size_t max_response_head = 1024;  // bytes read looking for the status line
};

class Prober {
 public:
  using Sink = std::function<void(std::vector<ProbeResult>)>;

  explicit Prober(Sink sink, ProberOptions options = {});
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void start();
  // Abandons probes under way (no results for them) and joins the thread. Idempotent.
  void stop();
  // Any thread.
  void submit(std::vector<ProbeSpec> probes);

  std::uint64_t probes_started() const { return started_.load(std::memory_order_relaxed); }

 private:
  struct Probe;
  void run(std::shared_ptr<Probe> probe);
  void finish(Probe& probe, bool passed, std::string reason);
  void flush();

  Sink sink_;
  ProberOptions options_;
  std::atomic<std::uint64_t> started_{0};
  IoThread io_thread_{"health prober"};
  // Bound to the thread's context (destroyed before it) and used only by
  // its handlers, which ~Prober stops first.
  boost::asio::steady_timer flush_timer_{io_thread_.context()};
  bool flush_armed_ = false;
  std::vector<ProbeResult> pending_;
};

}  // namespace tg::control::health
