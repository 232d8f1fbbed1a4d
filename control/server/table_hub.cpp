#include "server/table_hub.hpp"

#include "registry/registry.hpp"
#include "server/metrics.hpp"
#include "table/table_digest.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

namespace tg::control {
namespace {

using SteadyClock = std::chrono::steady_clock;

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// One element of a repeated message field of `Table`: tag, length, then the
// message, in one allocation. Deterministic, so equal objects (map fields
// included) encode to equal bytes and "unchanged" is a byte comparison.
std::string table_entry(int field, const google::protobuf::MessageLite& message) {
  const std::size_t size = message.ByteSizeLong();
  std::string out;
  out.reserve(size + 12);
  append_varint(out, (static_cast<std::uint64_t>(field) << 3) | 2);
  append_varint(out, size);
  const std::size_t head = out.size();
  out.resize(head + size);
  google::protobuf::io::ArrayOutputStream stream(out.data() + head, static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeWithCachedSizes(&coded);
  return out;
}

// The message inside an entry (after its tag and length).
std::string_view entry_body(const std::string& entry) {
  std::size_t i = 0;
  for (int varints = 0; varints < 2; ++varints)
    while (i < entry.size() && (static_cast<unsigned char>(entry[i++]) & 0x80)) {
    }
  return std::string_view(entry).substr(i);
}

template <class T>
std::string object_entry(int field, T object) {
  object.clear_meta();
  return table_entry(field, object);
}

void copy_state(const v1::Instance& from, v1::Instance* to) {
  to->set_health(from.health());
  to->set_health_reason(from.health_reason());
  to->set_admin_state(from.admin_state());
}

// The instance as the table holds it, and its state.
std::string instance_entry(v1::Instance instance, v1::InstanceState* state) {
  instance.clear_meta();
  instance.clear_heartbeat_ttl_ms();
  instance.clear_last_heartbeat_unix_ms();
  instance.clear_health_changed_unix_ms();
  state->set_id(instance.id());
  state->set_health(instance.health());
  state->set_health_reason(instance.health_reason());
  state->set_admin_state(instance.admin_state());
  return table_entry(v1::Table::kInstancesFieldNumber, instance);
}

// True when the instance entries differ in nothing but health, reason and
// admin state: the old entry with the new state encodes to the new entry.
bool state_only(const std::string& old_entry, const std::string& new_entry) {
  v1::Instance before, after;
  const std::string_view old_body = entry_body(old_entry), new_body = entry_body(new_entry);
  if (!before.ParseFromArray(old_body.data(), static_cast<int>(old_body.size())) ||
      !after.ParseFromArray(new_body.data(), static_cast<int>(new_body.size())))
    return false;
  copy_state(after, &before);
  return table_entry(v1::Table::kInstancesFieldNumber, before) == new_entry;
}

bool valid_node_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  });
}

// Registry ids: what the database creates (32 hex digits) or what an
// operator names for adoption; the node-id alphabet, so it is safe in logs,
// metrics labels and tables.
bool valid_registry_id(const std::string& id) { return valid_node_id(id); }

// How many published versions' digests are kept to recognise a proxy's
// reported version (older ones are "unknown", not "different").
constexpr std::size_t kKeptDigests = 4096;

// What a proxy reports is kept while tg-control runs: bounded.
std::string bounded(const std::string& text, std::size_t limit = 256) { return text.substr(0, limit); }

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

std::string to_string(const TableVersion& version) {
  return std::to_string(version.generation) + "." + std::to_string(version.counter);
}

void AsioDebounceTimer::arm(std::chrono::microseconds after, std::function<void()> fire) {
  timer_.expires_after(after);
  timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
}

TableHub::TableHub(const Registry& registry, const Clock& clock, DebounceTimer& timer, TableHubOptions options,
                   Metrics* metrics)
    : clock_(clock), timer_(timer), options_(std::move(options)), metrics_(metrics) {
  const auto start = SteadyClock::now();
  adopted_.insert(options_.adopted.begin(), options_.adopted.end());
  fleet_ahead_ = options_.fleet_ahead;
  if (metrics_) {
    metrics_->table().registry_id = options_.registry_id;
    metrics_->table().older_than_fleet = fleet_ahead_ != 0;
  }
  for (const auto& [id, tenant] : registry.tenants())
    set_entry(tenants, id, object_entry(v1::Table::kTenantsFieldNumber, tenant));
  for (const auto& [name, service] : registry.services())
    set_entry(services, name, object_entry(v1::Table::kServicesFieldNumber, service));
  for (const auto& [name, route] : registry.routes())
    set_entry(routes, name, object_entry(v1::Table::kRoutesFieldNumber, route));
  for (const auto& [id, instance] : registry.instances()) {
    set_entry(instances, id, instance_entry(instance, &instances_[id]));
  }
  newest_ = {registry.generation(), 1};
  remember_digest();
  build_config(start);
}

