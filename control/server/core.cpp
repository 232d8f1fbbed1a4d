#include "server/core.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <memory>

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
  asio::post(io_, [this] {
    arm_heartbeat_timer();
    if (options_.audit_retention.count() > 0) arm_audit_retention();
  });
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
  asio::post(io_, [this] {
    heartbeat_timer_.cancel();
    write_probe_timer_.cancel();
    audit_timer_.cancel();
  });
  queue_.stop();  // every submitted batch committed; its completion is posted
  asio::post(io_, [this] { io_.stop(); });  // runs after those completions
  owner_.join();
}

void Core::commit(CommitBatch batch, std::function<void(const Status&)> done) {
  if (batch.empty()) {
    done(Status{});
    return;
  }
  if (read_only_) {
    // A write that did not ask write_refusal() first: memory holds it already.
    metrics_.record_store_full();
    reload_registry();
    done(write_refusal());
    return;
  }
  queue_.submit(std::move(batch), [this, done = std::move(done)](const Status& status, CommitBatch&& committed) {
    asio::post(io_, [this, status, done, committed = std::move(committed)]() {
      if (status.ok()) {
        committed_revision_ = std::max(committed_revision_, committed.revision);
        for (const auto& observer : observers_) observer(committed);
      } else if (status.code == Code::unavailable || read_only_) {
        // Full, or submitted before read-only mode began and failed since
        // (e.g. it built on a batch that was not stored): the reload puts
        // memory back to what the database holds.
        metrics_.record_store_full();
        enter_read_only(status.message);
        reload_registry();
        done(write_refusal());
        return;
      } else if (!fatal_reported_) {
        fatal_reported_ = true;
        if (fatal_) fatal_(status.message);
      }
      done(status);
    });
  });
}

Status Core::write_refusal() const {
  if (!read_only_) return {};
  return Status{Code::unavailable, read_only_reason_};
}

void Core::enter_read_only(const std::string& reason) {
  if (read_only_) return;
  read_only_ = true;
  read_only_reason_ = reason.find("the database is full") != std::string::npos
                          ? reason
                          : "the database is full; writes are refused until space returns (" + reason + ")";
  metrics_.set_store_read_only(true);
  spdlog::error("tg-control: read-only mode: {}; reads, the table stream and /healthz go on; a write is tried every "
                "{} ms",
                read_only_reason_, options_.write_probe.count());
  arm_write_probe();
}

void Core::reload_registry() {
  queue_.read([this](Store& store) {
    auto state = std::make_shared<LoadedState>();
    std::string error;
    try {
      *state = store.load();
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [this, state, load_error = std::move(error)] {
      std::string error = load_error;
      if (error.empty()) {
        try {
          const std::uint64_t generation = registry_.generation();
          registry_.load(*state);
          registry_.set_generation(generation);  // the process's generation, not the stored one
          spdlog::warn("tg-control: registry reloaded from the database at revision {}; changes that were not "
                       "stored are gone",
                       registry_.revision());
          return;
        } catch (const std::exception& e) {
          error = e.what();
        }
      }
      if (!fatal_reported_) {
        fatal_reported_ = true;
        if (fatal_) fatal_("reloading the registry after a failed commit: " + error);
      }
    });
  });
}

void Core::arm_write_probe() {
  write_probe_timer_.expires_after(options_.write_probe);
  write_probe_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    queue_.read([this](Store& store) {
      std::string error;
      bool full = false;
      try {
        store.probe_write();
      } catch (const StoreFull& e) {
        full = true;
        error = e.what();
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(io_, [this, error, full] {
        if (error.empty()) {
          read_only_ = false;
          read_only_reason_.clear();
          metrics_.set_store_read_only(false);
          spdlog::info("tg-control: the database accepts writes again; read-only mode ended");
          return;
        }
        if (full) metrics_.record_store_full();
        spdlog::warn("tg-control: read-only mode: the probe write failed: {}", error);
        arm_write_probe();
      });
    });
  });
}

void Core::arm_audit_retention() {
  audit_timer_.expires_after(options_.audit_sweep);
  audit_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    // Also in read-only mode: freed pages may be what lets the probe write
    // succeed (a --sqlite-max-page-count quota); on a full disk the delete
    // fails like any write and is tried again at the next sweep.
    delete_old_audit(registry_.clock().unix_ms() - options_.audit_retention.count(), 0);
  });
}

// One batch per writer job, so registry commits queued meanwhile go between
// batches instead of waiting for the whole deletion.
void Core::delete_old_audit(std::int64_t cutoff_unix_ms, std::size_t deleted_so_far) {
  queue_.read([this, cutoff_unix_ms, deleted_so_far](Store& store) {
    std::size_t deleted = 0;
    std::string error;
    try {
      deleted = store.delete_audit_before(cutoff_unix_ms, options_.audit_delete_batch);
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [this, cutoff_unix_ms, deleted_so_far, deleted, error] {
      metrics_.record_audit_deleted(deleted);
      const std::size_t total = deleted_so_far + deleted;
      if (error.empty() && deleted == options_.audit_delete_batch) {
        delete_old_audit(cutoff_unix_ms, total);
        return;
      }
      if (!error.empty())
        spdlog::error("tg-control: audit retention: deleting rows older than {} failed: {}",
                      format_utc(cutoff_unix_ms), error);
      if (total > 0)
        spdlog::info("tg-control: audit retention: deleted {} row(s) older than {}", total, format_utc(cutoff_unix_ms));
      arm_audit_retention();
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
  // Read-only: expiry would change memory it cannot store; deadlines stay and
  // expire once writes resume.
  if (read_only_) return;
  CommitBatch batch = registry_.expire_heartbeats();
  if (batch.empty()) return;
  for (const auto& m : batch.mutations) spdlog::warn("tg-control: instance {}: heartbeat expired", m.name);
  commit(std::move(batch), [](const Status& status) {
    if (!status.ok()) spdlog::error("tg-control: recording heartbeat expiry failed: {}", status.message);
  });
}

}  // namespace tg::control
