#include "server/telemetry_service.hpp"

#include "server/grpc_acceptor.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>

namespace tg::control {

namespace asio = boost::asio;
namespace v1 = tenantgate::v1;
using Reactor = grpc::ServerBidiReactor<v1::TelemetryBatch, v1::TelemetryAck>;

namespace {

// A stream refused before it started (authentication).
class RefusedReport final : public Reactor {
 public:
  explicit RefusedReport(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

class ReportStream;

// Owner loop only. Outlives its reactor: commit answers may arrive after
// the stream ended, and find `finished`.
struct TelemetryService::StreamState {
  ReportStream* reactor = nullptr;  // valid while !finished
  std::string peer;
  bool finished = false;
  bool read_closed = false;  // the proxy half-closed: finish once every ack is written
  bool reading = false;      // a StartRead outstanding
  bool writing = false;      // a StartWrite outstanding
  // One per batch read, in order; filled when its answer is known.
  std::deque<std::shared_ptr<std::optional<v1::TelemetryAck>>> slots;
  // Batches read and not yet handed to Ingest, in order, with their slots.
  // One commit at a time per stream: a later batch of the same (node, boot)
  // is committed only after the earlier one was, so a batch whose commit
  // failed (the stream then ends and the proxy resends it) can never be
  // covered by the mark of a later one and taken for a duplicate.
  std::deque<std::pair<std::shared_ptr<v1::TelemetryBatch>, std::shared_ptr<std::optional<v1::TelemetryAck>>>>
      waiting;
  bool committing = false;
  v1::TelemetryAck in_write;  // the ack being written
};

class ReportStream final : public Reactor {
 public:
  ReportStream(TelemetryService& service, Core& core, std::string peer);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override { delete this; }

  v1::TelemetryBatch reading;  // the read in flight (StartRead from the owner loop only)

 private:
  template <class F>
  void post(F f) {
    asio::post(core_.io(), [&service = service_, state = state_, f = std::move(f)]() mutable { f(service, state); });
  }
  TelemetryService& service_;
  Core& core_;
  std::shared_ptr<TelemetryService::StreamState> state_;
};

// The owner-loop side of a stream.
struct StreamOps {
  using State = TelemetryService::StreamState;

  static void end(TelemetryService& service, const std::shared_ptr<State>& state, const grpc::Status& status) {
    if (state->finished) return;
    state->finished = true;
    service.streams_.erase(state);
    if (!status.ok())
      spdlog::info("tg-control: telemetry stream from {} ended: {}", state->peer, status.error_message());
    state->reactor->Finish(status);
  }

  static void start(TelemetryService& service, const std::shared_ptr<State>& state) {
    if (service.shut_down_) {
      end(service, state, grpc::Status(grpc::StatusCode::UNAVAILABLE, "tg-control is shutting down"));
      return;
    }
    service.streams_.insert(state);
    read_more(service, state);
  }

  static void read_more(TelemetryService& service, const std::shared_ptr<State>& state) {
    if (state->finished || state->read_closed || state->reading || state->slots.size() >= service.max_in_flight_)
      return;
    state->reading = true;
    state->reactor->StartRead(&state->reactor->reading);
  }

  static void flush(TelemetryService& service, const std::shared_ptr<State>& state) {
    if (state->finished || state->writing) return;
    if (!state->slots.empty() && state->slots.front()->has_value()) {
      state->in_write = std::move(**state->slots.front());
      state->slots.pop_front();
      state->writing = true;
      state->reactor->StartWrite(&state->in_write);
      read_more(service, state);
      return;
    }
    if (state->slots.empty() && state->read_closed) end(service, state, grpc::Status::OK);
  }

  static void batch(TelemetryService& service, const std::shared_ptr<State>& state,
                    std::shared_ptr<v1::TelemetryBatch> batch) {
    state->reading = false;
    if (state->finished) return;
    auto slot = std::make_shared<std::optional<v1::TelemetryAck>>();
    state->slots.push_back(slot);
    state->waiting.emplace_back(std::move(batch), std::move(slot));
    next_commit(service, state);
    read_more(service, state);
  }

  static void next_commit(TelemetryService& service, const std::shared_ptr<State>& state) {
    if (state->finished || state->committing || state->waiting.empty()) return;
    const auto next = std::move(state->waiting.front());
    state->waiting.pop_front();
    state->committing = true;
    // Refused and duplicate batches are answered at once (inside receive).
    service.ingest_.receive(*next.first, [&service, state, slot = next.second](std::optional<v1::TelemetryAck> ack, const Status& failure) {
      state->committing = false;
      if (state->finished) return;
      if (!ack) {
        end(service, state,
            grpc::Status(static_cast<grpc::StatusCode>(failure.code), "telemetry not stored: " + failure.message));
        return;
      }
      *slot = std::move(*ack);
      flush(service, state);
      next_commit(service, state);
    });
  }
};

ReportStream::ReportStream(TelemetryService& service, Core& core, std::string peer)
    : service_(service), core_(core), state_(std::make_shared<TelemetryService::StreamState>()) {
  state_->reactor = this;
  state_->peer = std::move(peer);
  post([](TelemetryService& service, const std::shared_ptr<TelemetryService::StreamState>& state) {
    StreamOps::start(service, state);
  });
}

void ReportStream::OnReadDone(bool ok) {
  if (!ok) {  // the proxy closed its side, or the call ended
    post([](TelemetryService& service, const std::shared_ptr<TelemetryService::StreamState>& state) {
      state->reading = false;
      state->read_closed = true;
      StreamOps::flush(service, state);
    });
    return;
  }
  auto batch = std::make_shared<v1::TelemetryBatch>(std::move(reading));
  reading.Clear();
  post([batch](TelemetryService& service, const std::shared_ptr<TelemetryService::StreamState>& state) {
    StreamOps::batch(service, state, batch);
  });
}

void ReportStream::OnWriteDone(bool ok) {
  post([ok](TelemetryService& service, const std::shared_ptr<TelemetryService::StreamState>& state) {
    state->writing = false;
    if (!ok) {
      StreamOps::end(service, state, grpc::Status(grpc::StatusCode::CANCELLED, "the ack could not be written"));
      return;
    }
    StreamOps::flush(service, state);
  });
}

void ReportStream::OnCancel() {
  post([](TelemetryService& service, const std::shared_ptr<TelemetryService::StreamState>& state) {
    StreamOps::end(service, state, grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
  });
}

Reactor* TelemetryService::Report(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  std::optional<std::string_view> header;
  if (auto it = metadata.find("authorization"); it != metadata.end())
    header = std::string_view(it->second.data(), it->second.size());
  const std::optional<Principal> principal = tokens_.authenticate(header);
  if (!principal) {
    spdlog::debug("tg-control: Telemetry.Report from {}: refused, no valid bearer token", grpc_peer(*context));
    return new RefusedReport(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                          "missing or unknown bearer token (metadata authorization: Bearer <token>)"));
  }
  if (Status allowed = authorize(*principal, Access::stream, "Telemetry.Report"); !allowed.ok()) {
    spdlog::warn("tg-control: Telemetry.Report from {} refused: {}", grpc_peer(*context), allowed.message);
    return new RefusedReport(grpc::Status(static_cast<grpc::StatusCode>(allowed.code), allowed.message));
  }
  return new ReportStream(*this, core_, grpc_peer(*context));
}

void TelemetryService::shutdown() {
  shut_down_ = true;
  const auto open = streams_;
  for (const auto& state : open)
    StreamOps::end(*this, state, grpc::Status(grpc::StatusCode::UNAVAILABLE, "tg-control is shutting down"));
}

}  // namespace tg::control
