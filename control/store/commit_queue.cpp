#include "store/commit_queue.hpp"

#include <spdlog/spdlog.h>

namespace tg::control {

CommitQueue::CommitQueue(Store& store, CommitObserver observer, std::function<void()> isolated_failure)
    : store_(store), observer_(std::move(observer)), isolated_failure_(std::move(isolated_failure)) {}

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

Status CommitQueue::commit_batches(const std::vector<CommitBatch>& batches) {
  try {
    store_.commit(batches);
  } catch (const StoreFull& e) {
    spdlog::error("tg-control: commit of {} change(s) failed: the database is full: {}", batches.size(), e.what());
    return Status{Code::unavailable,
                  std::string("the database is full (") + e.what() + "); writes are refused until space returns"};
  } catch (const std::exception& e) {
    spdlog::error("tg-control: commit of {} change(s) failed: {}", batches.size(), e.what());
    return Status::internal(std::string("commit failed: ") + e.what());
  }
  return {};
}

void CommitQueue::commit_group(std::deque<Pending>& group) {
  std::vector<CommitBatch> batches;
  batches.reserve(group.size());
  for (auto& p : group) batches.push_back(std::move(p.batch));
  auto start = std::chrono::steady_clock::now();
  const Status status = commit_batches(batches);
  if (observer_) observer_(std::chrono::steady_clock::now() - start, batches.size(), status.ok());
  // One failed batch must not fail the others it happened to share a
  // transaction with: a group that failed for another reason than a full
  // database is tried again one batch per transaction, so only the guilty
  // one fails. (Full: every write would fail alike; read-only mode follows.)
  if (status.ok() || group.size() == 1 || status.code == Code::unavailable) {
    for (std::size_t i = 0; i < group.size(); ++i)
      if (group[i].done) group[i].done(status, std::move(batches[i]));
    return;
  }
  spdlog::warn("tg-control: retrying the {} change(s) of the failed commit one by one", batches.size());
  for (std::size_t i = 0; i < group.size(); ++i) {
    std::vector<CommitBatch> one;
    one.push_back(std::move(batches[i]));
    start = std::chrono::steady_clock::now();
    const Status alone = commit_batches(one);
    if (observer_) observer_(std::chrono::steady_clock::now() - start, 1, alone.ok());
    if (!alone.ok() && isolated_failure_) isolated_failure_();
    if (group[i].done) group[i].done(alone, std::move(one.front()));
  }
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
    if (!group.empty()) commit_group(group);
    for (auto& job : reads) job(store_);
  }
}

}  // namespace tg::control
