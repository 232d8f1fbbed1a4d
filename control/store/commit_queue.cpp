#include "store/commit_queue.hpp"

#include <spdlog/spdlog.h>

namespace tg::control {

CommitQueue::CommitQueue(Store& store, CommitObserver observer) : store_(store), observer_(std::move(observer)) {}

CommitQueue::~CommitQueue() { stop(); }

void CommitQueue::start() { thread_ = std::thread([this] { run(); }); }

void CommitQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CommitQueue::submit(CommitBatch batch, Done done) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(Pending{std::move(batch), std::move(done)});
  }
  wake_.notify_one();
}

void CommitQueue::read(std::function<void(Store&)> job) {
  {
    std::lock_guard lock(mutex_);
    reads_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void CommitQueue::run() {
  while (true) {
    std::deque<Pending> group;
    std::deque<std::function<void(Store&)>> reads;
    {
      std::unique_lock lock(mutex_);
      // Bounded wait: a missed notification costs at most this long.
      wake_.wait_for(lock, std::chrono::seconds(1),
                     [this] { return stopping_ || !pending_.empty() || !reads_.empty(); });
      if (pending_.empty() && reads_.empty()) {
        if (stopping_) return;
        continue;
      }
      group.swap(pending_);
      reads.swap(reads_);
    }
    if (!group.empty()) {
      std::vector<CommitBatch> batches;
      batches.reserve(group.size());
      for (auto& p : group) batches.push_back(std::move(p.batch));
      Status status;
      const auto start = std::chrono::steady_clock::now();
      try {
        store_.commit(batches);
      } catch (const StoreFull& e) {
        spdlog::error("tg-control: commit of {} change(s) failed: the database is full: {}", batches.size(), e.what());
        status = Status{Code::unavailable, std::string("the database is full (") + e.what() +
                                               "); writes are refused until space returns"};
      } catch (const std::exception& e) {
        spdlog::critical("tg-control: commit of {} change(s) failed: {}", batches.size(), e.what());
        status = Status::internal(std::string("commit failed: ") + e.what());
      }
      if (observer_) observer_(std::chrono::steady_clock::now() - start, batches.size(), status.ok());
      for (std::size_t i = 0; i < group.size(); ++i)
        if (group[i].done) group[i].done(status, std::move(batches[i]));
    }
    for (auto& job : reads) job(store_);
  }
}

}  // namespace tg::control
