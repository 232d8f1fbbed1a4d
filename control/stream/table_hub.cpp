#include "stream/table_hub.hpp"

#include "stream/version_proto.hpp"
#include "table/table_digest.hpp"
#include "text/node_id.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tg::control {
namespace {

// What a proxy reports is kept while tg-control runs: bounded.
std::string bounded(const std::string& text, std::size_t limit = 256) { return text.substr(0, limit); }

}  // namespace

TableHub::TableHub(const Registry& registry, const Clock& clock, DebounceTimer& timer, TableHubOptions options,
                   TableMetrics* metrics)
    : clock_(clock),
      timer_(timer),
      options_(std::move(options)),
      metrics_(metrics),
      state_(registry,
             TableStateOptions{options_.registry_id, options_.adopted, options_.fleet_ahead, options_.accept_restore,
                               options_.max_health_versions, options_.min_compact_instances,
                               options_.max_delta_versions, options_.max_delta_keys, options_.tenant_keys},
             metrics) {
  arm_sweep();
}

TableHub::~TableHub() {
  timer_.cancel();
  if (options_.sweep_timer) options_.sweep_timer->cancel();
}

// ---- changes -----------------------------------------------------------------

void TableHub::on_commit(const CommitBatch& batch) {
  if (state_.take(batch)) arm();
}

void TableHub::refresh_tenant(const std::string& id) {
  if (state_.refresh_tenant(id)) arm();
}

void TableHub::arm() {
  if (armed_ || shut_down_) return;
  armed_ = true;
  timer_.arm(options_.debounce, [this] { publish(); });
}

void TableHub::publish() {
  armed_ = false;
  if (!state_.publish()) return;
  for (auto& [id, connection] : connections_) send_next(id, connection);
}

// ---- streams -----------------------------------------------------------------

void TableHub::send_next(SubscriberId id, Connection& c) {
  if (c.node_id.empty() || c.writing || !c.outstanding.empty() || lift_pending_) return;
  const TableVersion newest = state_.newest();
  const bool own = c.registry_id == state_.registry_id();
  if (own && c.applied == newest) return;
  ProxyRecord& record = record_of(c.node_id);
  if (!record.fenced.empty()) return;
  if (!may_send_newest(record)) return;
  v1::UpdateKind kind = v1::UPDATE_KIND_FULL;
  // Null while changes wait for the debounce: publish() sends the next version.
  std::shared_ptr<const TableUpdate> update = state_.update_for(own, c.applied, c.digest, !c.no_delta, &kind);
  if (!update) return;
  if (record.last_nack && from_proto(record.last_nack->version()) == newest) {
    ++record.retries;
    if (metrics_) ++metrics_->resends;
    spdlog::info("tg-control: sending table {} to proxy {} again (retry {} after a retryable NACK)", to_string(newest),
                 c.node_id, record.retries);
  }
  c.outstanding = newest;
  c.outstanding_kind = kind;
  record.sent = newest;
  if (metrics_) {
    const std::uint64_t bytes = update->bytes().size();
    switch (kind) {
      case v1::UPDATE_KIND_HEALTH:
        ++metrics_->health_sent;
        metrics_->health_bytes_sent += bytes;
        break;
      case v1::UPDATE_KIND_DELTA:
        ++metrics_->delta_sent;
        metrics_->delta_bytes_sent += bytes;
        break;
      default:
        ++metrics_->config_sent;
        metrics_->config_bytes_sent += bytes;
        break;
    }
  }
  write(c, std::move(update));
}

bool TableHub::may_send_newest(const ProxyRecord& record) const {
  if (!record.last_nack || from_proto(record.last_nack->version()) != state_.newest()) return true;
  return record.nack_retryable && clock_.steady() >= record.retry_at;
}

void TableHub::write(Connection& c, std::shared_ptr<const TableUpdate> update) {
  c.writing = true;
  c.write_started = clock_.steady();
  c.write_bytes = update->bytes().size();
  c.subscriber->send(std::move(update));
}

