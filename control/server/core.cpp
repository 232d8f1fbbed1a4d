#include "server/core.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace tg::control {

namespace asio = boost::asio;

Core::Core(Store& store, Registry& registry, CoreOptions options)
    : registry_(registry),
      options_(options),
      queue_(store,
             [this](std::chrono::nanoseconds duration, std::size_t batches, bool ok) {
               asio::post(io_, [this, duration, batches, ok] { metrics_.record_commit(duration, batches, ok); });
             }),
      committed_revision_(registry.revision()) {}

Core::~Core() { stop(); }

void Core::start() {
  if (started_) return;
  started_ = true;
  work_.emplace(io_.get_executor());
  queue_.start();
  asio::post(io_, [this] { arm_heartbeat_timer(); });
  owner_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      // Handlers do not throw by contract; if one does, the process cannot go on.
      spdlog::critical("tg-control: owner loop: {}", e.what());
      std::abort();
    }
  });
}

void Core::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  asio::post(io_, [this] { heartbeat_timer_.cancel(); });
  queue_.stop();  // every submitted batch committed; its completion is posted
  asio::post(io_, [this] { io_.stop(); });  // runs after those completions
  owner_.join();
}

void Core::commit(CommitBatch batch, std::function<void(const Status&)> done) {
  if (batch.empty()) {
    done(Status{});
    return;
  }
  queue_.submit(std::move(batch), [this, done = std::move(done)](const Status& status, CommitBatch&& committed) {
    asio::post(io_, [this, status, done, committed = std::move(committed)]() {
      if (status.ok()) {
        committed_revision_ = std::max(committed_revision_, committed.revision);
        for (const auto& observer : observers_) observer(committed);
      } else if (!fatal_reported_) {
        fatal_reported_ = true;
        if (fatal_) fatal_(status.message);
      }
      done(status);
    });
  });
}

void Core::add_observer(Observer observer) { observers_.push_back(std::move(observer)); }

void Core::on_fatal(std::function<void(const std::string&)> handler) { fatal_ = std::move(handler); }

void Core::read_store(std::function<void(Store&)> job) { queue_.read(std::move(job)); }

void Core::arm_heartbeat_timer() {
  heartbeat_timer_.expires_after(options_.heartbeat_sweep);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    sweep_heartbeats();
    arm_heartbeat_timer();
  });
}

void Core::sweep_heartbeats() {
  CommitBatch batch = registry_.expire_heartbeats();
  if (batch.empty()) return;
  for (const auto& m : batch.mutations) spdlog::warn("tg-control: instance {}: heartbeat expired", m.name);
  commit(std::move(batch), [](const Status& status) {
    if (!status.ok()) spdlog::error("tg-control: recording heartbeat expiry failed: {}", status.message);
  });
}

}  // namespace tg::control
