#include "server/discovery_service.hpp"
#include "server/grpc_acceptor.hpp"

#include <boost/asio/post.hpp>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using Request = v1::StreamTableRequest;
using Bytes = grpc::ByteBuffer;

grpc::Status to_grpc(const Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code), status.message);
}

// An update's bytes as one slice that references them (no copy): the slice
// holds the update alive until gRPC dropped its last reference, on whatever
// thread that happens.
Bytes shared_bytes(std::shared_ptr<const TableUpdate> update) {
  const std::string& bytes = update->bytes();
  auto* keep = new std::shared_ptr<const TableUpdate>(std::move(update));
  grpc::Slice slice(const_cast<char*>(bytes.data()), bytes.size(),
                    [](void* held) { delete static_cast<std::shared_ptr<const TableUpdate>*>(held); }, keep);
  return Bytes(&slice, 1);
}

// A stream refused before it started (authentication).
class RefusedStream final : public grpc::ServerBidiReactor<Bytes, Bytes> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class TableStream final : public grpc::ServerBidiReactor<Bytes, Bytes>, public TableSubscriber {
 public:
  TableStream(Core& core, TableHub& hub, const KeyRequestHandler& on_key_request,
              grpc::CallbackServerContext* context, TableHub::SubscriberId id, std::string peer, std::string actor)
      : core_(core), hub_(hub), on_key_request_(on_key_request), context_(context), id_(id) {
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
    Request request;
    const grpc::Status parsed = grpc::SerializationTraits<Request>::Deserialize(&request_, &request);
    if (!parsed.ok()) {
      post([message = parsed.error_message()](TableHub& hub, TableHub::SubscriberId id) {
        hub.reject(id, Status::invalid("StreamTableRequest", "cannot be parsed: " + message));
      });
      return;
    }
    if (request.has_key_request()) {
      const v1::KeyRequest& key = request.key_request();
      if (on_key_request_ && key.tenant().size() <= 63 && key.kid().size() <= 256)
        asio::post(core_.io(), [&handler = on_key_request_, key] { handler(key); });
    } else {
      post([request = std::move(request)](TableHub& hub, TableHub::SubscriberId id) { hub.receive(id, request); });
    }
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
  void send(std::shared_ptr<const TableUpdate> update) override {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    writing_ = shared_bytes(std::move(update));
    StartWrite(&writing_);
  }
  void finish(const Status& status) override { end(status, false); }
  void cancel(const Status& status) override { end(status, true); }

 private:
  void end(const Status& status, bool drop_write) {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
    }
    // A write the proxy does not read would hold Finish back: cancelling the
    // call drops it (and its reference to the update) now. Before Finish, as
    // the context lives until OnDone, which only follows Finish.
    if (drop_write) context_->TryCancel();
    // Outside the lock: OnDone (delete this) may follow Finish at any moment.
    Finish(to_grpc(status));
  }

  template <class F>
  void post(F f) {
    asio::post(core_.io(), [&hub = hub_, id = id_, f = std::move(f)]() mutable { f(hub, id); });
  }

  Core& core_;
  TableHub& hub_;
  const KeyRequestHandler& on_key_request_;  // the DiscoveryService's; outlives every stream
  grpc::CallbackServerContext* const context_;
  const TableHub::SubscriberId id_;
  Bytes request_;  // the read in flight
  std::mutex mutex_;  // no StartRead or StartWrite once Finish is decided
  bool finished_ = false;
  Bytes writing_;  // the write in flight: references the update's bytes
};

}  // namespace

grpc::ServerBidiReactor<Bytes, Bytes>* DiscoveryService::StreamTable(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  std::optional<std::string_view> header;
  if (auto it = metadata.find("authorization"); it != metadata.end())
    header = std::string_view(it->second.data(), it->second.size());
  const std::optional<Principal> principal = tokens_.authenticate(header);
  if (!principal) {
    spdlog::debug("tg-control: StreamTable from {}: refused, no valid bearer token", grpc_peer(*context));
    asio::post(core_.io(), [&core = core_] { ++core.metrics().table().refused_unauthenticated; });
    return new RefusedStream(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                          "missing or unknown bearer token (metadata authorization: Bearer <token>)"));
  }
  if (Status allowed = authorize(*principal, Access::stream, "Discovery.StreamTable"); !allowed.ok()) {
    spdlog::warn("tg-control: StreamTable from {} refused: {}", grpc_peer(*context), allowed.message);
    asio::post(core_.io(), [&core = core_] { ++core.metrics().table().refused_permission; });
    return new RefusedStream(to_grpc(allowed));
  }
  return new TableStream(core_, hub_, on_key_request_, context, next_id_.fetch_add(1), grpc_peer(*context),
                         principal->actor);
}

}  // namespace tg::control