std::string short_boot_id(const std::string& boot_id) { return boot_id.substr(0, 8); }

void TableHub::connect(SubscriberId id, TableSubscriber& subscriber, std::string peer, std::string actor) {
  if (shut_down_) {
    subscriber.finish(Status{Code::unavailable, "tg-control is shutting down"});
    return;
  }
  Connection& c = connections_[id];
  c.subscriber = &subscriber;
  c.peer = std::move(peer);
  c.actor = std::move(actor);
  c.opened = clock_.steady();
  // Every record needs a stream: node ids churning between two sweeps stay
  // within max_disconnected too.
  if (disconnected_.size() > options_.limits.max_disconnected) drop_records(c.opened);
}

void TableHub::receive(SubscriberId id, const v1::StreamTableRequest& request) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (c.node_id.empty()) {
    if (!request.has_hello()) {
      invalid(id, Status::invalid("StreamTableRequest", "the first message must be a hello"));
    } else {
      hello(id, c, request.hello());
    }
    return;
  }
  record_of(c.node_id).last_seen_unix_ms = clock_.unix_ms();
  answer(id, c, request);
}

void TableHub::hello(SubscriberId id, Connection& c, const v1::Hello& hello) {
  const std::string& node = hello.node_id();
  if (!valid_node_id(node)) {
    invalid(id, Status::invalid("hello.node_id", "must match [A-Za-z0-9_.:-]{1,128}"));
    return;
  }
  auto existing = proxies_.find(node);
  if (existing != proxies_.end() && existing->second.connection &&
      !take_over(id, c, existing->second, node, bounded(hello.boot_id())))
    return;
  const std::int64_t now = clock_.unix_ms();
  ProxyRecord& record = record_of(node);
  forget_disconnected(node, record);
  record.boot_id = bounded(hello.boot_id());
  record.address = c.peer;
  record.listen = bounded(hello.listen());
  record.proxy_version = bounded(hello.proxy_version());
  record.connection = id;
  record.connected_since_unix_ms = now;
  record.last_seen_unix_ms = now;
  c.node_id = node;
  c.applied = hello.has_applied() ? from_proto(hello.applied()) : TableVersion{};
  c.registry_id = c.applied.empty() ? std::string() : bounded(hello.registry_id(), 128);
  record.applied = c.applied;
  record.sent = c.applied;
  record.registry_id = c.registry_id;
  record.digest = hello.digest();
  c.digest = hello.digest();
  record.fenced.clear();
  if (metrics_) ++metrics_->subscribers;
  spdlog::info("tg-control: proxy {} connected (boot {}, {}), serving {}{}", node, record.boot_id, c.peer,
               c.applied.empty() ? std::string("nothing") : to_string(c.applied),
               c.registry_id.empty() || c.registry_id == state_.registry_id()
                   ? std::string()
                   : " of registry " + c.registry_id + " (not this one: " + state_.registry_id() + ")");
  // The welcome tells the proxy its hello was accepted; updates follow it
  // once it is written (write_done).
  v1::StreamTableResponse welcome;
  welcome.mutable_welcome()->set_registry_id(state_.registry_id());
  to_proto(state_.newest(), welcome.mutable_welcome()->mutable_newest());
  write(c, std::make_shared<const TableUpdate>(std::move(welcome)));
  check_fleet(record, node);
}

