#include "server/core.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <memory>

namespace tg::control {

namespace asio = boost::asio;

Core::Core(Store& store, Registry& registry, CoreOptions options)
    : registry_(registry),
      options_(options),
      queue_(
          store,
          [this](std::chrono::nanoseconds duration, std::size_t batches, bool ok) {
            asio::post(io_, [this, duration, batches, ok] { metrics_.record_commit(duration, batches, ok); });
          },
          [this] { limits_.isolated_failures.fetch_add(1, std::memory_order_relaxed); }),
      committed_revision_(registry.revision()) {}

Core::~Core() { stop(); }

void Core::start() {
  if (started_) return;
  started_ = true;
  work_.emplace(io_.get_executor());
  queue_.start();
  asio::post(io_, [this] {
    arm_heartbeat_timer();
    // The first sweep at once: a tg-control restarted more often than
    // retention_sweep would otherwise never prune.
    if (options_.audit_retention.count() > 0 || options_.events_retention.count() > 0 ||
        options_.rollups_retention.count() > 0 || options_.status_retention.count() > 0)
      arm_retention(std::chrono::milliseconds(0));
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
    retention_timer_.cancel();
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
  if (reloading_) {
    // A write that did not ask write_refusal() first (a heartbeat that
    // changed health): the reload under way puts memory back.
    done(write_refusal());
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
      } else {
        // This batch alone failed (CommitQueue retried its group one batch
        // at a time): memory is ahead of the database by it. Writes pause
        // until the registry is reloaded from the database; the process
        // goes on serving.
        spdlog::error("tg-control: commit of revision {} failed; reloading the registry from the database: {}",
                      committed.revision, status.message);
        if (!reloading_) {
          reloading_ = true;
          reload_registry();
        }
      }
      done(status);
    });
  });
}

Status Core::write_refusal() const {
  if (reloading_)
    return Status{Code::unavailable, "a commit failed; the registry is being reloaded from the database, retry"};
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
          reloading_ = false;
          spdlog::warn("tg-control: registry reloaded from the database at revision {}; changes that were not "
                       "stored are gone",
                       registry_.revision());
          for (const auto& observer : reload_observers_) observer();
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

void Core::arm_retention(std::chrono::milliseconds delay) {
  retention_timer_.expires_after(delay);
  retention_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    // Also in read-only mode: freed pages may be what lets the probe write
    // succeed (a --sqlite-max-page-count quota); on a full disk the delete
    // fails like any write and is tried again at the next sweep.
    sweep_from(Retained::audit);
  });
}

// The next table from `table` on that has a retention, else the next sweep.
std::chrono::milliseconds Core::retention_of(Retained table) const {
  switch (table) {
    case Retained::audit: return options_.audit_retention;
    case Retained::rollups: return options_.rollups_retention;
    case Retained::events:
    case Retained::occurrences: return options_.events_retention;
    case Retained::status_samples: return options_.status_retention;
  }
  return std::chrono::milliseconds(0);
}

void Core::sweep_from(Retained table) {
  for (Retained t : {Retained::audit, Retained::events, Retained::rollups, Retained::occurrences,
                     Retained::status_samples}) {
    if (t < table) continue;
    const auto retention = retention_of(t);
    if (retention.count() > 0) {
      delete_old_rows(t, registry_.clock().unix_ms() - retention.count(), 0);
      return;
    }
  }
  arm_retention(options_.retention_sweep);
}

