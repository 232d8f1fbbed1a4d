#include "server/discovery_service.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <mutex>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using Request = v1::StreamTableRequest;
using Response = v1::StreamTableResponse;

grpc::Status to_grpc(const Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code), status.message);
}

// A stream refused before it started (authentication).
class RefusedStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class TableStream final : public grpc::ServerBidiReactor<Request, Response>, public TableSubscriber {
 public:
  TableStream(Core& core, TableHub& hub, TableHub::SubscriberId id, std::string peer, std::string actor)
      : core_(core), hub_(hub), id_(id) {
    asio::post(core_.io(), [&hub, id, peer = std::move(peer), actor = std::move(actor), this] {
      hub.connect(id, *this, peer, actor);
    });
    StartRead(&request_);
  }

  // ---- gRPC threads: post only.
  void OnReadDone(bool ok) override {
    if (!ok) {  // the proxy closed its side, or the call ended
      post([](TableHub& hub, TableHub::SubscriberId id) { hub.disconnect(id, Status{}); });
      return;
    }
    post([request = std::move(request_)](TableHub& hub, TableHub::SubscriberId id) { hub.receive(id, request); });
    std::lock_guard lock(mutex_);
    request_.Clear();
    if (!finished_) StartRead(&request_);
  }
  void OnWriteDone(bool ok) override {
    // writing_ stays until the next send() replaces it (the hub sends again
    // only after this completion reached it).
    post([ok](TableHub& hub, TableHub::SubscriberId id) { hub.write_done(id, ok); });
  }
  void OnCancel() override {
    post([](TableHub& hub, TableHub::SubscriberId id) {
      hub.disconnect(id, Status{Code::cancelled, "the stream was cancelled"});
    });
  }
  void OnDone() override { delete this; }

  // ---- owner loop (TableSubscriber).
  void send(std::shared_ptr<const Response> response) override {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    writing_ = std::move(response);
    StartWrite(writing_.get());
  }
  void finish(const Status& status) override {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
    }
    // Outside the lock: OnDone (delete this) may follow Finish at any moment.
    Finish(to_grpc(status));
  }

 private:
  template <class F>
  void post(F f) {
    asio::post(core_.io(), [&hub = hub_, id = id_, f = std::move(f)]() mutable { f(hub, id); });
  }

  Core& core_;
  TableHub& hub_;
  const TableHub::SubscriberId id_;
  Request request_;  // the read in flight
  std::mutex mutex_;  // no StartRead or StartWrite once Finish is decided
  bool finished_ = false;
  std::shared_ptr<const Response> writing_;  // alive until OnWriteDone
};

}  // namespace

grpc::ServerBidiReactor<Request, Response>* DiscoveryService::StreamTable(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  std::optional<std::string_view> header;
  if (auto it = metadata.find("authorization"); it != metadata.end())
    header = std::string_view(it->second.data(), it->second.size());
  const std::optional<Principal> principal = tokens_.authenticate(header);
  if (!principal) {
    spdlog::debug("tg-control: StreamTable from {}: refused, no valid bearer token", context->peer());
    asio::post(core_.io(), [&core = core_] { ++core.metrics().table().refused_unauthenticated; });
    return new RefusedStream(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                          "missing or unknown bearer token (metadata authorization: Bearer <token>)"));
  }
  if (Status allowed = authorize(*principal, Access::stream, "Discovery.StreamTable"); !allowed.ok()) {
    spdlog::warn("tg-control: StreamTable from {} refused: {}", context->peer(), allowed.message);
    asio::post(core_.io(), [&core = core_] { ++core.metrics().table().refused_permission; });
    return new RefusedStream(to_grpc(allowed));
  }
  return new TableStream(core_, hub_, next_id_.fetch_add(1), context->peer(), principal->actor);
}

}  // namespace tg::control