// The newer stream replaces the connected one of `node`, unless the node id
// flaps between two live streams.
bool TableHub::take_over(SubscriberId id, const Connection& c, ProxyRecord& record, const std::string& node,
                         const std::string& boot_id) {
  const SubscriberId older = *record.connection;
  if (record.boot_id == boot_id) {
    // The same process reconnected before its old stream was noticed dead.
    end(older, Status{Code::aborted, "replaced by a new stream of the same proxy"});
    return true;
  }
  const auto now = clock_.steady();
  while (!record.replacements.empty() && now - record.replacements.front() >= options_.node_flap_window)
    record.replacements.pop_front();
  const std::string peers = "boot " + short_boot_id(record.boot_id) + " from " + record.address +
                            " (connected) and boot " + short_boot_id(boot_id) + " from " + c.peer + " (this stream)";
  if (record.replacements.size() >= options_.max_node_replacements) {
    if (metrics_) ++metrics_->refused_node_clash;
    const std::string message = "node id \"" + node + "\" changed hands " +
                                std::to_string(record.replacements.size()) + " times within " +
                                std::to_string(options_.node_flap_window.count()) +
                                " ms between two live proxies: " + peers +
                                "; give each proxy its own node id";
    spdlog::warn("tg-control: table stream refused: {}", message);
    end(id, Status::exists(message));
    return false;
  }
  record.replacements.push_back(now);
  if (metrics_) ++metrics_->node_replacements;
  spdlog::warn("tg-control: proxy {}: a newer connection replaces the connected one: {}{}", node, peers,
               c.actor.empty() ? std::string() : ", token " + c.actor);
  end(older, Status{Code::aborted, "replaced by a newer connection of node " + node + " from " + c.peer});
  return true;
}

// What the version a proxy serves tells about this database (TableState::judge).
void TableHub::check_fleet(ProxyRecord& record, const std::string& node) {
  const FleetVerdict verdict = state_.judge(record.registry_id, record.applied, record.digest);
  if (verdict.action == FleetVerdict::none) return;
  if (verdict.action == FleetVerdict::lift) {
    spdlog::warn("tg-control: proxy {} serves {} (digest {}) of this registry, which this database never had; "
                 "--accept-restore: lifting the generation above the fleet",
                 node, to_string(record.applied), table::digest_text(record.digest));
    lift_generation();
    return;
  }
  record.fenced = verdict.reason;
  spdlog::error("tg-control: proxy {}: {}", node, record.fenced);
  if (verdict.mark_raised && options_.commit_identity) {
    const std::uint64_t mark = record.applied.generation;
    IdentityChange change;
    change.fleet_ahead = mark;
    AuditRecord audit{clock_.unix_ms(), system_actor, "DatabaseOlderThanFleet", "registry", state_.registry_id(),
                      "", "{\"fleet_generation\":" + std::to_string(mark) + ",\"proxy\":\"" + node + "\"}"};
    options_.commit_identity(std::move(change), std::move(audit), [](bool) {});
  }
  count_fenced();
}

void TableHub::lift_generation() {
  if (lift_pending_) return;
  const std::uint64_t from = state_.newest().generation;
  const std::uint64_t target = state_.lift_target();
  lift_pending_ = true;
  auto lifted = [this, from, target](bool ok) {
    lift_pending_ = false;
    if (!ok) {
      spdlog::error("tg-control: the generation lift to {} was not committed; proxies stay where they are", target);
      return;
    }
    spdlog::warn("tg-control: generation lifted from {} to {} (--accept-restore); every proxy gets this database's "
                 "table",
                 from, target);
    state_.lifted(target);
    for (auto& [node, record] : proxies_) record.fenced.clear();
    count_fenced();
    timer_.cancel();
    publish();
    // A proxy that reported an even newer version meanwhile.
    for (const auto& [id, c] : connections_)
      if (c.registry_id == state_.registry_id() && c.applied > state_.newest()) {
        state_.reported(c.applied);
        lift_generation();
        break;
      }
  };
  if (!options_.commit_identity) {
    lifted(true);
    return;
  }
  IdentityChange change;
  change.generation = target;
  change.fleet_ahead = 0;
  AuditRecord audit{clock_.unix_ms(), system_actor, "AcceptRestore", "registry", state_.registry_id(),
                    "{\"generation\":" + std::to_string(from) + "}", "{\"generation\":" + std::to_string(target) + "}"};
  options_.commit_identity(std::move(change), std::move(audit), std::move(lifted));
}