TableHub::~TableHub() { timer_.cancel(); }

void TableHub::set_entry(Kind kind, const std::string& name, std::string entry) {
  auto [it, inserted] = entries_[kind].try_emplace(name);
  if (!inserted) {
    entry_bytes_[kind] -= it->second.size();
    digest_ -= table::element_digest(it->second);
  }
  entry_bytes_[kind] += entry.size();
  digest_ += table::element_digest(entry);
  it->second = std::move(entry);
}

bool TableHub::erase_entry(Kind kind, const std::string& name) {
  auto it = entries_[kind].find(name);
  if (it == entries_[kind].end()) return false;
  entry_bytes_[kind] -= it->second.size();
  digest_ -= table::element_digest(it->second);
  entries_[kind].erase(it);
  return true;
}

// ---- changes -----------------------------------------------------------------

void TableHub::on_commit(const CommitBatch& batch) {
  for (const Mutation& mutation : batch.mutations) take_mutation(mutation);
  if (config_dirty_ || !health_dirty_.empty()) arm();
}

void TableHub::take_mutation(const Mutation& m) {
  // A changed entry is a config change; an unchanged one (only meta or
  // heartbeat fields moved) is nothing the proxies see.
  auto take = [&](Kind kind, std::string entry) {
    auto it = entries_[kind].find(m.name);
    if (it != entries_[kind].end() && it->second == entry) return;
    set_entry(kind, m.name, std::move(entry));
    config_dirty_ = true;
  };
  auto parse = [&](google::protobuf::MessageLite& object) {
    if (object.ParseFromString(*m.body)) return true;
    spdlog::error("tg-control: table: cannot parse the committed {} {}; the table keeps its previous value",
                  to_string(m.kind), m.name);
    return false;
  };
  switch (m.kind) {
    case ObjectKind::tenant:
    case ObjectKind::service:
    case ObjectKind::route: {
      const Kind kind = m.kind == ObjectKind::tenant ? tenants : m.kind == ObjectKind::service ? services : routes;
      if (!m.body) {
        config_dirty_ |= erase_entry(kind, m.name);
        return;
      }
      if (m.kind == ObjectKind::tenant) {
        v1::Tenant t;
        if (parse(t)) take(kind, object_entry(v1::Table::kTenantsFieldNumber, std::move(t)));
      } else if (m.kind == ObjectKind::service) {
        v1::Service s;
        if (parse(s)) take(kind, object_entry(v1::Table::kServicesFieldNumber, std::move(s)));
      } else {
        v1::Route r;
        if (parse(r)) take(kind, object_entry(v1::Table::kRoutesFieldNumber, std::move(r)));
      }
      return;
    }
    case ObjectKind::instance: {
      if (!m.body) {
        if (erase_entry(instances, m.name)) config_dirty_ = true;
        instances_.erase(m.name);
        return;
      }
      v1::Instance instance;
      if (!parse(instance)) return;
      v1::InstanceState state;
      std::string entry = instance_entry(std::move(instance), &state);
      auto it = instances_.find(m.name);
      if (it == instances_.end()) {
        instances_.emplace(m.name, std::move(state));
        set_entry(instances, m.name, std::move(entry));
        config_dirty_ = true;
        return;
      }
      const std::string& old_entry = entries_[instances][m.name];
      if (old_entry == entry) return;
      const bool health = state_only(old_entry, entry);
      it->second = std::move(state);
      set_entry(instances, m.name, std::move(entry));
      if (health) {
        health_dirty_.insert(m.name);
      } else {
        config_dirty_ = true;
      }
      return;
    }
  }
}

void TableHub::arm() {
  if (armed_ || shut_down_) return;
  armed_ = true;
  timer_.arm(options_.debounce, [this] { publish(); });
}

// ---- versions ----------------------------------------------------------------

