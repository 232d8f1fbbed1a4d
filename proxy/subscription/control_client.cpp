#include "subscription/control_client.hpp"

#include "subscription/control_channel.hpp"
#include "subscription/key_requests.hpp"
#include "subscription/state_store.hpp"
#include "subscription/state_writer.hpp"
#include "subscription/table_convert.hpp"
#include "subscription/update_check.hpp"

#include "grpc/status_name.hpp"
#include "table/table_digest.hpp"
#include "table/table_entries.hpp"
#include "table/table_version.hpp"
#include "tenantgate/v1/discovery.grpc.pb.h"

#include <grpcpp/client_context.h>
#include <spdlog/spdlog.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <random>
#include <utility>

#ifndef TG_VERSION
#define TG_VERSION "dev"
#endif

namespace tg::proxy::subscription {

namespace v1 = tenantgate::v1;
using std::chrono::milliseconds;

namespace {

std::string duration_text(milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
  return fmt::format("{} ms", d.count());
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string status_text(const grpc::Status& status) {
  std::string text(grpc_status_name(status.error_code()));
  if (!status.error_message().empty()) text += ": " + status.error_message();
  return text;
}

// After a whole table was built: the parsed message, the config model and
// the previous snapshot are freed by then, tens of MB at 10,000 tenants, in
// pages malloc keeps for itself; hands them back to the system so the RSS
// is what the proxy holds, not the peak of the last full build.
void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

std::string random_boot_id() { return fmt::format("{:016x}", random_seed()); }

// Waits of the client thread end on stop(); the workers' `switched` callbacks
// share this (they may run after a timed-out wait, or after the client).
struct Signal {
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;
  grpc::ClientContext* context = nullptr;  // the live stream's, for TryCancel
};

struct ControlClient::State {
  enum class Outcome { ack, nack, stopped };

  explicit State(ControlOptions o)
      : options(std::move(o)), boot_id(random_boot_id()), backoff(options.backoff, random_seed()) {}

  const ControlOptions options;
  const std::string boot_id;
  std::shared_ptr<Signal> signal = std::make_shared<Signal>();

  mutable std::mutex status_mutex;
  FeedStatus status;  // under status_mutex

  // ---- the client thread only (and start()/saved_table() before it runs) ----
  InstallFn install;
  std::string listen;
  std::unique_ptr<v1::Discovery::Stub> stub;
  std::shared_ptr<const Snapshot> current;  // what the workers serve (or were last told to)
  // The snapshot of `entries` (the last table ACKed or loaded): a delta
  // update applies on it by structural sharing (Snapshot::apply) while it is
  // `current`; after a switch that timed out it is not, and the table is
  // built whole from `entries`.
  std::shared_ptr<const Snapshot> table_snapshot;
  // The applied pushed table as entries (states folded in): the base a
  // delta update applies on, and what --state-dir saves.
  table::TableEntries entries;
  bool have_table = false;
  bool built_whole = false;     // the last update's snapshot was built from the whole table
  TableVersion applied;
  std::string registry_id;  // of `applied` (empty: none, or a TGTABLE1 state file)
  std::uint64_t digest = 0;  // of `applied`, as tg-control sent it
  Backoff backoff;
  enum class PendingSave { none, config, health };
  PendingSave pending_save = PendingSave::none;
  // With --state-dir. Declared after `status`, so it is destroyed (writing
  // what is pending) while the counters its callback updates still exist.
  std::unique_ptr<StateWriter> writer;
  // One Write at a time on the stream: answers (this thread) and key requests.
  std::mutex write_mutex;
  std::unique_ptr<KeyRequests> key_requests;
  bool logged_down = false;  // a stream end or failure has been logged
  grpc::StatusCode logged_code = grpc::StatusCode::OK;
  bool last_stream_idle = false;  // the last stream ended without carrying an update
  // A version whose switch timed out (NACKed as retryable): its snapshot was
  // posted to the workers, which install it when they get to it. When
  // tg-control sends that same version again, the proxy waits for that
  // switch instead of building and posting the table once more.
  struct Unconfirmed {
    TableVersion version;
    std::string registry_id;
    std::uint64_t digest = 0;
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<bool> switched;  // under signal->mutex
  };
  std::optional<Unconfirmed> unconfirmed;

  bool stopping() {
    std::lock_guard lock(signal->mutex);
    return signal->stopping;
  }

  // false when stopped before `d` elapsed.
  bool wait(milliseconds d) {
    std::unique_lock lock(signal->mutex);
    return !signal->cv.wait_for(lock, d, [this] { return signal->stopping; });
  }

  void run() {
    while (!stopping()) {
      run_stream();
      if (!wait(backoff.next())) break;
    }
  }

  void run_stream() {
    grpc::ClientContext context;
    if (!options.token.empty()) context.AddMetadata("authorization", "Bearer " + options.token);
    {
      std::lock_guard lock(signal->mutex);
      if (signal->stopping) return;
      signal->context = &context;
    }
    auto stream = stub->StreamTable(&context);
    v1::StreamTableRequest hello;
    v1::Hello* h = hello.mutable_hello();
    h->set_node_id(options.node_id);
    h->set_boot_id(boot_id);
    if (!applied.empty()) {
      *h->mutable_applied() = table::to_proto(applied);
    }
    h->set_proxy_version(TG_VERSION);
    h->set_listen(listen);
    h->set_registry_id(registry_id);
    h->set_digest(digest);
    // Connected means tg-control accepted the hello: its Welcome comes first.
    bool connected = false;
    bool answered = false;  // the stream carried at least one update
    v1::StreamTableResponse update;
    if (stream->Write(hello) && stream->Read(&update)) {
      if (update.has_welcome()) {
        connected = true;
        if (key_requests) key_requests->attach(stream.get());
        on_connected(update.welcome());
      } else {
        spdlog::error("tg-control {} sent an update before accepting the hello (an older tg-control?); "
                      "ending the stream",
                      options.address);
        context.TryCancel();
      }
    }
    while (connected && stream->Read(&update)) {
      if (update.has_welcome()) continue;
      v1::StreamTableRequest answer;
      const Outcome outcome = apply_guarded(update, answer);
      if (outcome == Outcome::stopped) break;
      bool written = false;
      {
        std::lock_guard write(write_mutex);
        written = stream->Write(answer);
      }
      if (!written) break;
      save_after_answer(update);  // may move the update's table out
      if (update.has_config() || built_whole) release_free_memory();
      built_whole = false;
      answered = true;
      if (outcome == Outcome::ack) backoff.reset();
    }
    if (key_requests) key_requests->attach(nullptr);
    const grpc::Status status = stream->Finish();
    {
      std::lock_guard lock(signal->mutex);
      signal->context = nullptr;
    }
    on_disconnected(connected, answered, status);
  }

  // Logging says each change of state once: a stream that opens and ends
  // again without an update, with the same status as the previous end (e.g.
  // UNAUTHENTICATED after each hello, or UNAVAILABLE while tg-control is
  // down), is a repeat and goes to debug.
  void on_connected(const v1::Welcome& welcome) {
    {
      std::lock_guard lock(status_mutex);
      status.connected = true;
      ++status.connects;
    }
    const auto level = logged_down && last_stream_idle ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "connected to tg-control {} (registry {}, newest {}.{}) as node {} (boot {}, serving {})",
                options.address, welcome.registry_id(), welcome.newest().generation(), welcome.newest().counter(),
                options.node_id, boot_id,
                applied.empty() ? std::string("no pushed table")
                                : "version " + tg::to_string(applied) +
                                      (registry_id.empty() ? std::string() : " of registry " + registry_id));
    if (!registry_id.empty() && welcome.registry_id() != registry_id)
      spdlog::error("tg-control {} holds registry {}, but this proxy serves registry {}: its tables will be refused "
                    "unless that registry adopts this one (tgctl registry adopt {})",
                    options.address, welcome.registry_id(), registry_id, registry_id);
  }

  void on_disconnected(bool was_connected, bool answered, const grpc::Status& status_of_call) {
    {
      std::lock_guard lock(status_mutex);
      status.connected = false;
      if (was_connected) ++status.disconnects;
    }
    if (stopping()) return;
    const grpc::StatusCode code = status_of_call.error_code();
    const bool repeat = logged_down && code == logged_code && !answered;
    if (repeat) {
      spdlog::debug("tg-control {}: {} again", options.address, status_text(status_of_call));
    } else if (code == grpc::StatusCode::UNAUTHENTICATED) {
      spdlog::error("tg-control {} refused this proxy's token ({}): {}; retrying (backoff up to {}), still serving {}",
                    options.address, status_text(status_of_call),
                    options.token.empty() ? "it requires one: pass --control-token-file FILE"
                                          : "check the token in --control-token-file against tg-control's --token-file",
                    duration_text(options.backoff.max),
                    applied.empty() ? std::string("its current table") : "version " + tg::to_string(applied));
    } else if (was_connected) {
      spdlog::warn("stream to tg-control {} ended: {}; reconnecting (backoff up to {})", options.address,
                   status_text(status_of_call), duration_text(options.backoff.max));
    } else {
      spdlog::warn("cannot reach tg-control {}: {}; retrying (backoff up to {}), still serving {}", options.address,
                   status_text(status_of_call), duration_text(options.backoff.max),
                   applied.empty() ? std::string("its current table") : "version " + tg::to_string(applied));
    }
    logged_down = true;
    logged_code = code;
    last_stream_idle = !answered;
  }

  // Switches every worker to `next`; waits for all, at most switch_timeout.
  // `switched` is set when the last worker switched (also after a timeout).
  Outcome switch_workers(std::shared_ptr<const Snapshot> next, const std::shared_ptr<bool>& switched,
                         std::string& error) {
    install(std::move(next), [signal = signal, switched] {
      {
        std::lock_guard lock(signal->mutex);
        *switched = true;
      }
      signal->cv.notify_all();
    });
    return wait_switched(switched, error);
  }

  // Waits at most switch_timeout for a switch posted before. A timeout is a
  // nack whose table is not refused (retryable).
  Outcome wait_switched(const std::shared_ptr<bool>& switched, std::string& error) {
    std::unique_lock lock(signal->mutex);
    signal->cv.wait_for(lock, options.switch_timeout, [&] { return *switched || signal->stopping; });
    if (*switched) return Outcome::ack;
    if (signal->stopping) return Outcome::stopped;
    error = "workers did not switch within " + duration_text(options.switch_timeout) +
            " (the table is kept; tg-control sends it again)";
    return Outcome::nack;
  }

  // An exception while building (e.g. out of memory) NACKs the update
  // instead of ending the process; the previous table keeps serving.
  Outcome apply_guarded(const v1::StreamTableResponse& update, v1::StreamTableRequest& answer) {
    try {
      return apply(update, answer);
    } catch (const std::exception& e) {
      answer.Clear();
      v1::Nack* nack = answer.mutable_nack();
      *nack->mutable_version() = update.version();
      nack->set_reason(std::string("internal error while applying: ") + e.what());
      count(update.update_case() != v1::StreamTableResponse::kHealth, false);
      spdlog::error("NACK update version {}.{}: {}", update.version().generation(), update.version().counter(),
                    nack->reason());
      return Outcome::nack;
    }
  }

  Outcome apply(const v1::StreamTableResponse& update, v1::StreamTableRequest& answer) {
    const TableVersion version = table::from_proto(update.version());
    const bool is_config = update.update_case() != v1::StreamTableResponse::kHealth;
    const bool is_delta = update.update_case() == v1::StreamTableResponse::kDelta;
    std::string error;
    std::shared_ptr<const Snapshot> next;
    table::EntryUndo undo;  // a delta's changes to `entries`, put back unless it is applied
    bool delta_unusable = false;  // the delta could not be applied on `entries` (vs a table refused)
    // The same version again after its switch timed out: its snapshot is
    // posted already; only the wait is repeated.
    const bool retry = unconfirmed && unconfirmed->version == version &&
                       unconfirmed->registry_id == update.registry_id() && unconfirmed->digest == update.digest();
    if (!retry) unconfirmed.reset();
    const UpdateCheck check = check_update(ServedTable{registry_id, applied, digest}, update);
    if (check.refusal != Refusal::none) {
      error = check.reason;
      refused(check.refusal);
      delta_unusable = is_delta && check.refusal == Refusal::base_mismatch;
    } else if (update.update_case() == v1::StreamTableResponse::kConfig) {
      next = retry ? unconfirmed->snapshot : build_table(update.config(), version, error);
    } else if (is_delta) {
      delta_unusable = true;
      if (!have_table) {
        error = "delta update " + tg::to_string(version) + ": this proxy holds no pushed table to apply it on";
        refused(Refusal::base_mismatch);
      } else if (!entries.apply(update.delta(), undo, error)) {
        error = "delta update " + tg::to_string(version) + ": " + error;
        refused(Refusal::malformed);
      } else if (entries.digest() != update.digest()) {
        error = "delta update " + tg::to_string(version) + ": the table it gives has digest " +
                table::digest_text(entries.digest()) + ", not " + table::digest_text(update.digest());
        refused(Refusal::digest_mismatch);
      } else if (retry) {
        delta_unusable = false;
        next = unconfirmed->snapshot;
      } else if (undo.steps.empty()) {
        delta_unusable = false;
        // Nothing changed (tg-control restarted and relabels the same table):
        // the snapshot is the current one under the new version.
        next = Snapshot::with_states(*current, {}, current->version + 1, version);
      } else {
        delta_unusable = false;  // applied: what follows judges the table, not the delta
        next = apply_delta(update.delta(), version, error);
      }
    } else if (update.update_case() == v1::StreamTableResponse::kHealth) {
      next = retry ? unconfirmed->snapshot
                   : Snapshot::with_states(*current, to_changes(update.health()), current->version + 1, version);
    } else {
      error = "update carries neither config nor health";
    }

    Outcome outcome = Outcome::nack;
    bool timed_out = false;  // a retryable nack: the table is not refused
    if (next) {
      const std::shared_ptr<bool> switched = retry ? unconfirmed->switched : std::make_shared<bool>(false);
      outcome = retry ? wait_switched(switched, error) : switch_workers(next, switched, error);
      timed_out = outcome == Outcome::nack;
      if (timed_out) {
        unconfirmed = Unconfirmed{version, update.registry_id(), update.digest(), next, switched};
      } else {
        unconfirmed.reset();
      }
    }
    if (outcome != Outcome::ack && is_delta) entries.undo(undo);
    if (outcome == Outcome::stopped) return outcome;
    // After a timed-out switch the workers still get `next` (posted): it is
    // what they serve from now on, but its version is not claimed as applied.
    if (next) current = next;
    if (outcome == Outcome::nack) {
      if (error.empty()) error = "cannot build the table";
      v1::Nack* nack = answer.mutable_nack();
      *nack->mutable_version() = table::to_proto(version);
      nack->set_reason(error);
      nack->set_delta_unusable(delta_unusable);
      nack->set_retryable(timed_out);
      count(is_config, false);
      spdlog::log(check.refusal != Refusal::none ? spdlog::level::err : spdlog::level::warn,
                  "NACK {} update version {} from tg-control {}: {}; still serving {}", is_config ? "config" : "health",
                  tg::to_string(version), options.address, error,
                   applied.empty() ? std::string("the previous table") : "version " + tg::to_string(applied));
      return outcome;
    }

    applied = version;
    table_snapshot = next;
    registry_id = update.registry_id();
    digest = update.digest();
    if (is_config) {
      if (!is_delta) {
        std::string load_error;
        have_table = entries.load(update.config(), load_error);
        if (!have_table) spdlog::warn("table version {}: cannot keep it as entries ({}): deltas will be refused",
                                      tg::to_string(version), load_error);
      }
      pending_save = PendingSave::config;
      spdlog::info("applied {} version {} from tg-control ({} services, {} instances, {} routes)",
                   is_delta ? "delta to table" : "table", tg::to_string(version), next->services.size(),
                   next->instances.size(), next->routes.size());
    } else {
      if (have_table) entries.apply(update.health());
      if (have_table) pending_save = PendingSave::health;
      spdlog::debug("applied health update version {} ({} instance(s))", tg::to_string(version),
                    update.health().instances_size());
    }
    v1::Ack* ack = answer.mutable_ack();
    *ack->mutable_version() = table::to_proto(version);
    count(is_config, true);
    return outcome;
  }

  void count(bool is_config, bool acked) {
    std::lock_guard lock(status_mutex);
    if (acked) {
      ++(is_config ? status.config_acks : status.health_acks);
      status.applied = applied;
      status.registry_id = registry_id;
      status.last_update_unix_ms = unix_ms_now();
      status.from_state_dir = false;
    } else {
      ++(is_config ? status.config_nacks : status.health_nacks);
    }
  }

  void refused(Refusal refusal) {
    std::lock_guard lock(status_mutex);
    ++status.refusals[static_cast<std::size_t>(refusal)];
  }

  // A pushed table's snapshot; null with `error` when it does not build.
  std::shared_ptr<const Snapshot> build_table(const std::string& bytes, const TableVersion& version,
                                              std::string& error) {
    v1::Table pushed;
    config::Config config;
    if (!pushed.ParseFromString(bytes)) {
      error = "config update: not a valid tenantgate.v1.Table";
      return nullptr;
    }
    if (!to_config(pushed, config, error)) {
      refused(Refusal::invalid);
      return nullptr;
    }
    return Snapshot::build(config, current->version + 1, "tg-control " + options.address, error, version,
                           current.get());
  }

  // A delta's table (already in `entries`): the served snapshot with the
  // changed objects swapped in, or, when the served snapshot is not the one
  // of `entries`, the table built whole.
  std::shared_ptr<const Snapshot> apply_delta(const v1::TableDelta& delta, const TableVersion& version,
                                              std::string& error) {
    TableChange change;
    const bool converted = to_table_change(delta, change, error);
    // Phase 4's tables (limits, credentials) are built from the whole table:
    // a change to a tenant, to an admission setting, or (when the table has
    // such settings) to the routes and services they are keyed by, is built
    // whole too. Every table with tenants has an auth index; only routes
    // with auth are keyed into it.
    const bool keyed = current && (current->limits || (current->auth && current->auth->any_route_requires_auth()));
    const bool admission = converted && (change.admission || (keyed &&
                                                              (!change.routes.empty() || !change.removed_routes.empty() ||
                                                               !change.services.empty() || !change.removed_services.empty())));
    if (!table_snapshot || table_snapshot != current || admission) {
      built_whole = true;
      return build_table(entries.serialize(), version, error);
    }
    std::shared_ptr<const Snapshot> next;
    if (converted) next = Snapshot::apply(*current, change, current->version + 1, version, error);
    if (!next) {
      error = "delta update " + tg::to_string(version) + ": " + error;
      refused(Refusal::invalid);
    }
    return next;
  }

  // The saved table is written after the ACK went out (an ACK says the
  // workers switched, not that the disk has it), by the StateWriter: a full
  // update hands over its bytes (moved out of `update`), a delta or a health
  // update only the entries it changed; the writer applies them on the file
  // off this loop, config changes at once, health changes within a second.
  // A proxy restarted before that names its older saved version in the hello
  // and tg-control sends what changed since.
  void save_after_answer(v1::StreamTableResponse& update) {
    const PendingSave kind = std::exchange(pending_save, PendingSave::none);
    if (kind == PendingSave::none || options.state_dir.empty()) return;
    StateWriter& w = state_writer();
    if (w.needs_table()) {
      // A write found no usable base: the whole table, once.
      w.submit_table(SavedTable{applied, registry_id, digest, entries.serialize()});
      return;
    }
    if (kind == PendingSave::config && update.has_config()) {
      w.submit_table(SavedTable{applied, registry_id, digest, std::move(*update.mutable_config())});
    } else if (kind == PendingSave::config) {
      w.submit_changes(applied, registry_id, digest, delta_changes(update.delta()), true);
    } else {
      EntryChanges changes;
      for (const v1::InstanceState& state : update.health().instances())
        if (const std::string* entry = entries.find(table::instances, state.id()))
          changes[{table::instances, state.id()}] = *entry;
      w.submit_changes(applied, registry_id, digest, std::move(changes), false);
    }
  }

  StateWriter& state_writer() {
    if (!writer) {
      writer = std::make_unique<StateWriter>(options.state_dir, [this](const TableVersion& v, const std::string& e) {
        if (e.empty()) return;
        {
          std::lock_guard lock(status_mutex);
          ++status.state_save_failures;
        }
        spdlog::warn("cannot save table version {} in --state-dir: {}", tg::to_string(v), e);
      });
    }
    return *writer;
  }

  void load_failed(const std::string& error) {
    {
      std::lock_guard lock(status_mutex);
      ++status.state_load_failures;
    }
    spdlog::warn("ignoring the saved table: {}", error);
  }
};

ControlClient::ControlClient(ControlOptions options) : state_(std::make_unique<State>(std::move(options))) {}

ControlClient::~ControlClient() {
  stop();
  join();
}

std::shared_ptr<const Snapshot> ControlClient::saved_table(std::uint64_t version) {
  State& s = *state_;
  if (s.options.state_dir.empty()) return nullptr;
  SavedTable saved;
  std::string error;
  const LoadStatus loaded = load_state(s.options.state_dir, saved, error);
  if (loaded == LoadStatus::absent) return nullptr;
  if (loaded == LoadStatus::corrupt) {
    s.load_failed(error);
    return nullptr;
  }
  const std::string path = state_file_path(s.options.state_dir);
  v1::Table table;
  config::Config config;
  if (!table.ParseFromString(saved.table)) {
    s.load_failed(path + ": not a valid tenantgate.v1.Table");
    return nullptr;
  }
  if (!to_config(table, config, error)) {
    s.load_failed(path + ": " + error);
    return nullptr;
  }
  auto snapshot = Snapshot::build(config, version, "tg-control " + s.options.address + " (saved in " + path + ")",
                                  error, saved.version);
  if (!snapshot) {
    s.load_failed(path + ": " + error);
    return nullptr;
  }
  s.have_table = s.entries.load(saved.table, error);
  s.table_snapshot = snapshot;
  if (!s.have_table) spdlog::warn("{}: cannot keep the saved table as entries ({}): deltas will be refused", path, error);
  s.applied = saved.version;
  s.registry_id = saved.registry_id;
  s.digest = saved.digest;
  std::lock_guard lock(s.status_mutex);
  s.status.applied = saved.version;
  s.status.registry_id = saved.registry_id;
  s.status.from_state_dir = true;
  return snapshot;
}

void ControlClient::start(std::shared_ptr<const Snapshot> serving, std::string listen, InstallFn install) {
  State& s = *state_;
  release_free_memory();  // what saved_table() parsed and converted
  s.current = std::move(serving);
  s.listen = std::move(listen);
  s.install = std::move(install);
  s.stub = v1::Discovery::NewStub(open_control_channel(s.options.address));
  s.key_requests = std::make_unique<KeyRequests>(s.write_mutex);
  thread_ = std::thread([this] { state_->run(); });
}

void ControlClient::stop() {
  Signal& signal = *state_->signal;
  {
    std::lock_guard lock(signal.mutex);
    signal.stopping = true;
    if (signal.context) signal.context->TryCancel();
  }
  signal.cv.notify_all();
}

void ControlClient::join() {
  if (thread_.joinable()) thread_.join();
}

FeedStatus ControlClient::status() const {
  std::lock_guard lock(state_->status_mutex);
  return state_->status;
}

void ControlClient::request_key(const std::string& tenant, const std::string& kid) {
  if (state_->key_requests) state_->key_requests->submit(tenant, kid);
}

std::string ControlClient::name() const { return "tg-control " + state_->options.address; }

const std::string& ControlClient::boot_id() const { return state_->boot_id; }

}  // namespace tg::proxy::subscription