void TableHub::count_fenced() {
  if (!metrics_) return;
  std::uint64_t fenced = 0;
  for (const auto& [node, record] : proxies_) fenced += record.connection && !record.fenced.empty() ? 1 : 0;
  metrics_->fenced_proxies = fenced;
}

void TableHub::adopt(const std::string& id, const std::string& actor, std::function<void(const Status&)> done) {
  if (Status adoptable = state_.check_adoptable(id); !adoptable.ok()) {
    done(adoptable);
    return;
  }
  if (state_.is_adopted(id)) {
    done(Status{});
    return;
  }
  auto adopted = [this, id, done = std::move(done)](bool ok) {
    if (!ok) {
      done(Status::internal("the adoption was not committed"));
      return;
    }
    state_.adopted(id);
    spdlog::warn("tg-control: registry {} adopted: its proxies take this registry's ({}) table from now on", id,
                 state_.registry_id());
    arm();
    done(Status{});
  };
  if (!options_.commit_identity) {
    adopted(true);
    return;
  }
  IdentityChange change;
  change.adopted.push_back(id);
  change.time_unix_ms = clock_.unix_ms();
  AuditRecord audit{clock_.unix_ms(), actor, "AdoptRegistry", "registry", id, "",
                    "{\"adopted_by\":\"" + state_.registry_id() + "\"}"};
  options_.commit_identity(std::move(change), std::move(audit), std::move(adopted));
}

void TableHub::answer(SubscriberId id, Connection& c, const v1::StreamTableRequest& request) {
  if (request.has_hello()) {
    invalid(id, Status::invalid("StreamTableRequest.hello", "sent twice on one stream"));
    return;
  }
  if (!request.has_ack() && !request.has_nack()) {
    invalid(id, Status::invalid("StreamTableRequest", "empty (neither hello, ack nor nack)"));
    return;
  }
  const bool ack = request.has_ack();
  const TableVersion version = from_proto(ack ? request.ack().version() : request.nack().version());
  if (c.outstanding.empty() || version != c.outstanding) {
    invalid(id, Status::invalid(ack ? "ack.version" : "nack.version",
                            to_string(version) + " is not the version awaiting an answer (" +
                                (c.outstanding.empty() ? std::string("none") : to_string(c.outstanding)) + ")"));
    return;
  }
  ProxyRecord& record = record_of(c.node_id);
  c.outstanding = {};
  record.last_kind = std::exchange(c.outstanding_kind, v1::UPDATE_KIND_UNSPECIFIED);
  record.last_bytes = c.write_bytes;
  record.last_apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady() - c.write_started).count();
  if (!ack && record.last_kind == v1::UPDATE_KIND_DELTA && request.nack().delta_unusable()) {
    // A delta the proxy could not apply (its table is not the base it named,
    // or the result missed the digest): the same version follows in full.
    spdlog::warn("tg-control: proxy {} refused the delta to table {} ({}); sending the full table",
                 c.node_id, to_string(version), bounded(request.nack().reason(), 4096));
    c.no_delta = true;
    if (metrics_) ++metrics_->delta_refused;
    send_next(id, c);
    return;
  }
  if (ack) {
    if (record.last_kind != v1::UPDATE_KIND_DELTA) c.no_delta = false;
    c.applied = version;
    c.registry_id = state_.registry_id();
    record.applied = version;
    record.registry_id = state_.registry_id();
    record.digest = state_.digest_of(version);
    c.digest = record.digest;
    record.retries = 0;
    record.nack_retryable = false;
    if (metrics_) ++metrics_->acks;
  } else {
    v1::ProxyNack nack;
    to_proto(version, nack.mutable_version());
    nack.set_reason(bounded(request.nack().reason(), 4096));
    nack.set_time_unix_ms(clock_.unix_ms());
    const bool same_version = record.last_nack && from_proto(record.last_nack->version()) == version;
    if (!same_version) record.retries = 0;
    record.nack_retryable = request.nack().retryable();
    ++record.nacks;
    if (metrics_) ++metrics_->nacks;
    if (record.nack_retryable) {
      // Not a refusal: the proxy holds the table and could not confirm it in
      // time. The same version goes again after a back-off (sweep()).
      auto delay = options_.retry_backoff;
      for (std::uint32_t i = 0; i < record.retries && delay < options_.retry_backoff_max; ++i) delay *= 2;
      delay = std::min(delay, options_.retry_backoff_max);
      record.retry_at = clock_.steady() + delay;
      if (metrics_) ++metrics_->nacks_retryable;
      spdlog::warn("tg-control: proxy {} could not confirm table {} ({}); sending it again in {} ms", c.node_id,
                   to_string(version), nack.reason(), delay.count());
    } else {
      spdlog::warn("tg-control: proxy {} refused table {}: {}", c.node_id, to_string(version), nack.reason());
    }
    record.last_nack = std::move(nack);
  }
  send_next(id, c);
}

