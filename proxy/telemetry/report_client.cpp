#include "telemetry/report_client.hpp"

#include "grpc/status_name.hpp"
#include "subscription/control_channel.hpp"
#include "telemetry/batch_buffer.hpp"
#include "telemetry/batch_build.hpp"
#include "telemetry/delta_tracker.hpp"
#include "tenantgate/v1/telemetry.grpc.pb.h"

#include <grpcpp/client_context.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <random>

namespace tg::proxy::telemetry {

namespace v1 = tenantgate::v1;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string status_text(const grpc::Status& status) {
  std::string text(grpc_status_name(status.error_code()));
  if (!status.error_message().empty()) text += ": " + status.error_message();
  return text;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

struct ReportClient::State {
  explicit State(ReportOptions o)
      : options(std::move(o)),
        buffer(options.buffer_batches),
        tracker(options.workers),
        backoff(options.backoff, random_seed()) {}

  const ReportOptions options;
  TelemetryCollectFn collect;
  std::unique_ptr<v1::Telemetry::Stub> stub;

  // ---- under mutex ----
  mutable std::mutex mutex;
  std::condition_variable cv;
  BatchBuffer buffer;
  bool stopping = false;        // end everything now
  bool flushing = false;        // take the last interval, then stop collecting
  bool collector_done = false;  // the last interval's batch is in the buffer
  bool retry_now = false;       // skip the current back-off wait (flush)
  bool reader_done = false;     // the current stream's acks ended
  bool stream_answered = false; // the current stream carried an ack
  Clock::time_point unacked_since{};  // the oldest batch on the stream went out (about)
  grpc::ClientContext* context = nullptr;  // the live stream's, for TryCancel
  std::uint64_t connects = 0;

  // ---- the collector thread only ----
  DeltaTracker tracker;
  std::uint64_t next_seq = 1;
  std::int64_t interval_start_unix_ms = 0;

  // ---- the sender thread only ----
  subscription::Backoff backoff;
  bool logged_down = false;
  grpc::StatusCode logged_code = grpc::StatusCode::OK;

