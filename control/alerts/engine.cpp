#include "alerts/engine.hpp"

#include "store/store.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace tg::control::alerts {

namespace asio = boost::asio;

void feed_signals(SignalWindow& signals, const CommitBatch& batch) {
  for (const EventRecord& e : batch.events)
    signals.add_event(e.tenant, e.service, e.instance, e.kind, e.level, e.time_unix_ms);
  for (const TelemetryCommit& t : batch.telemetry) {
    if (t.duplicate) continue;  // counted when its original committed
    for (const EventRecord& e : t.events)
      signals.add_event(e.tenant, e.service, e.instance, e.kind, e.level, e.time_unix_ms);
  }
  for (const StatusSample& s : batch.status_samples)
    signals.add_restarts(s.tenant, s.service, s.instance, s.restarts, s.time_unix_ms);
}

Engine::Engine(asio::io_context& io, const Clock& clock, Book& book, SignalWindow& signals, EngineOptions options,
               EngineHooks hooks)
    : io_(io),
      clock_(clock),
      book_(book),
      signals_(signals),
      options_(options),
      hooks_(std::move(hooks)),
      eval_timer_(io),
      retention_timer_(io) {}

void Engine::start() {
  arm_eval();
  if (options_.alert_history.count() > 0) arm_retention(std::chrono::milliseconds(0));
}

void Engine::stop() {
  eval_timer_.cancel();
  retention_timer_.cancel();
}

void Engine::arm_eval() {
  eval_timer_.expires_after(options_.eval_interval);
  eval_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    evaluate_now();
    arm_eval();
  });
}

std::chrono::nanoseconds Engine::evaluate_now() {
  if (reloading_) return std::chrono::nanoseconds(0);
  const auto start = std::chrono::steady_clock::now();
  EvalInputs inputs;
  inputs.window = &hooks_.window();
  const std::int64_t now = clock_.unix_ms();
  signals_.prune(now);
  inputs.signals = &signals_;
  inputs.instances = hooks_.instances ? hooks_.instances() : std::vector<InstanceState>{};
  inputs.now_unix_ms = now;
  inputs.covered_since_unix_ms = options_.covered_since_unix_ms;
  inputs.proxies_connected = hooks_.proxies_connected ? hooks_.proxies_connected() : 0;
  AlertChanges changes;
  book_.evaluate(inputs, changes);
  last_evaluation_ = std::chrono::steady_clock::now() - start;
  evaluation_seconds_total_ += std::chrono::duration<double>(last_evaluation_).count();
  ++evaluations_;
  if (!changes.empty())
    commit(std::move(changes), [](const Status& status) {
      if (!status.ok()) spdlog::error("tg-control: alerting: committing an evaluation failed: {}", status.message);
    });
  return last_evaluation_;
}

void Engine::commit(AlertChanges changes, std::function<void(const Status&)> done) {
  if (changes.empty()) {
    done(Status{});
    return;
  }
  // What deliveries_committed needs after the commit: the delivery rows'
  // ids (it reads the jobs from the book's outbox).
  auto created = std::make_shared<AlertChanges>();
  for (const auto& d : changes.deliveries) {
    AlertChanges::Delivery id_only;
    id_only.id = d.id;
    created->deliveries.push_back(std::move(id_only));
  }
  CommitBatch batch;
  batch.alerts = std::move(changes);
  hooks_.commit(std::move(batch), [this, created, done = std::move(done)](const Status& status) {
    if (!status.ok()) {
      // Memory is ahead of the database by this batch: the book goes back
      // to what the database holds (deliveries of the batch were never
      // handed to the dispatcher).
      ++commit_failures_;
      reload();
      done(status);
      return;
    }
    for (DeliveryJob& job : book_.deliveries_committed(*created)) hooks_.enqueue(std::move(job));
    done(status);
  });
}

void Engine::post_outcome(AttemptOutcome outcome) {
  asio::post(io_, [this, outcome = std::move(outcome)] {
    const char* result = outcome.status == v1::Delivery::STATUS_DELIVERED ? "delivered"
                         : outcome.status == v1::Delivery::STATUS_FAILED  ? "failed"
                                                                          : "retry";
    ++outcomes_[{outcome.notifier, result}];
    AlertChanges changes;
    book_.record_outcome(outcome, changes);
    commit(std::move(changes), [id = outcome.id](const Status& status) {
      if (!status.ok())
        spdlog::error("tg-control: alerting: recording an attempt of delivery {} failed: {}", id, status.message);
    });
  });
}

void Engine::on_commit(const CommitBatch& batch) {
  feed_signals(signals_, batch);
  // Book writes the Admin calls committed with the registry (a manual
  // resolve, a rule delete, a cascade) may have created deliveries.
  if (!batch.alerts.deliveries.empty())
    for (DeliveryJob& job : book_.deliveries_committed(batch.alerts)) hooks_.enqueue(std::move(job));
}