void TableHub::write_done(SubscriberId id, bool ok) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  it->second.writing = false;
  if (!ok) {
    end(id, Status{Code::unavailable, "the stream broke while writing"});
    return;
  }
  send_next(id, it->second);
}

void TableHub::disconnect(SubscriberId id, const Status& status) { end(id, status); }

void TableHub::reject(SubscriberId id, const Status& status) { invalid(id, status); }

void TableHub::invalid(SubscriberId id, const Status& status) {
  if (connections_.count(id) == 0) return;
  if (metrics_) ++metrics_->ended_bad_request;
  end(id, status);
}

void TableHub::end(SubscriberId id, const Status& status, bool drop_write) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection c = std::move(it->second);
  connections_.erase(it);
  if (!c.node_id.empty()) {
    ProxyRecord& record = record_of(c.node_id);
    if (record.connection == id) {
      record.connection.reset();
      record.connected_since_unix_ms = 0;
      record.last_seen_unix_ms = clock_.unix_ms();
      record.disconnected_at = clock_.steady();
      disconnected_.emplace(record.disconnected_at, c.node_id);
      if (metrics_) --metrics_->subscribers;
      if (!record.fenced.empty()) count_fenced();
      spdlog::info("tg-control: proxy {} disconnected ({}{}{})", c.node_id, code_name(status.code),
                   status.message.empty() ? "" : ": ", status.message);
    }
  } else if (!status.ok()) {
    spdlog::info("tg-control: table stream from {} ended before its hello: {}: {}", c.peer, code_name(status.code),
                 status.message);
  }
  if (drop_write) {
    c.subscriber->cancel(status);
  } else {
    c.subscriber->finish(status);
  }
}

TableHub::ProxyRecord& TableHub::record_of(const std::string& node) {
  auto [it, inserted] = proxies_.try_emplace(node);
  if (inserted && metrics_) metrics_->proxy_records = proxies_.size();
  return it->second;
}

void TableHub::forget_disconnected(const std::string& node, ProxyRecord& record) {
  disconnected_.erase({record.disconnected_at, node});
  record.disconnected_at = {};
}

// Oldest disconnect first: past max_disconnected whatever their age, then
// past the retention while more than retention_keep remain.
void TableHub::drop_records(Clock::SteadyTime now) {
  const StreamLimits& limits = options_.limits;
  std::uint64_t dropped = 0;
  while (!disconnected_.empty() &&
         (disconnected_.size() > limits.max_disconnected ||
          (disconnected_.size() > limits.retention_keep &&
           now - disconnected_.begin()->first >= limits.proxy_retention))) {
    proxies_.erase(disconnected_.begin()->second);
    disconnected_.erase(disconnected_.begin());
    ++dropped;
  }
  if (dropped == 0) return;
  spdlog::debug("tg-control: dropped {} record(s) of disconnected proxies ({} kept)", dropped, disconnected_.size());
  if (metrics_) {
    metrics_->proxy_records = proxies_.size();
    metrics_->proxy_records_dropped += dropped;
  }
}

