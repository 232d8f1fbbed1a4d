// An in-process Discovery service for the control client's tests: the test
// pushes updates one at a time and reads the proxy's answers, like
// tg-control's flow control (one update in flight). Port 0 on loopback, or a
// given port to come back on after a restart.
//
// Like tg-control it welcomes each accepted hello, and fills in the envelope
// of what the test pushes where the test left it empty: registry id (the
// fake's), kind, digest of a full table, and the base version of a health
// or delta update (the version the stream's proxy serves: its hello, then its ACKs).
#pragma once

#include "table/table_digest.hpp"
#include "tenantgate/v1/discovery.grpc.pb.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tg::proxy::test {

namespace v1 = tenantgate::v1;

class FakeDiscovery final : public v1::Discovery::Service {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr const char* registry_id = "fake0registry";

  explicit FakeDiscovery(std::string token = {}) : token_(std::move(token)) {}

  grpc::Status StreamTable(grpc::ServerContext* context,
                           grpc::ServerReaderWriter<v1::StreamTableResponse, v1::StreamTableRequest>* stream) override {
    if (!token_.empty()) {
      auto it = context->client_metadata().find("authorization");
      if (it == context->client_metadata().end() ||
          std::string(it->second.data(), it->second.size()) != "Bearer " + token_) {
        std::lock_guard lock(mutex_);
        ++rejected_;
        cv_.notify_all();
        return {grpc::StatusCode::UNAUTHENTICATED, "bad token"};
      }
    }
    v1::StreamTableRequest hello;
    if (!stream->Read(&hello) || !hello.has_hello()) return {grpc::StatusCode::INVALID_ARGUMENT, "no hello"};
    {
      std::lock_guard lock(mutex_);
      hellos_.push_back(hello.hello());
      cv_.notify_all();
    }
    v1::StreamTableResponse welcome;
    welcome.mutable_welcome()->set_registry_id(registry_id);
    if (!stream->Write(welcome)) return grpc::Status::CANCELLED;
    v1::TableVersion applied = hello.hello().applied();
    for (;;) {
      v1::StreamTableResponse next;
      {
        std::unique_lock lock(mutex_);
        // Wakes on push() and close(); the short timeout notices a client that went away.
        while (!closing_ && outbox_.empty()) {
          if (context->IsCancelled()) return grpc::Status::CANCELLED;
          cv_.wait_for(lock, std::chrono::milliseconds(20));
        }
        if (closing_) return {grpc::StatusCode::UNAVAILABLE, "fake control plane going away"};
        next = std::move(outbox_.front());
        outbox_.pop_front();
      }
      stamp(next, applied);
      if (!stream->Write(next)) return grpc::Status::CANCELLED;
      v1::StreamTableRequest answer;
      if (!stream->Read(&answer)) return grpc::Status::CANCELLED;
      // Key requests may come at any time: recorded, then the answer follows.
      while (answer.has_key_request()) {
        {
          std::lock_guard lock(mutex_);
          key_requests_.push_back(answer.key_request());
          cv_.notify_all();
        }
        if (!stream->Read(&answer)) return grpc::Status::CANCELLED;
      }
      if (answer.has_ack()) applied = answer.ack().version();
      std::lock_guard lock(mutex_);
      answers_.push_back(answer);
      cv_.notify_all();
    }
  }

  static void stamp(v1::StreamTableResponse& update, const v1::TableVersion& applied) {
    if (update.registry_id().empty()) update.set_registry_id(registry_id);
    if (update.kind() == v1::UPDATE_KIND_UNSPECIFIED)
      update.set_kind(update.has_health()  ? v1::UPDATE_KIND_HEALTH
                      : update.has_delta() ? v1::UPDATE_KIND_DELTA
                                           : v1::UPDATE_KIND_FULL);
    if (update.has_config() && update.digest() == 0) update.set_digest(::tg::table::table_digest(update.config()).value_or(0));
    if ((update.has_health() || update.has_delta()) && !update.has_base_version())
      *update.mutable_base_version() = applied;
  }

  void push(v1::StreamTableResponse update) {
    std::lock_guard lock(mutex_);
    outbox_.push_back(std::move(update));
    cv_.notify_all();
  }

  // The next answer (ack or nack), or nothing by the deadline.
  std::optional<v1::StreamTableRequest> next_answer(std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, within, [&] { return !answers_.empty(); })) return std::nullopt;
    v1::StreamTableRequest answer = std::move(answers_.front());
    answers_.pop_front();
    return answer;
  }

  // The n-th hello (0-based) received, or nothing by the deadline.
  std::optional<v1::Hello> hello(std::size_t n, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, within, [&] { return hellos_.size() > n; })) return std::nullopt;
    return hellos_[n];
  }

  bool wait_rejected(std::size_t count, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, within, [&] { return rejected_ >= count; });
  }

  // The key requests read so far (read with the answer to the next update).
  std::vector<v1::KeyRequest> key_requests() {
    std::lock_guard lock(mutex_);
    return key_requests_;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closing_ = true;
    cv_.notify_all();
  }

 private:
  const std::string token_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<v1::StreamTableResponse> outbox_;
  std::deque<v1::StreamTableRequest> answers_;
  std::vector<v1::Hello> hellos_;
  std::vector<v1::KeyRequest> key_requests_;
  std::size_t rejected_ = 0;
  bool closing_ = false;
};

// A grpc::Server running one FakeDiscovery on 127.0.0.1.
class FakeControlPlane {
 public:
  explicit FakeControlPlane(std::string token = {}, int port = 0) : service_(std::move(token)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeControlPlane() {
    service_.close();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
  }
  FakeControlPlane(const FakeControlPlane&) = delete;
  FakeControlPlane& operator=(const FakeControlPlane&) = delete;

  bool started() const { return server_ && port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  FakeDiscovery& service() { return service_; }

 private:
  FakeDiscovery service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace tg::proxy::test
