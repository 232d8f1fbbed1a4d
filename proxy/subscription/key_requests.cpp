#include "subscription/key_requests.hpp"

#include <spdlog/spdlog.h>

namespace tg::proxy::subscription {

namespace v1 = tenantgate::v1;

KeyRequests::KeyRequests(std::mutex& write_mutex) : write_mutex_(write_mutex), thread_([this] { run(); }) {}

KeyRequests::~KeyRequests() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void KeyRequests::submit(const std::string& tenant, const std::string& kid) {
  std::lock_guard lock(mutex_);
  if (!stream_ || queue_.size() >= kMaxQueued) return;
  const auto now = std::chrono::steady_clock::now();
  auto [it, fresh] = last_.try_emplace(tenant, now);
  if (!fresh) {
    if (now - it->second < kInterval) return;
    it->second = now;
  }
  queue_.emplace_back(tenant, kid);
  cv_.notify_all();
}

void KeyRequests::attach(TableStream* stream) {
  std::lock_guard write(write_mutex_);
  std::lock_guard lock(mutex_);
  stream_ = stream;
  if (!stream) queue_.clear();
}

std::uint64_t KeyRequests::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

void KeyRequests::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto [tenant, kid] = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    v1::StreamTableRequest request;
    request.mutable_key_request()->set_tenant(tenant);
    request.mutable_key_request()->set_kid(kid);
    bool written = false;
    {
      std::lock_guard write(write_mutex_);
      // stream_ changes only under write_mutex_ too: safe to read here.
      if (stream_) written = stream_->Write(request);
    }
    lock.lock();
    if (written) {
      ++sent_;
      spdlog::info("asked tg-control for tenant {}'s keys again: a token names key id {}", tenant, kid);
    }
  }
}

}  // namespace tg::proxy::subscription