void TableHub::publish() {
  armed_ = false;
  if (!config_dirty_ && health_dirty_.empty() && !envelope_dirty_) return;
  const auto start = SteadyClock::now();
  bool full = config_dirty_;
  if (!full) {
    std::size_t changed = changed_since_config_.size();
    for (const auto& id : health_dirty_) changed += changed_since_config_.count(id) == 0 ? 1 : 0;
    full = health_log_.size() + 1 > options_.max_health_versions ||
           changed > std::max(options_.min_compact_instances, instances_.size() / 4);
  }
  ++newest_.counter;
  remember_digest();
  health_cache_.clear();
  full_newest_.reset();
  envelope_dirty_ = false;
  if (full) {
    build_config(start);
  } else {
    publish_health();
  }
  config_dirty_ = false;
  health_dirty_.clear();
  for (auto& [id, connection] : connections_) send_next(id, connection);
}

std::shared_ptr<const v1::StreamTableResponse> TableHub::assemble() const {
  std::size_t total = 0;
  for (std::size_t bytes : entry_bytes_) total += bytes;
  std::string payload;
  payload.reserve(total);
  for (const auto& entries : entries_)
    for (const auto& [name, entry] : entries) payload += entry;
  auto response = std::make_shared<v1::StreamTableResponse>();
  newest_.to(response->mutable_version());
  response->set_config(std::move(payload));
  response->set_kind(v1::UPDATE_KIND_FULL);
  stamp(*response);
  return response;
}

// The envelope fields every update of the newest version shares.
void TableHub::stamp(v1::StreamTableResponse& response) const {
  response.set_registry_id(options_.registry_id);
  response.set_digest(newest_digest_);
  for (const std::string& id : adopted_) response.add_adopted_registry_ids(id);
}

void TableHub::remember_digest() {
  newest_digest_ = digest_;
  digests_[newest_] = digest_;
  while (digests_.size() > kKeptDigests) digests_.erase(digests_.begin());
}

std::shared_ptr<const v1::StreamTableResponse> TableHub::full_newest() {
  if (newest_ == last_config_) return config_;
  // The newest is a health version: a proxy without a usable base gets the
  // whole table as of now (the entries hold the current states), built once.
  if (!full_newest_) full_newest_ = assemble();
  return full_newest_;
}

void TableHub::build_config(SteadyClock::time_point start) {
  config_ = assemble();
  const std::size_t total = config_->config().size();
  last_config_ = newest_;
  health_log_.clear();
  changed_since_config_.clear();
  const double seconds = seconds_since(start);
  spdlog::info("tg-control: table {}: {} tenants, {} services, {} instances, {} routes, {} bytes, built in {:.1f} ms",
               to_string(newest_), entries_[tenants].size(), entries_[services].size(), entries_[instances].size(),
               entries_[routes].size(), total, seconds * 1e3);
  if (metrics_) {
    TableMetrics& t = metrics_->table();
    t.generation = newest_.generation;
    t.counter = newest_.counter;
    ++t.config_versions;
    t.build_seconds = seconds;
    t.payload_bytes = total;
  }
}

void TableHub::publish_health() {
  HealthVersion step{newest_, {}};
  step.changed.reserve(health_dirty_.size());
  for (const auto& id : health_dirty_) {
    step.changed.push_back(instances_.at(id));
    changed_since_config_.insert(id);
  }
  spdlog::debug("tg-control: table {}: health of {} instance(s)", to_string(newest_), step.changed.size());
  health_log_.push_back(std::move(step));
  if (metrics_) {
    metrics_->table().counter = newest_.counter;
    ++metrics_->table().health_versions;
  }
}

std::shared_ptr<const v1::StreamTableResponse> TableHub::health_since(TableVersion base) {
  auto cached = health_cache_.find(base);
  if (cached != health_cache_.end()) return cached->second;
  std::map<std::string, const v1::InstanceState*> latest;
  for (const HealthVersion& step : health_log_) {
    if (step.version <= base) continue;
    for (const v1::InstanceState& state : step.changed) latest[state.id()] = &state;
  }
  auto response = std::make_shared<v1::StreamTableResponse>();
  newest_.to(response->mutable_version());
  response->set_kind(v1::UPDATE_KIND_HEALTH);
  base.to(response->mutable_base_version());
  stamp(*response);
  auto* health = response->mutable_health();
  for (const auto& [id, state] : latest) *health->add_instances() = *state;
  health_cache_.emplace(base, response);
  return response;
}

// ---- streams -----------------------------------------------------------------

