#include "stream/table_state.hpp"

#include "stream/version_proto.hpp"
#include "table/table_digest.hpp"
#include "text/node_id.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

namespace tg::control {
namespace {

using SteadyClock = std::chrono::steady_clock;

using table::encode_entry;
using table::entry_body;
using table::instances;
using table::routes;
using table::services;
using table::tenants;

template <class T>
std::string object_entry(table::EntryKind kind, T object) {
  object.clear_meta();
  return encode_entry(kind, object);
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
  return encode_entry(table::instances, instance);
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
  return encode_entry(table::instances, before) == new_entry;
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

bool valid_registry_id(const std::string& id) { return valid_node_id(id); }

TableState::TableState(const Registry& registry, TableStateOptions options, TableMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  const auto start = SteadyClock::now();
  adopted_.insert(options_.adopted.begin(), options_.adopted.end());
  fleet_ahead_ = options_.fleet_ahead;
  if (metrics_) {
    metrics_->registry_id = options_.registry_id;
    metrics_->older_than_fleet = fleet_ahead_ != 0;
  }
  // The registry's maps are in key order, as the entries: each insert goes
  // at the end. No change log at start (version 1 is no delta base's target).
  for (const auto& [id, tenant] : registry.tenants()) entries_.set(tenants, id, tenant_entry(tenant));
  for (const auto& [name, service] : registry.services())
    entries_.set(services, name, object_entry(table::services, service));
  for (const auto& [name, route] : registry.routes()) entries_.set(routes, name, object_entry(table::routes, route));
  for (const auto& [id, instance] : registry.instances()) {
    auto state = instances_.emplace_hint(instances_.end(), id, v1::InstanceState{});
    entries_.set(instances, id, instance_entry(instance, &state->second));
  }
  newest_ = {registry.generation(), 1};
  delta_floor_ = newest_;
  remember_digest();
  publish_config(start);
  if (metrics_) metrics_->build_seconds = seconds_since(start);
}

void TableState::set_entry(Kind kind, const std::string& name, std::string entry) {
  entries_.set(kind, name, std::move(entry));
  changed_keys_.emplace(kind, name);
}

bool TableState::erase_entry(Kind kind, const std::string& name) {
  if (!entries_.erase(kind, name)) return false;
  changed_keys_.emplace(kind, name);
  return true;
}

// ---- changes -----------------------------------------------------------------

bool TableState::take(const CommitBatch& batch) {
  for (const Mutation& mutation : batch.mutations) take_mutation(mutation);
  return config_dirty_ || !health_dirty_.empty();
}

void TableState::take_mutation(const Mutation& m) {
  // A changed entry is a config change; an unchanged one (only meta or
  // heartbeat fields moved) is nothing the proxies see.
  auto take = [&](Kind kind, std::string entry) {
    const std::string* old = entries_.find(kind, m.name);
    if (old && *old == entry) return;
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
        if (parse(t)) take(kind, tenant_entry(std::move(t)));
      } else if (m.kind == ObjectKind::service) {
        v1::Service s;
        if (parse(s)) take(kind, object_entry(table::services, std::move(s)));
      } else {
        v1::Route r;
        if (parse(r)) take(kind, object_entry(table::routes, std::move(r)));
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
      const std::string& old_entry = *entries_.find(instances, m.name);
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

std::string TableState::tenant_entry(v1::Tenant tenant) const {
  if (options_.tenant_keys) options_.tenant_keys(tenant);
  return object_entry(table::tenants, std::move(tenant));
}

bool TableState::refresh_tenant(const std::string& id) {
  const std::string* old = entries_.find(tenants, id);
  if (!old) return false;
  v1::Tenant tenant;
  const std::string_view body = entry_body(*old);
  if (!tenant.ParseFromArray(body.data(), static_cast<int>(body.size()))) return false;
  std::string entry = tenant_entry(std::move(tenant));
  if (entry == *old) return false;
  set_entry(tenants, id, std::move(entry));
  config_dirty_ = true;
  return true;
}

// ---- versions ----------------------------------------------------------------

bool TableState::publish() {
  if (!dirty()) return false;
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
  log_changes();
  health_cache_.clear();
  delta_cache_.clear();
  full_newest_.reset();
  envelope_dirty_ = false;
  if (full) {
    publish_config(start);
  } else {
    publish_health();
  }
  config_dirty_ = false;
  health_dirty_.clear();
  return true;
}

// The whole table as of the entries; only while they hold the newest version.
std::shared_ptr<const TableUpdate> TableState::assemble() const {
  const auto start = SteadyClock::now();
  v1::StreamTableResponse response;
  to_proto(newest_, response.mutable_version());
  response.set_config(entries_.serialize());
  response.set_kind(v1::UPDATE_KIND_FULL);
  stamp(response);
  auto update = std::make_shared<const TableUpdate>(std::move(response));
  const double seconds = seconds_since(start);
  spdlog::debug("tg-control: table {}: full payload of {} bytes assembled in {:.1f} ms", to_string(newest_),
                update->bytes().size(), seconds * 1e3);
  if (metrics_) metrics_->build_seconds = seconds;
  return update;
}

// The envelope fields every update of the newest version shares.
void TableState::stamp(v1::StreamTableResponse& response) const {
  response.set_registry_id(options_.registry_id);
  response.set_digest(newest_digest_);
  for (const std::string& id : adopted_) response.add_adopted_registry_ids(id);
}

void TableState::remember_digest() {
  newest_digest_ = entries_.digest();
  digests_[newest_] = newest_digest_;
  while (digests_.size() > kept_digests) digests_.erase(digests_.begin());
}

// A proxy without a usable base gets the whole table as of the newest
// version (the entries hold the current states), assembled once per version.
std::shared_ptr<const TableUpdate> TableState::full_newest() {
  if (!full_newest_) {
    full_newest_ = assemble();
    ++full_builds_;
  }
  return full_newest_;
}

// A config version: the entries already hold it (take() updated the objects
// it changed and the digest); nothing is assembled here.
void TableState::publish_config(SteadyClock::time_point start) {
  const std::size_t total = entries_.bytes();
  last_config_ = newest_;
  health_log_.clear();
  changed_since_config_.clear();
  const double seconds = seconds_since(start);
  spdlog::info("tg-control: table {}: {} tenants, {} services, {} instances, {} routes, {} bytes, published in {:.2f} ms",
               to_string(newest_), entries_.size(tenants), entries_.size(services), entries_.size(instances),
               entries_.size(routes), total, seconds * 1e3);
  if (metrics_) {
    TableMetrics& t = *metrics_;
    t.generation = newest_.generation;
    t.counter = newest_.counter;
    ++t.config_versions;
    t.payload_bytes = total;
  }
}

void TableState::publish_health() {
  HealthVersion step{newest_, {}};
  step.changed.reserve(health_dirty_.size());
  for (const auto& id : health_dirty_) {
    step.changed.push_back(instances_.at(id));
    changed_since_config_.insert(id);
  }
  spdlog::debug("tg-control: table {}: health of {} instance(s)", to_string(newest_), step.changed.size());
  health_log_.push_back(std::move(step));
  if (metrics_) {
    metrics_->counter = newest_.counter;
    ++metrics_->health_versions;
  }
}

std::shared_ptr<const TableUpdate> TableState::health_since(TableVersion base) {
  auto cached = health_cache_.find(base);
  if (cached != health_cache_.end()) return cached->second;
  std::map<std::string, const v1::InstanceState*> latest;
  for (const HealthVersion& step : health_log_) {
    if (step.version <= base) continue;
    for (const v1::InstanceState& state : step.changed) latest[state.id()] = &state;
  }
  v1::StreamTableResponse response;
  to_proto(newest_, response.mutable_version());
  response.set_kind(v1::UPDATE_KIND_HEALTH);
  to_proto(base, response.mutable_base_version());
  stamp(response);
  auto* health = response.mutable_health();
  for (const auto& [id, state] : latest) *health->add_instances() = *state;
  auto update = std::make_shared<const TableUpdate>(std::move(response));
  health_cache_.emplace(base, update);
  return update;
}


// The keys changed in the version just published join the change log.
void TableState::log_changes() {
  if (newest_ <= delta_floor_) {
    changed_keys_.clear();
    return;
  }
  ChangeStep step{newest_, {changed_keys_.begin(), changed_keys_.end()}};
  changed_keys_.clear();
  change_log_keys_ += step.keys.size();
  change_log_.push_back(std::move(step));
  while (!change_log_.empty() &&
         (change_log_.size() > options_.max_delta_versions || change_log_keys_ > options_.max_delta_keys)) {
    delta_floor_ = change_log_.front().version;
    change_log_keys_ -= change_log_.front().keys.size();
    change_log_.pop_front();
  }
}

// The entries changed since `base`, or null when the full table is smaller
// than twice the delta. Reads the entries: only while they hold the newest
// version (nothing taken since publish()).
std::shared_ptr<const TableUpdate> TableState::delta_since(TableVersion base) {
  std::set<std::pair<Kind, std::string_view>> keys;
  for (auto step = change_log_.rbegin(); step != change_log_.rend() && step->version > base; ++step)
    for (const auto& [kind, key] : step->keys) keys.emplace(kind, key);
  v1::StreamTableResponse response;
  v1::TableDelta* delta = response.mutable_delta();
  std::string upserts;
  std::size_t bytes = 0;
  const std::size_t limit = entries_.bytes() / 2;
  google::protobuf::RepeatedPtrField<std::string>* removed[table::kEntryKinds] = {
      delta->mutable_removed_tenants(), delta->mutable_removed_services(), delta->mutable_removed_instances(),
      delta->mutable_removed_routes()};
  for (const auto& [kind, key] : keys) {
    if (const std::string* entry = entries_.find(kind, key)) {
      upserts += *entry;
      bytes += entry->size();
    } else {  // erased since base (or added and erased again: the proxy ignores an absent key)
      removed[kind]->Add(std::string(key));
      bytes += key.size() + 2;
    }
    if (bytes > limit) {
      delta_cache_.emplace(base, nullptr);
      return nullptr;
    }
  }
  delta->set_upserts(std::move(upserts));
  to_proto(newest_, response.mutable_version());
  response.set_kind(v1::UPDATE_KIND_DELTA);
  to_proto(base, response.mutable_base_version());
  stamp(response);
  auto update = std::make_shared<const TableUpdate>(std::move(response));
  delta_cache_.emplace(base, update);
  return update;
}

// The newest version for a proxy that serves its very table under the label
// `base`: an empty delta.
std::shared_ptr<const TableUpdate> TableState::relabel(TableVersion base) {
  v1::StreamTableResponse response;
  response.mutable_delta();
  to_proto(newest_, response.mutable_version());
  response.set_kind(v1::UPDATE_KIND_DELTA);
  to_proto(base, response.mutable_base_version());
  stamp(response);
  return std::make_shared<const TableUpdate>(std::move(response));
}

std::shared_ptr<const TableUpdate> TableState::update_for(bool own, TableVersion applied, std::uint64_t served_digest,
                                                          bool allow_delta, v1::UpdateKind* kind) {
  const bool same_generation = own && applied.generation == newest_.generation && applied < newest_;
  // Entries that hold changes not yet published are not the newest version:
  // what is assembled from them (a delta, the whole table at a health
  // version) waits for publish(), which sends the next version.
  const bool unpublished = config_dirty_ || !health_dirty_.empty();
  if (own && allow_delta && !applied.empty() && applied < newest_ && served_digest == newest_digest_ &&
      !same_generation) {
    *kind = v1::UPDATE_KIND_DELTA;
    return relabel(applied);
  }
  if (same_generation && applied >= last_config_) {
    *kind = v1::UPDATE_KIND_HEALTH;
    return health_since(applied);
  }
  if (same_generation && allow_delta && applied >= delta_floor_) {
    auto cached = delta_cache_.find(applied);
    if (cached == delta_cache_.end() && unpublished) return nullptr;
    auto update = cached != delta_cache_.end() ? cached->second : delta_since(applied);
    if (update) {
      *kind = v1::UPDATE_KIND_DELTA;
      return update;
    }
  }
  *kind = v1::UPDATE_KIND_FULL;
  if (!full_newest_ && unpublished) return nullptr;
  return full_newest();
}

std::uint64_t TableState::digest_of(TableVersion version) const {
  auto it = digests_.find(version);
  return it == digests_.end() ? 0 : it->second;
}

// ---- registry identity ---------------------------------------------------------

// A proxy of this registry that serves a version this database never
// published (newer than the newest, or a known label with another digest)
// shows that the database is older than the fleet.
FleetVerdict TableState::judge(const std::string& registry_id, TableVersion applied, std::uint64_t digest) {
  FleetVerdict verdict;
  if (registry_id != options_.registry_id || applied.empty()) return verdict;
  bool ahead = applied > newest_;
  if (!ahead) {
    auto known = digests_.find(applied);
    ahead = known != digests_.end() && known->second != digest;
  }
  if (ahead) highest_reported_generation_ = std::max(highest_reported_generation_, applied.generation);
  if (!ahead && fleet_ahead_ == 0) return verdict;
  if (options_.accept_restore) {
    verdict.action = FleetVerdict::lift;
    return verdict;
  }
  verdict.action = FleetVerdict::fence;
  verdict.reason = "database older than the fleet: the proxy serves " + to_string(applied) + " (digest " +
                   table::digest_text(digest) + "), which this database " +
                   (ahead ? "never had (newest " + to_string(newest_) + ")"
                          : "cannot vouch for (proxies reported generation " + std::to_string(fleet_ahead_) + ")") +
                   "; nothing is pushed until tg-control is restarted with --accept-restore";
  if (ahead && applied.generation > fleet_ahead_) {
    fleet_ahead_ = applied.generation;
    verdict.mark_raised = true;
  }
  if (metrics_) metrics_->older_than_fleet = true;
  return verdict;
}

void TableState::reported(TableVersion applied) {
  highest_reported_generation_ = std::max(highest_reported_generation_, applied.generation);
}

std::uint64_t TableState::lift_target() const {
  return std::max({newest_.generation, highest_reported_generation_, fleet_ahead_}) + 1;
}

void TableState::lifted(std::uint64_t target) {
  fleet_ahead_ = 0;
  if (metrics_) {
    metrics_->older_than_fleet = false;
    ++metrics_->generation_lifts;
  }
  newest_ = {target, 0};
  config_dirty_ = true;
  // Versions of the old generation are no base for a delta.
  change_log_.clear();
  change_log_keys_ = 0;
  delta_floor_ = {target, 1};
}

Status TableState::check_adoptable(const std::string& id) const {
  if (!valid_registry_id(id)) return Status::invalid("registry_id", "must match [A-Za-z0-9_.:-]{1,128}");
  if (id == options_.registry_id)
    return Status::invalid("registry_id", "\"" + id + "\" is this tg-control's own registry");
  return Status{};
}

void TableState::adopted(const std::string& id) {
  adopted_.insert(id);
  // A new version carries the adopted list to the proxies that refused.
  envelope_dirty_ = true;
}

void TableState::registry_info(v1::RegistryInfo* out) const {
  out->set_registry_id(options_.registry_id);
  out->set_generation(newest_.generation);
  to_proto(newest_, out->mutable_newest());
  for (const std::string& id : adopted_) out->add_adopted_registry_ids(id);
  if (fleet_ahead_ != 0)
    out->set_database_older_than_fleet("proxies of this registry reported generation " + std::to_string(fleet_ahead_) +
                                       ", newer than this database; restart tg-control with --accept-restore if "
                                       "the restore is intended");
  out->set_accept_restore(options_.accept_restore);
}

}  // namespace tg::control