void TableHub::arm_sweep() {
  if (!options_.sweep_timer || shut_down_) return;
  options_.sweep_timer->arm(std::chrono::duration_cast<std::chrono::microseconds>(options_.limits.sweep_interval),
                            [this] { sweep(); });
}

void TableHub::sweep() {
  const StreamLimits& limits = options_.limits;
  const auto now = clock_.steady();
  std::vector<SubscriberId> no_hello, stuck;
  for (const auto& [id, c] : connections_) {
    if (c.node_id.empty() && !c.writing && now - c.opened >= limits.hello_timeout) no_hello.push_back(id);
    if (c.writing && now - c.write_started >= limits.write_timeout) stuck.push_back(id);
  }
  for (SubscriberId id : no_hello) {
    if (metrics_) ++metrics_->ended_hello_timeout;
    end(id, Status{Code::deadline_exceeded,
                   "no hello within " + std::to_string(limits.hello_timeout.count()) + " ms of the stream's start"});
  }
  for (SubscriberId id : stuck) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    const Connection& c = it->second;
    const std::string message = "the proxy read nothing of the last update (" + std::to_string(c.write_bytes) +
                                " bytes) for " + std::to_string(limits.write_timeout.count()) +
                                " ms; the stream is cancelled";
    spdlog::warn("tg-control: proxy {} ({}): {}", c.node_id.empty() ? std::string("-") : c.node_id, c.peer, message);
    if (metrics_) ++metrics_->ended_write_timeout;
    end(id, Status{Code::deadline_exceeded, message}, true);
  }
  // Retryable NACKs whose back-off ended.
  for (auto& [id, c] : connections_) {
    if (c.node_id.empty() || c.writing || !c.outstanding.empty()) continue;
    auto record = proxies_.find(c.node_id);
    if (record != proxies_.end() && record->second.nack_retryable && record->second.last_nack) send_next(id, c);
  }
  drop_records(now);
  arm_sweep();
}

void TableHub::shutdown() {
  shut_down_ = true;
  timer_.cancel();
  if (options_.sweep_timer) options_.sweep_timer->cancel();
  armed_ = false;
  while (!connections_.empty())
    end(connections_.begin()->first, Status{Code::unavailable, "tg-control is shutting down"});
}

void TableHub::list_proxies(v1::ListProxiesResponse* out, bool all) const {
  const TableVersion newest = state_.newest();
  to_proto(newest, out->mutable_newest());
  out->set_registry_id(state_.registry_id());
  std::uint64_t not_listed = 0;
  for (const auto& [node, record] : proxies_) {
    if (!all && !record.connection && record.fenced.empty()) {
      ++not_listed;
      continue;
    }
    v1::ProxyStatus* p = out->add_proxies();
    p->set_node_id(node);
    p->set_boot_id(short_boot_id(record.boot_id));
    p->set_address(record.address);
    p->set_listen(record.listen);
    p->set_proxy_version(record.proxy_version);
    p->set_connected(record.connection.has_value());
    p->set_connected_since_unix_ms(record.connected_since_unix_ms);
    p->set_last_seen_unix_ms(record.last_seen_unix_ms);
    if (!record.applied.empty()) to_proto(record.applied, p->mutable_applied());
    if (!record.sent.empty()) to_proto(record.sent, p->mutable_sent());
    const bool same_generation = !record.applied.empty() && record.applied.generation == newest.generation;
    p->set_lag(same_generation ? newest.counter - std::min(record.applied.counter, newest.counter)
                               : newest.counter);
    if (record.last_nack) *p->mutable_last_nack() = *record.last_nack;
    p->set_nacks(record.nacks);
    p->set_registry_id(record.registry_id);
    p->set_digest(record.digest);
    p->set_fenced(record.fenced);
    p->set_last_update_kind(record.last_kind);
    p->set_last_update_bytes(record.last_bytes);
    p->set_last_update_apply_ms(record.last_apply_ms);
  }
  out->set_disconnected_not_listed(not_listed);
}

}  // namespace tg::control
