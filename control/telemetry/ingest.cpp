#include "telemetry/ingest.hpp"

#include "telemetry/batch.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace tg::control::telemetry {
namespace {

namespace v1 = tenantgate::v1;

v1::TelemetryAck ack(std::uint64_t seq, v1::TelemetryResult result, std::string reason = {}) {
  v1::TelemetryAck a;
  a.set_seq(seq);
  a.set_result(result);
  a.set_reason(std::move(reason));
  return a;
}

}  // namespace

Ingest::Ingest(const Clock& clock, Submit submit, IngestOptions options)
    : clock_(clock), submit_(std::move(submit)), cap_(options.max_series_per_tenant) {}

void Ingest::load(const std::vector<TelemetryMark>& marks, const std::vector<SeriesKey>& series,
                  const std::vector<RollupRow>& last_hour) {
  for (const TelemetryMark& m : marks) marks_[{m.node_id, m.boot_id}] = m.seq;
  cap_.load(series);
  const std::int64_t now = clock_.unix_ms();
  for (const RollupRow& row : last_hour) window_.add(row.series, row.minute_unix_ms, row.counters, now);
}

std::optional<std::uint64_t> Ingest::mark(const std::string& node_id, const std::string& boot_id) const {
  auto it = marks_.find({node_id, boot_id});
  if (it == marks_.end()) return std::nullopt;
  return it->second;
}

const Window& Ingest::window() {
  window_.prune(clock_.unix_ms());
  return window_;
}

void Ingest::receive(const v1::TelemetryBatch& batch, Done done) {
  const std::int64_t received = clock_.unix_ms();
  if (std::string problem = batch_problem(batch); !problem.empty()) {
    ++counters_.refused;
    spdlog::warn("tg-control: telemetry batch {} from {} refused: {}", batch.seq(), batch.node_id().substr(0, 128),
                 problem);
    done(ack(batch.seq(), v1::TELEMETRY_RESULT_REFUSED, std::move(problem)), Status{});
    return;
  }
  if (auto known = mark(batch.node_id(), batch.boot_id()); known && batch.seq() <= *known) {
    ++counters_.duplicate;
    done(ack(batch.seq(), v1::TELEMETRY_RESULT_DUPLICATE), Status{});
    return;
  }
  const Placement placement = place(batch, received);
  const std::int64_t minute = minute_of(placement.time_unix_ms);
  TelemetryCommit commit;
  commit.node_id = batch.node_id();
  commit.boot_id = batch.boot_id();
  commit.seq = batch.seq();
  commit.received_unix_ms = received;
  // Deltas of one series (or of several folded into one overflow series)
  // become one RollupDelta.
  std::map<SeriesKey, std::size_t> index;
  for (const v1::SeriesDelta& d : batch.series()) {
    bool folded = false;
    SeriesKey key = cap_.admit(SeriesKey{d.tenant(), d.route(), d.service(), d.instance()}, &folded);
    if (folded) ++counters_.overflow;
    auto [it, added] = index.emplace(key, commit.deltas.size());
    if (added) {
      RollupDelta delta;
      delta.series = std::move(key);
      delta.minute_unix_ms = minute;
      commit.deltas.push_back(std::move(delta));
    }
    RollupDelta& delta = commit.deltas[it->second];
    delta.counters.add(counters_of(d));
    const auto add_named = [](NamedCounts& to, const google::protobuf::Map<std::string, std::uint64_t>& from) {
      for (const auto& [name, n] : from) {
        if (n == 0) continue;
        bool merged = false;
        for (auto& [have, count] : to)
          if (have == name) {
            count += n;
            merged = true;
            break;
          }
        if (!merged) to.emplace_back(name, n);
      }
    };
    add_named(delta.error_kinds, d.gateway_errors());
    add_named(delta.fates, d.fates());
  }
  for (const v1::TelemetryEvent& e : batch.events()) {
    EventRecord event;
    event.time_unix_ms = e.time_unix_ms();
    event.source = "proxy:" + batch.node_id();
    event.kind = e.kind();
    event.level = e.level();
    event.tenant = e.tenant();
    event.service = e.service();
    event.instance = e.instance();
    event.route = e.route();
    event.fingerprint = e.fingerprint();
    event.message = e.message();
    event.detail_json = e.detail_json().empty() ? "{}" : e.detail_json();
    commit.events.push_back(std::move(event));
  }
  // What the window gets once stored (the deltas move into the batch).
  // Shared, not copied, by the completion (std::function copies its target).
  auto window_deltas = std::make_shared<std::vector<WindowDelta>>();
  window_deltas->reserve(commit.deltas.size());
  for (const RollupDelta& d : commit.deltas) {
    std::uint64_t timeouts = 0;
    for (const auto& [kind, n] : d.error_kinds)
      if (kind == "timeout") timeouts += n;  // the access log's name of an upstream timeout
    window_deltas->push_back(WindowDelta{d.series, d.counters, timeouts});
  }
  CommitBatch batch_out;
  batch_out.telemetry.push_back(std::move(commit));
  // The batch itself stays for the lag and drop figures (small fields only).
  auto meta = std::make_shared<v1::TelemetryBatch>();
  meta->set_node_id(batch.node_id());
  meta->set_interval_start_unix_ms(batch.interval_start_unix_ms());
  meta->set_interval_ms(batch.interval_ms());
  meta->set_dropped_batches(batch.dropped_batches());
  meta->set_seq(batch.seq());
  submit_(std::move(batch_out),
          [this, meta, window_deltas, placed = placement.time_unix_ms,
           late = placement.late, skewed = placement.skewed, done = std::move(done)](const Status& status,
                                                                                     CommitBatch&& committed) {
            if (!status.ok()) {
              ++counters_.failed;
              done(std::nullopt, status);
              return;
            }
            const TelemetryCommit& c = committed.telemetry.front();
            if (c.duplicate) {
              ++counters_.duplicate;
              done(ack(c.seq, v1::TELEMETRY_RESULT_DUPLICATE), Status{});
              return;
            }
            if (skewed) ++counters_.skewed;
            stored(c, *meta, *window_deltas, placed, late);
            done(ack(c.seq, v1::TELEMETRY_RESULT_STORED), Status{});
          });
}

void Ingest::stored(const TelemetryCommit& commit, const v1::TelemetryBatch& batch,
                    const std::vector<WindowDelta>& window_deltas,
                    std::int64_t placed_unix_ms, bool late) {
  ++counters_.stored;
  if (late) ++counters_.late;
  std::uint64_t& mark = marks_[{commit.node_id, commit.boot_id}];
  if (commit.seq > mark) mark = commit.seq;
  const std::int64_t now = clock_.unix_ms();
  for (const auto& [key, counters, timeouts] : window_deltas) {
    window_.add(key, placed_unix_ms, counters, now, timeouts);
    if (!key.instance_series()) totals_[{key.tenant, key.service}].add(counters);
  }
  window_.reported(commit.node_id, placed_unix_ms);
  Proxy& proxy = proxies_[commit.node_id];
  proxy.lag_ms = commit.received_unix_ms -
                 (batch.interval_start_unix_ms() + static_cast<std::int64_t>(batch.interval_ms()));
  proxy.dropped_batches = batch.dropped_batches();
  proxy.last_unix_ms = now;
}

}  // namespace tg::control::telemetry