void TableHub::send_next(SubscriberId id, Connection& c) {
  if (c.node_id.empty() || c.writing || !c.outstanding.empty() || lift_pending_) return;
  const bool own = c.registry_id == options_.registry_id;
  if (own && c.applied == newest_) return;
  ProxyRecord& record = proxies_[c.node_id];
  if (!record.fenced.empty()) return;
  if (record.last_nack && TableVersion::from(record.last_nack->version()) == newest_) return;
  const bool delta =
      own && c.applied.generation == newest_.generation && c.applied >= last_config_ && c.applied < newest_;
  // The whole table at a health version is assembled from the entries, which
  // must then hold exactly that version: while changes wait for the debounce,
  // the proxy gets the next version instead (publish() sends it).
  if (!delta && newest_ != last_config_ && !full_newest_ && (config_dirty_ || !health_dirty_.empty())) return;
  std::shared_ptr<const v1::StreamTableResponse> response = delta ? health_since(c.applied) : full_newest();
  c.outstanding = newest_;
  c.writing = true;
  record.sent = newest_;
  if (metrics_) ++(delta ? metrics_->table().health_sent : metrics_->table().config_sent);
  c.subscriber->send(std::move(response));
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
}

void TableHub::receive(SubscriberId id, const v1::StreamTableRequest& request) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (c.node_id.empty()) {
    if (!request.has_hello()) {
      end(id, Status::invalid("StreamTableRequest", "the first message must be a hello"));
    } else {
      hello(id, c, request.hello());
    }
    return;
  }
  proxies_[c.node_id].last_seen_unix_ms = clock_.unix_ms();
  answer(id, c, request);
}

void TableHub::hello(SubscriberId id, Connection& c, const v1::Hello& hello) {
  const std::string& node = hello.node_id();
  if (!valid_node_id(node)) {
    end(id, Status::invalid("hello.node_id", "must match [A-Za-z0-9_.:-]{1,128}"));
    return;
  }
  auto existing = proxies_.find(node);
  if (existing != proxies_.end() && existing->second.connection &&
      !take_over(id, c, existing->second, node, bounded(hello.boot_id())))
    return;
  const std::int64_t now = clock_.unix_ms();
  ProxyRecord& record = proxies_[node];
  record.boot_id = bounded(hello.boot_id());
  record.address = c.peer;
  record.listen = bounded(hello.listen());
  record.proxy_version = bounded(hello.proxy_version());
  record.connection = id;
  record.connected_since_unix_ms = now;
  record.last_seen_unix_ms = now;
  c.node_id = node;
  c.applied = hello.has_applied() ? TableVersion::from(hello.applied()) : TableVersion{};
  c.registry_id = c.applied.empty() ? std::string() : bounded(hello.registry_id(), 128);
  record.applied = c.applied;
  record.sent = c.applied;
  record.registry_id = c.registry_id;
  record.digest = hello.digest();
  record.fenced.clear();
  if (metrics_) ++metrics_->table().subscribers;
  spdlog::info("tg-control: proxy {} connected (boot {}, {}), serving {}{}", node, record.boot_id, c.peer,
               c.applied.empty() ? std::string("nothing") : to_string(c.applied),
               c.registry_id.empty() || c.registry_id == options_.registry_id
                   ? std::string()
                   : " of registry " + c.registry_id + " (not this one: " + options_.registry_id + ")");
  // The welcome tells the proxy its hello was accepted; updates follow it
  // once it is written (write_done).
  auto welcome = std::make_shared<v1::StreamTableResponse>();
  welcome->mutable_welcome()->set_registry_id(options_.registry_id);
  newest_.to(welcome->mutable_welcome()->mutable_newest());
  c.writing = true;
  c.subscriber->send(std::move(welcome));
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
    if (metrics_) ++metrics_->table().refused_node_clash;
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
  if (metrics_) ++metrics_->table().node_replacements;
  spdlog::warn("tg-control: proxy {}: a newer connection replaces the connected one: {}{}", node, peers,
               c.actor.empty() ? std::string() : ", token " + c.actor);
  end(older, Status{Code::aborted, "replaced by a newer connection of node " + node + " from " + c.peer});
  return true;
}