void Engine::reload() {
  if (reloading_ || !hooks_.read_store) return;
  reloading_ = true;
  hooks_.read_store([this](Store& store) {
    auto loaded = std::make_shared<LoadedAlerts>();
    std::string error;
    try {
      *loaded = store.load_alerts();
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [this, loaded, error] {
      reloading_ = false;
      if (!error.empty()) {
        spdlog::error("tg-control: alerting: reloading the alert book failed: {}", error);
        return;
      }
      book_.load(*loaded);
      spdlog::warn("tg-control: alerting: the alert book was reloaded from the database after a failed commit");
    });
  });
}

void Engine::arm_retention(std::chrono::milliseconds delay) {
  retention_timer_.expires_after(delay);
  retention_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    delete_history(clock_.unix_ms() - options_.alert_history.count(), 0);
  });
}

// One batch per writer job, as the other retention sweeps: commits queued
// meanwhile go between batches.
void Engine::delete_history(std::int64_t cutoff_unix_ms, std::size_t deleted_so_far) {
  hooks_.read_store([this, cutoff_unix_ms, deleted_so_far](Store& store) {
    std::size_t deleted = 0;
    std::string error;
    try {
      deleted = store.delete_alerts_before(cutoff_unix_ms, options_.retention_delete_batch);
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [this, cutoff_unix_ms, deleted_so_far, deleted, error] {
      history_deleted_ += deleted;
      const std::size_t total = deleted_so_far + deleted;
      if (error.empty() && deleted == options_.retention_delete_batch) {
        delete_history(cutoff_unix_ms, total);
        return;
      }
      if (!error.empty())
        spdlog::error("tg-control: alert_history retention: deleting resolved alerts failed: {}", error);
      if (total > 0) spdlog::info("tg-control: alert_history retention: deleted {} resolved alert(s)", total);
      arm_retention(options_.retention_sweep);
    });
  });
}

namespace {

std::string label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string Engine::render_metrics() const {
  std::string out;
  family(out, "tg_control_alerts", "gauge", "Open alerts by state (pending, firing) and severity.");
  auto open = book_.open_by_state_severity();
  // Both states always present, so a dashboard sees 0 rather than nothing.
  for (const char* state : {"pending", "firing"}) {
    bool any = false;
    for (const auto& [key, count] : open) any = any || key.first == state;
    if (!any) open[{state, ""}] = 0;
  }
  for (const auto& [key, count] : open)
    out += "tg_control_alerts{state=\"" + label_value(key.first) + "\",severity=\"" + label_value(key.second) +
           "\"} " + std::to_string(count) + "\n";
  family(out, "tg_control_alert_deliveries_total", "counter",
         "Delivery attempts by notifier and result (delivered, retry, failed: final).");
  for (const auto& [key, count] : outcomes_)
    out += "tg_control_alert_deliveries_total{notifier=\"" + label_value(key.first) + "\",result=\"" + key.second +
           "\"} " + std::to_string(count) + "\n";
  family(out, "tg_control_alert_outbox_depth", "gauge", "Deliveries not yet delivered or failed for good.");
  out += "tg_control_alert_outbox_depth " + std::to_string(book_.outbox_depth()) + "\n";
  family(out, "tg_control_alert_outbox_oldest_age_seconds", "gauge",
         "Age of the oldest undelivered delivery (0 when none).");
  const std::int64_t oldest = book_.outbox_oldest_created_unix_ms();
  const double age = oldest == 0 ? 0.0 : std::max<std::int64_t>(0, clock_.unix_ms() - oldest) / 1000.0;
  out += "tg_control_alert_outbox_oldest_age_seconds " + std::to_string(age) + "\n";
  family(out, "tg_control_alert_rules", "gauge", "Alert rules (enabled or disabled).");
  out += "tg_control_alert_rules " + std::to_string(book_.rule_count()) + "\n";
  family(out, "tg_control_alert_evaluations_total", "counter", "Evaluation rounds of all rules.");
  out += "tg_control_alert_evaluations_total " + std::to_string(evaluations_) + "\n";
  family(out, "tg_control_alert_evaluation_seconds_total", "counter", "Time spent in evaluation rounds.");
  out += "tg_control_alert_evaluation_seconds_total " + std::to_string(evaluation_seconds_total_) + "\n";
  family(out, "tg_control_alert_last_evaluation_seconds", "gauge", "Duration of the last evaluation round.");
  out += "tg_control_alert_last_evaluation_seconds " +
         std::to_string(std::chrono::duration<double>(last_evaluation_).count()) + "\n";
  family(out, "tg_control_alert_history_deleted_total", "counter",
         "Resolved alerts deleted by retention (retention.alert_history).");
  out += "tg_control_alert_history_deleted_total " + std::to_string(history_deleted_) + "\n";
  return out;
}

}  // namespace tg::control::alerts