  // A stream with batches out and no ack for this long is given up and
  // opened again (tg-control commits in well under a second).
  milliseconds ack_timeout() const { return std::max(milliseconds(10'000), options.interval * 10); }

  bool finished() {
    std::lock_guard lock(mutex);
    return stopping || (collector_done && buffer.empty());
  }

  // ---- collector ----
  void run_collector() {
    interval_start_unix_ms = unix_ms_now();
    Clock::time_point next = Clock::now() + options.interval;
    for (;;) {
      bool last = false;
      {
        std::unique_lock lock(mutex);
        cv.wait_until(lock, next, [this] { return stopping || flushing; });
        if (stopping) return;
        last = flushing;
      }
      collect_once();
      if (last) {
        std::lock_guard lock(mutex);
        collector_done = true;
        cv.notify_all();
        return;
      }
      next += options.interval;
      // Late (a slow collection, a suspended process): the next interval
      // starts now rather than a burst of catching up.
      if (next < Clock::now()) next = Clock::now() + options.interval;
    }
  }

  void collect_once() {
    std::vector<std::optional<WorkerStatsCopy>> copies = collect(options.interval);
    const std::int64_t now_ms = unix_ms_now();
    auto batch = std::make_shared<v1::TelemetryBatch>();
    batch->set_node_id(options.node_id);
    batch->set_boot_id(options.boot_id);
    batch->set_seq(next_seq++);
    batch->set_interval_start_unix_ms(interval_start_unix_ms);
    batch->set_interval_ms(static_cast<std::uint32_t>(std::max<std::int64_t>(0, now_ms - interval_start_unix_ms)));
    interval_start_unix_ms = now_ms;
    for (const SeriesDeltaCounts& delta : tracker.update(copies)) to_proto(delta, *batch->add_series());
    for (const auto& copy : copies)
      if (copy)
        for (const BreakerEventCopy& event : copy->events) to_proto(event, *batch->add_events());
    std::lock_guard lock(mutex);
    batch->set_dropped_batches(buffer.dropped_total());
    const std::uint64_t dropped = buffer.dropped_full();
    buffer.push(std::move(batch));
    if (buffer.dropped_full() != dropped)
      spdlog::debug("telemetry buffer full: dropped the oldest batch ({} dropped so far)", buffer.dropped_full());
    cv.notify_all();
  }

  // ---- sender ----
  void run_sender() {
    while (!finished()) {
      run_stream();
      if (finished()) return;
      std::unique_lock lock(mutex);
      cv.wait_for(lock, backoff.next(), [this] { return stopping || retry_now; });
      retry_now = false;
    }
  }

  void run_stream() {
    grpc::ClientContext context;
    if (!options.token.empty()) context.AddMetadata("authorization", "Bearer " + options.token);
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
      this->context = &context;
      buffer.restart();  // everything unacked goes again, in seq order
      reader_done = false;
      stream_answered = false;
    }
    auto stream = stub->Report(&context);
    std::thread reader([this, &stream] { read_acks(*stream); });
    for (;;) {
      BatchPtr next;
      {
        std::unique_lock lock(mutex);
        const auto ready = [&] {
          if (stopping || reader_done) return true;
          next = buffer.next_to_send(options.window);
          return next != nullptr;
        };
        bool stuck = false;
        while (!ready()) {
          cv.wait_for(lock, milliseconds(500));
          if (buffer.in_flight() && Clock::now() - unacked_since > ack_timeout()) {
            stuck = true;
            break;
          }
        }
        if (stuck) {
          spdlog::warn("tg-control {}: no telemetry ack for {} ms; opening the stream again", options.target,
                       ack_timeout().count());
          break;
        }
        if (stopping || reader_done) break;
        if (buffer.in_flight() == 0) unacked_since = Clock::now();
        buffer.mark_sent();
      }
      // The send time is the write's, so a resent batch is not taken for
      // clock skew.
      v1::TelemetryBatch message = *next;
      message.set_sent_unix_ms(unix_ms_now());
      if (!stream->Write(message)) break;
    }
    {
      std::lock_guard lock(mutex);
      if (!reader_done) context.TryCancel();
    }
    reader.join();
    const grpc::Status status = stream->Finish();
    bool answered = false;
    {
      std::lock_guard lock(mutex);
      this->context = nullptr;
      answered = stream_answered;
      if (stopping) return;
    }
    on_stream_end(answered, status);
  }

  void read_acks(grpc::ClientReaderWriter<v1::TelemetryBatch, v1::TelemetryAck>& stream) {
    v1::TelemetryAck ack;
    while (stream.Read(&ack)) {
      std::lock_guard lock(mutex);
      if (!stream_answered) {
        stream_answered = true;
        ++connects;
        backoff.reset();  // the sender draws from it only after this stream ends
        spdlog::log(connects == 1 || logged_down ? spdlog::level::info : spdlog::level::debug,
                    "telemetry stream to tg-control {} is up ({} batch(es) held)", options.target, buffer.size());
        logged_down = false;
      }
      const bool known = buffer.ack(ack.seq(), ack.result());
      unacked_since = Clock::now();
      if (!known) {
        spdlog::debug("telemetry ack for seq {} ({}): no such batch held", ack.seq(),
                      v1::TelemetryResult_Name(ack.result()));
      } else if (ack.result() == v1::TELEMETRY_RESULT_REFUSED) {
        spdlog::warn("tg-control {} refused telemetry batch {}: {} (dropped)", options.target, ack.seq(),
                     ack.reason());
      }
      cv.notify_all();
    }
    std::lock_guard lock(mutex);
    reader_done = true;
    cv.notify_all();
  }

  // Logged once per change of state: a stream that fails again the same way
  // (tg-control down) goes to debug.
  void on_stream_end(bool answered, const grpc::Status& status) {
    const grpc::StatusCode code = status.error_code();
    const bool repeat = logged_down && code == logged_code && !answered;
    std::size_t held = 0;
    {
      std::lock_guard lock(mutex);
      held = buffer.size();
    }
    if (repeat) {
      spdlog::debug("telemetry stream to tg-control {}: {} again", options.target, status_text(status));
    } else if (code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED) {
      spdlog::error("tg-control {} refused this proxy's telemetry ({}): check --control-token-file against "
                    "tg-control's --token-file; {} batch(es) held, retrying",
                    options.target, status_text(status), held);
    } else {
      spdlog::warn("telemetry stream to tg-control {} ended: {}; {} batch(es) held, retrying", options.target,
                   status_text(status), held);
    }
    logged_down = true;
    logged_code = code;
  }
};

ReportClient::ReportClient(ReportOptions options) : state_(std::make_shared<State>(std::move(options))) {}

ReportClient::~ReportClient() {
  stop();
  join();
}

void ReportClient::start(TelemetryCollectFn collect) {
  State& s = *state_;
  s.collect = std::move(collect);
  s.stub = v1::Telemetry::NewStub(subscription::open_control_channel(s.options.target));
  collector_ = std::thread([state = state_] { state->run_collector(); });
  sender_ = std::thread([state = state_] { state->run_sender(); });
}

void ReportClient::flush() {
  State& s = *state_;
  if (!collector_.joinable()) return;
  const Clock::time_point deadline = Clock::now() + s.options.flush_timeout;
  {
    std::unique_lock lock(s.mutex);
    s.flushing = true;
    s.retry_now = true;
    s.cv.notify_all();
    s.cv.wait_until(lock, deadline, [&] { return s.stopping || (s.collector_done && s.buffer.empty()); });
    if (!s.buffer.empty())
      spdlog::warn("telemetry: {} batch(es) not acked by tg-control {} within --telemetry-flush-timeout ({} ms): "
                   "lost",
                   s.buffer.size(), s.options.target, s.options.flush_timeout.count());
  }
  stop();
  join();
}

void ReportClient::stop() {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  s.stopping = true;
  if (s.context) s.context->TryCancel();
  s.cv.notify_all();
}

void ReportClient::join() {
  if (collector_.joinable()) collector_.join();
  if (sender_.joinable()) sender_.join();
}

TelemetryStatus ReportClient::status() const {
  const State& s = *state_;
  std::lock_guard lock(s.mutex);
  TelemetryStatus out;
  out.stored = s.buffer.stored();
  out.duplicate = s.buffer.duplicate();
  out.refused = s.buffer.refused();
  out.dropped_buffer_full = s.buffer.dropped_full();
  out.buffered = s.buffer.size();
  out.connects = s.connects;
  return out;
}

}  // namespace tg::proxy::telemetry