// A proxy of this registry that serves a version this database never
// published (newer than the newest, or a known label with another digest)
// shows that the database is older than the fleet.
void TableHub::check_fleet(ProxyRecord& record, const std::string& node) {
  if (record.registry_id != options_.registry_id || record.applied.empty()) return;
  bool ahead = record.applied > newest_;
  if (!ahead) {
    auto known = digests_.find(record.applied);
    ahead = known != digests_.end() && known->second != record.digest;
  }
  if (ahead) highest_reported_generation_ = std::max(highest_reported_generation_, record.applied.generation);
  if (!ahead && fleet_ahead_ == 0) return;
  if (options_.accept_restore) {
    spdlog::warn("tg-control: proxy {} serves {} (digest {}) of this registry, which this database never had; "
                 "--accept-restore: lifting the generation above the fleet",
                 node, to_string(record.applied), table::digest_text(record.digest));
    lift_generation();
    return;
  }
  record.fenced = "database older than the fleet: the proxy serves " + to_string(record.applied) + " (digest " +
                  table::digest_text(record.digest) + "), which this database " +
                  (ahead ? "never had (newest " + to_string(newest_) + ")"
                         : "cannot vouch for (proxies reported generation " + std::to_string(fleet_ahead_) + ")") +
                  "; nothing is pushed until tg-control is restarted with --accept-restore";
  spdlog::error("tg-control: proxy {}: {}", node, record.fenced);
  if (ahead && record.applied.generation > fleet_ahead_) {
    fleet_ahead_ = record.applied.generation;
    if (options_.commit_identity) {
      IdentityChange change;
      change.fleet_ahead = fleet_ahead_;
      AuditRecord audit{clock_.unix_ms(), system_actor, "DatabaseOlderThanFleet", "registry", options_.registry_id,
                        "", "{\"fleet_generation\":" + std::to_string(fleet_ahead_) + ",\"proxy\":\"" + node + "\"}"};
      options_.commit_identity(std::move(change), std::move(audit), [](bool) {});
    }
  }
  if (metrics_) metrics_->table().older_than_fleet = true;
  count_fenced();
}