// One batch per writer job, so registry commits queued meanwhile go between
// batches instead of waiting for the whole deletion.
void Core::delete_old_rows(Retained table, std::int64_t cutoff_unix_ms, std::size_t deleted_so_far) {
  queue_.read([this, table, cutoff_unix_ms, deleted_so_far](Store& store) {
    std::size_t deleted = 0;
    std::string error;
    try {
      const std::size_t limit = options_.retention_delete_batch;
      switch (table) {
        case Retained::audit: deleted = store.delete_audit_before(cutoff_unix_ms, limit); break;
        case Retained::events: deleted = store.delete_events_before(cutoff_unix_ms, limit); break;
        case Retained::rollups: deleted = store.delete_rollups_before(cutoff_unix_ms, limit); break;
        case Retained::occurrences: deleted = store.delete_occurrences_before(cutoff_unix_ms, limit); break;
        case Retained::status_samples: deleted = store.delete_status_samples_before(cutoff_unix_ms, limit); break;
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [this, table, cutoff_unix_ms, deleted_so_far, deleted, error] {
      const char* what = table == Retained::audit         ? "audit"
                         : table == Retained::events      ? "events"
                         : table == Retained::rollups     ? "rollups"
                         : table == Retained::occurrences ? "event occurrences"
                                                          : "status samples";
      if (table == Retained::audit) metrics_.record_audit_deleted(deleted);
      else if (table == Retained::events) metrics_.record_events_deleted(deleted);
      else if (table == Retained::rollups) metrics_.record_rollups_deleted(deleted);
      else metrics_.record_ingest_deleted(table == Retained::occurrences ? "occurrences" : "status_samples", deleted);
      const std::size_t total = deleted_so_far + deleted;
      if (error.empty() && deleted == options_.retention_delete_batch) {
        delete_old_rows(table, cutoff_unix_ms, total);
        return;
      }
      if (!error.empty())
        spdlog::error("tg-control: {} retention: deleting rows older than {} failed: {}", what,
                      format_utc(cutoff_unix_ms), error);
      if (total > 0)
        spdlog::info("tg-control: {} retention: deleted {} row(s) older than {}", what, total,
                     format_utc(cutoff_unix_ms));
      if (table == Retained::status_samples) arm_retention(options_.retention_sweep);
      else sweep_from(static_cast<Retained>(static_cast<int>(table) + 1));
    });
  });
}

void Core::commit_telemetry(CommitBatch batch, std::function<void(const Status&, CommitBatch&&)> done) {
  // `done` is moved along, never copied: it may hold a batch's worth of data.
  queue_.submit(std::move(batch),
                [this, done = std::move(done)](const Status& status, CommitBatch&& committed) mutable {
                  asio::post(io_, [status, done = std::move(done), committed = std::move(committed)]() mutable {
                    done(status, std::move(committed));
                  });
                });
}

void Core::add_observer(Observer observer) { observers_.push_back(std::move(observer)); }

void Core::add_reload_observer(std::function<void()> observer) { reload_observers_.push_back(std::move(observer)); }

void Core::on_fatal(std::function<void(const std::string&)> handler) { fatal_ = std::move(handler); }

void Core::read_store(std::function<void(Store&)> job) { queue_.read(std::move(job)); }

namespace {

// Takes a slot of `pending` unless all `max` are taken.
bool take_slot(std::atomic<std::size_t>& pending, std::size_t max) {
  std::size_t now = pending.load(std::memory_order_relaxed);
  do {
    if (now >= max) return false;
  } while (!pending.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return true;
}

}  // namespace

bool Core::post_call(std::function<void()> job) {
  if (!take_slot(pending_calls_, options_.max_pending_calls)) {
    limits_.pending_refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  asio::post(io_, [this, job = std::move(job)] {
    pending_calls_.fetch_sub(1, std::memory_order_relaxed);
    job();
  });
  return true;
}

bool Core::post_store_call(std::function<void(Store&)> job) {
  if (!take_slot(pending_calls_, options_.max_pending_calls)) {
    limits_.pending_refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queue_.read([this, job = std::move(job)](Store& store) {
    pending_calls_.fetch_sub(1, std::memory_order_relaxed);
    job(store);
  });
  return true;
}

std::string LimitCounters::render(std::size_t pending, std::size_t max_pending) const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("tg_control_pending_calls", "gauge", "Admin calls posted to the owner loop or the writer and not yet run.",
         pending);
  metric("tg_control_max_pending_calls", "gauge", "--max-pending-calls.", max_pending);
  metric("tg_control_pending_calls_refused_total", "counter",
         "Admin calls answered RESOURCE_EXHAUSTED because --max-pending-calls calls were waiting.",
         pending_refused.load(std::memory_order_relaxed));
  metric("tg_control_apply_too_large_total", "counter",
         "Apply calls refused before the owner loop: yaml over the per-apply cap.",
         apply_too_large.load(std::memory_order_relaxed));
  metric("tg_control_apply_aborted_total", "counter",
         "Apply calls answered ABORTED: the registry changed under every attempt to compute them.",
         apply_aborted.load(std::memory_order_relaxed));
  metric("tg_control_commit_isolated_failures_total", "counter",
         "Calls that failed when retried alone after their group commit failed.",
         isolated_failures.load(std::memory_order_relaxed));
  metric("tg_control_grpc_accepting", "gauge",
         "1 while the self-probe of the gRPC port completes a call, 0 when it does not (see /ready).",
         grpc_accepting.load(std::memory_order_relaxed) ? 1 : 0);
  metric("tg_control_grpc_probe_failures_total", "counter", "Self-probes of the gRPC port that failed.",
         grpc_probe_failures.load(std::memory_order_relaxed));
  metric("tg_control_open_files_limit", "gauge", "RLIMIT_NOFILE soft limit in effect (raised to the hard limit at start).",
         open_files_limit.load(std::memory_order_relaxed));
  return out;
}

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
  if (read_only_ || reloading_) return;
  CommitBatch batch = registry_.expire_heartbeats();
  if (batch.empty()) return;
  for (const auto& m : batch.mutations) spdlog::warn("tg-control: instance {}: heartbeat expired", m.name);
  commit(std::move(batch), [](const Status& status) {
    if (!status.ok()) spdlog::error("tg-control: recording heartbeat expiry failed: {}", status.message);
  });
}

}  // namespace tg::control
