#include "stream/table_state.hpp"

#include "stream/version_proto.hpp"
#include "table/table_digest.hpp"
#include "text/node_id.hpp"

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

void TableState::set_entry(Kind kind, const std::string& name, std::string entry) {
  auto [it, inserted] = entries_[kind].try_emplace(name);
  if (!inserted) {
    entry_bytes_[kind] -= it->second.size();
    digest_ -= table::element_digest(it->second);
  }
  entry_bytes_[kind] += entry.size();
  digest_ += table::element_digest(entry);
  it->second = std::move(entry);
}

bool TableState::erase_entry(Kind kind, const std::string& name) {
  auto it = entries_[kind].find(name);
  if (it == entries_[kind].end()) return false;
  entry_bytes_[kind] -= it->second.size();
  digest_ -= table::element_digest(it->second);
  entries_[kind].erase(it);
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
  return true;
}

std::shared_ptr<const TableUpdate> TableState::assemble() const {
  std::size_t total = 0;
  for (std::size_t bytes : entry_bytes_) total += bytes;
  std::string payload;
  payload.reserve(total);
  for (const auto& entries : entries_)
    for (const auto& [name, entry] : entries) payload += entry;
  v1::StreamTableResponse response;
  to_proto(newest_, response.mutable_version());
  response.set_config(std::move(payload));
  response.set_kind(v1::UPDATE_KIND_FULL);
  stamp(response);
  return std::make_shared<const TableUpdate>(std::move(response));
}

// The envelope fields every update of the newest version shares.
void TableState::stamp(v1::StreamTableResponse& response) const {
  response.set_registry_id(options_.registry_id);
  response.set_digest(newest_digest_);
  for (const std::string& id : adopted_) response.add_adopted_registry_ids(id);
}

void TableState::remember_digest() {
  newest_digest_ = digest_;
  digests_[newest_] = digest_;
  while (digests_.size() > kept_digests) digests_.erase(digests_.begin());
}

std::shared_ptr<const TableUpdate> TableState::full_newest() {
  if (newest_ == last_config_) return config_;
  // The newest is a health version: a proxy without a usable base gets the
  // whole table as of now (the entries hold the current states), built once.
  if (!full_newest_) full_newest_ = assemble();
  return full_newest_;
}

void TableState::build_config(SteadyClock::time_point start) {
  config_ = assemble();
  const std::size_t total = config_->message().config().size();
  last_config_ = newest_;
  health_log_.clear();
  changed_since_config_.clear();
  const double seconds = seconds_since(start);
  spdlog::info("tg-control: table {}: {} tenants, {} services, {} instances, {} routes, {} bytes, built in {:.1f} ms",
               to_string(newest_), entries_[tenants].size(), entries_[services].size(), entries_[instances].size(),
               entries_[routes].size(), total, seconds * 1e3);
  if (metrics_) {
    TableMetrics& t = *metrics_;
    t.generation = newest_.generation;
    t.counter = newest_.counter;
    ++t.config_versions;
    t.build_seconds = seconds;
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


std::shared_ptr<const TableUpdate> TableState::update_for(bool own, TableVersion applied, bool* delta) {
  *delta = own && applied.generation == newest_.generation && applied >= last_config_ && applied < newest_;
  // The whole table at a health version is assembled from the entries, which
  // must then hold exactly that version: while changes wait for publish(),
  // the proxy gets the next version instead.
  if (!*delta && newest_ != last_config_ && !full_newest_ && (config_dirty_ || !health_dirty_.empty()))
    return nullptr;
  return *delta ? health_since(applied) : full_newest();
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