void TableHub::lift_generation() {
  if (lift_pending_) return;
  const std::uint64_t from = newest_.generation;
  const std::uint64_t target = std::max({newest_.generation, highest_reported_generation_, fleet_ahead_}) + 1;
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
    fleet_ahead_ = 0;
    for (auto& [node, record] : proxies_) record.fenced.clear();
    if (metrics_) {
      metrics_->table().older_than_fleet = false;
      ++metrics_->table().generation_lifts;
    }
    count_fenced();
    newest_ = {target, 0};
    config_dirty_ = true;
    timer_.cancel();
    publish();
    // A proxy that reported an even newer version meanwhile.
    for (const auto& [id, c] : connections_)
      if (c.registry_id == options_.registry_id && c.applied > newest_) {
        highest_reported_generation_ = std::max(highest_reported_generation_, c.applied.generation);
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
  AuditRecord audit{clock_.unix_ms(), system_actor, "AcceptRestore", "registry", options_.registry_id,
                    "{\"generation\":" + std::to_string(from) + "}", "{\"generation\":" + std::to_string(target) + "}"};
  options_.commit_identity(std::move(change), std::move(audit), std::move(lifted));
}

void TableHub::count_fenced() {
  if (!metrics_) return;
  std::uint64_t fenced = 0;
  for (const auto& [node, record] : proxies_) fenced += record.connection && !record.fenced.empty() ? 1 : 0;
  metrics_->table().fenced_proxies = fenced;
}

void TableHub::adopt(const std::string& id, const std::string& actor, std::function<void(const Status&)> done) {
  if (!valid_registry_id(id)) {
    done(Status::invalid("registry_id", "must match [A-Za-z0-9_.:-]{1,128}"));
    return;
  }
  if (id == options_.registry_id) {
    done(Status::invalid("registry_id", "\"" + id + "\" is this tg-control's own registry"));
    return;
  }
  if (adopted_.count(id)) {
    done(Status{});
    return;
  }
  auto adopted = [this, id, done = std::move(done)](bool ok) {
    if (!ok) {
      done(Status::internal("the adoption was not committed"));
      return;
    }
    adopted_.insert(id);
    spdlog::warn("tg-control: registry {} adopted: its proxies take this registry's ({}) table from now on", id,
                 options_.registry_id);
    // A new version carries the adopted list to the proxies that refused.
    envelope_dirty_ = true;
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
                    "{\"adopted_by\":\"" + options_.registry_id + "\"}"};
  options_.commit_identity(std::move(change), std::move(audit), std::move(adopted));
}

void TableHub::registry_info(v1::RegistryInfo* out) const {
  out->set_registry_id(options_.registry_id);
  out->set_generation(newest_.generation);
  newest_.to(out->mutable_newest());
  for (const std::string& id : adopted_) out->add_adopted_registry_ids(id);
  if (fleet_ahead_ != 0)
    out->set_database_older_than_fleet("proxies of this registry reported generation " + std::to_string(fleet_ahead_) +
                                       ", newer than this database; restart tg-control with --accept-restore if "
                                       "the restore is intended");
  out->set_accept_restore(options_.accept_restore);
}

void TableHub::answer(SubscriberId id, Connection& c, const v1::StreamTableRequest& request) {
  if (request.has_hello()) {
    end(id, Status::invalid("StreamTableRequest.hello", "sent twice on one stream"));
    return;
  }
  if (!request.has_ack() && !request.has_nack()) {
    end(id, Status::invalid("StreamTableRequest", "empty (neither hello, ack nor nack)"));
    return;
  }
  const bool ack = request.has_ack();
  const TableVersion version = TableVersion::from(ack ? request.ack().version() : request.nack().version());
  if (c.outstanding.empty() || version != c.outstanding) {
    end(id, Status::invalid(ack ? "ack.version" : "nack.version",
                            to_string(version) + " is not the version awaiting an answer (" +
                                (c.outstanding.empty() ? std::string("none") : to_string(c.outstanding)) + ")"));
    return;
  }
  ProxyRecord& record = proxies_[c.node_id];
  c.outstanding = {};
  if (ack) {
    c.applied = version;
    c.registry_id = options_.registry_id;
    record.applied = version;
    record.registry_id = options_.registry_id;
    auto digest = digests_.find(version);
    record.digest = digest == digests_.end() ? 0 : digest->second;
    if (metrics_) ++metrics_->table().acks;
  } else {
    v1::ProxyNack nack;
    version.to(nack.mutable_version());
    nack.set_reason(bounded(request.nack().reason(), 4096));
    nack.set_time_unix_ms(clock_.unix_ms());
    spdlog::warn("tg-control: proxy {} refused table {}: {}", c.node_id, to_string(version), nack.reason());
    record.last_nack = std::move(nack);
    ++record.nacks;
    if (metrics_) ++metrics_->table().nacks;
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

void TableHub::end(SubscriberId id, const Status& status) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection c = std::move(it->second);
  connections_.erase(it);
  if (!c.node_id.empty()) {
    ProxyRecord& record = proxies_[c.node_id];
    if (record.connection == id) {
      record.connection.reset();
      record.connected_since_unix_ms = 0;
      record.last_seen_unix_ms = clock_.unix_ms();
      if (metrics_) --metrics_->table().subscribers;
      if (!record.fenced.empty()) count_fenced();
      spdlog::info("tg-control: proxy {} disconnected ({}{}{})", c.node_id, code_name(status.code),
                   status.message.empty() ? "" : ": ", status.message);
    }
  } else if (!status.ok()) {
    spdlog::info("tg-control: table stream from {} ended before its hello: {}: {}", c.peer, code_name(status.code),
                 status.message);
  }
  c.subscriber->finish(status);
}

void TableHub::shutdown() {
  shut_down_ = true;
  timer_.cancel();
  armed_ = false;
  while (!connections_.empty())
    end(connections_.begin()->first, Status{Code::unavailable, "tg-control is shutting down"});
}

void TableHub::list_proxies(v1::ListProxiesResponse* out) const {
  newest_.to(out->mutable_newest());
  out->set_registry_id(options_.registry_id);
  for (const auto& [node, record] : proxies_) {
    v1::ProxyStatus* p = out->add_proxies();
    p->set_node_id(node);
    p->set_boot_id(short_boot_id(record.boot_id));
    p->set_address(record.address);
    p->set_listen(record.listen);
    p->set_proxy_version(record.proxy_version);
    p->set_connected(record.connection.has_value());
    p->set_connected_since_unix_ms(record.connected_since_unix_ms);
    p->set_last_seen_unix_ms(record.last_seen_unix_ms);
    if (!record.applied.empty()) record.applied.to(p->mutable_applied());
    if (!record.sent.empty()) record.sent.to(p->mutable_sent());
    const bool same_generation = !record.applied.empty() && record.applied.generation == newest_.generation;
    p->set_lag(same_generation ? newest_.counter - std::min(record.applied.counter, newest_.counter)
                               : newest_.counter);
    if (record.last_nack) *p->mutable_last_nack() = *record.last_nack;
    p->set_nacks(record.nacks);
    p->set_registry_id(record.registry_id);
    p->set_digest(record.digest);
    p->set_fenced(record.fenced);
  }
}

}  // namespace tg::control
