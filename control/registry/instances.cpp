// Admin operations on instances, heartbeats and their TTL expiry.
//
// Health without an active checker (not built yet): an instance without a
// heartbeat TTL is HEALTH_HEALTHY from registration on; one with a TTL is
// healthy while it heartbeats in time, HEALTH_UNHEALTHY ("heartbeat
// expired") once its deadline passes, and healthy again on its next heartbeat.
#include "registry/field_mask.hpp"
#include "registry/operation.hpp"
#include "registry/validate.hpp"

namespace tg::control {

using detail::finish;
using detail::quoted;

namespace {

constexpr const char* expired_reason = "heartbeat expired";

void set_health(v1::Instance& instance, v1::Health health, const std::string& reason, std::int64_t now) {
  instance.set_health(health);
  instance.set_health_reason(reason);
  instance.set_health_changed_unix_ms(now);
}

}  // namespace

Status Registry::register_instance(const v1::RegisterInstanceRequest& request, const WriteContext& context,
                                   v1::Instance* out, CommitBatch* batch) {
  v1::Instance instance = request.instance();
  // Output-only fields (registry.proto) are ignored when a client sends them.
  instance.clear_health();
  instance.clear_health_reason();
  instance.clear_health_changed_unix_ms();
  instance.clear_heartbeat_ttl_ms();
  instance.clear_last_heartbeat_unix_ms();
  instance.clear_meta();
  if (Status status = normalise_instance(instance); !status.ok()) return status;
  if (request.heartbeat_ttl_ms() > static_cast<std::uint64_t>(24) * 3600 * 1000)
    return Status::invalid("heartbeat_ttl_ms", "at most one day");
  const std::string id = instance.id();
  if (auto it = instances_.find(id); it != instances_.end()) {
    if (!request.replace()) return Status::exists("instance " + quoted(id) + " already exists (set replace to replace it)");
    if (Status status = check_editable(it->second.meta(), request.take_ownership(), "instance", id); !status.ok())
      return status;
  }
  const std::int64_t now = clock_.unix_ms();
  instance.set_heartbeat_ttl_ms(request.heartbeat_ttl_ms());
  if (request.heartbeat_ttl_ms() > 0) instance.set_last_heartbeat_unix_ms(now);  // registering is a sign of life
  set_health(instance, v1::HEALTH_HEALTHY, request.heartbeat_ttl_ms() > 0 ? "registered" : "no health check", now);
  detail::set_api_source(instance.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(instance));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  heartbeat_deadlines_.erase(id);  // a full TTL from now
  if (request.heartbeat_ttl_ms() > 0)
    heartbeat_deadlines_[id] = clock_.steady() + std::chrono::milliseconds(request.heartbeat_ttl_ms());
  *out = instances_.at(id);
  return {};
}

Status Registry::deregister_instance(const v1::DeregisterInstanceRequest& request, const WriteContext& context,
                                     v1::DeleteResponse* out, CommitBatch* batch) {
  if (request.id().empty()) return Status::invalid("id", "required");
  auto it = instances_.find(request.id());
  if (it == instances_.end()) return Status::not_found("instance " + quoted(request.id()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "instance", request.id());
      !status.ok())
    return status;
  Transaction tx(*this, context);
  tx.erase_through_api(ObjectKind::instance, request.id());
  if (Status status = finish(tx, batch); !status.ok()) return status;
  out->set_revision(revision_);
  return {};
}

Status Registry::heartbeat(const v1::HeartbeatRequest& request, const WriteContext& context,
                           v1::HeartbeatResponse* out, CommitBatch* batch) {
  if (request.id().empty()) return Status::invalid("id", "required");
  auto it = instances_.find(request.id());
  if (it == instances_.end()) return Status::not_found("instance " + quoted(request.id()) + " not found");
  v1::Instance& instance = it->second;
  const std::int64_t now = clock_.unix_ms();
  if (instance.heartbeat_ttl_ms() > 0)
    heartbeat_deadlines_[request.id()] = clock_.steady() + std::chrono::milliseconds(instance.heartbeat_ttl_ms());
  if (instance.health() == v1::HEALTH_UNHEALTHY && instance.health_reason() == expired_reason) {
    v1::Instance revived = instance;
    revived.set_last_heartbeat_unix_ms(now);
    set_health(revived, v1::HEALTH_HEALTHY, "heartbeat received", now);
    Transaction tx(*this, context);
    tx.put(std::move(revived));
    if (Status status = finish(tx, batch); !status.ok()) return status;
  } else {
    instance.set_last_heartbeat_unix_ms(now);  // memory only; see registry.hpp
  }
  const v1::Instance& current = instances_.at(request.id());
  out->set_heartbeat_ttl_ms(current.heartbeat_ttl_ms());
  out->set_health(current.health());
  return {};
}

Status Registry::discover_instances(const v1::DiscoverInstancesRequest& request,
                                    v1::DiscoverInstancesResponse* out) const {
  if (request.service().empty()) return Status::invalid("service", "required");
  if (!services_.contains(request.service()))
    return Status::not_found("service " + quoted(request.service()) + " not found");
  for (const auto& [id, instance] : instances_)
    if (instance.service() == request.service()) *out->add_instances() = instance;
  return {};
}

Status Registry::set_instance_state(const v1::SetInstanceStateRequest& request, const WriteContext& context,
                                    v1::Instance* out, CommitBatch* batch) {
  if (request.id().empty()) return Status::invalid("id", "required");
  if (request.admin_state() == v1::ADMIN_STATE_UNSPECIFIED || !v1::AdminState_IsValid(request.admin_state()))
    return Status::invalid("admin_state", "required: ADMIN_STATE_ACTIVE, ADMIN_STATE_DRAINING or ADMIN_STATE_DISABLED");
  auto it = instances_.find(request.id());
  if (it == instances_.end()) return Status::not_found("instance " + quoted(request.id()) + " not found");
  // Operational state, not configuration: allowed whoever owns the instance,
  // and kept when a config file is re-applied.
  v1::Instance instance = it->second;
  instance.set_admin_state(request.admin_state());
  Transaction tx(*this, context);
  tx.put(std::move(instance));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = instances_.at(request.id());
  return {};
}

Status Registry::patch_instance(const v1::PatchInstanceRequest& request, const WriteContext& context,
                                v1::Instance* out, CommitBatch* batch) {
  const std::string& id = request.instance().id();
  if (id.empty()) return Status::invalid("instance.id", "required");
  auto it = instances_.find(id);
  v1::Instance instance = it == instances_.end() ? v1::Instance() : it->second;
  std::vector<std::string> label_keys;
  if (Status status = apply_field_mask(request.update_mask(), request.instance(), instance,
                                       {"address", "weight", "admin_state", "labels"}, &label_keys);
      !status.ok())
    return status;
  if (it == instances_.end()) return Status::not_found("instance " + quoted(id) + " not found");
  apply_label_keys(label_keys, request.instance().labels(), *instance.mutable_labels());
  // Health, its reason and the heartbeat TTL are the registry's, kept as they
  // are; so is the meta apart from the source.
  if (Status status = normalise_instance(instance); !status.ok()) return status;
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "instance", id); !status.ok())
    return status;
  detail::set_api_source(instance.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(instance));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = instances_.at(id);
  return {};
}

Status Registry::list_instances(const v1::ListInstancesRequest& request, v1::ListInstancesResponse* out) const {
  if (!v1::AdminState_IsValid(request.admin_state())) return Status::invalid("admin_state", "unknown state");
  if (!v1::Health_IsValid(request.health())) return Status::invalid("health", "unknown health");
  for (const auto& [id, instance] : instances_) {
    if (!request.service().empty() && instance.service() != request.service()) continue;
    if (!request.tenant().empty()) {
      auto service = services_.find(instance.service());
      if (service == services_.end() || service->second.tenant() != request.tenant()) continue;
    }
    if (request.admin_state() != v1::ADMIN_STATE_UNSPECIFIED && instance.admin_state() != request.admin_state())
      continue;
    if (request.health() != v1::HEALTH_UNSPECIFIED && instance.health() != request.health()) continue;
    *out->add_instances() = instance;
  }
  return {};
}

CommitBatch Registry::expire_heartbeats() {
  const auto now_steady = clock_.steady();
  const std::int64_t now = clock_.unix_ms();
  Transaction tx(*this, WriteContext{system_actor, "HeartbeatExpired"});
  std::vector<std::string> expired;
  for (auto it = heartbeat_deadlines_.begin(); it != heartbeat_deadlines_.end();) {
    if (it->second > now_steady) {
      ++it;
      continue;
    }
    expired.push_back(it->first);
    it = heartbeat_deadlines_.erase(it);  // re-armed by the next heartbeat
  }
  for (const std::string& id : expired) {
    auto found = instances_.find(id);
    if (found == instances_.end() || found->second.health() == v1::HEALTH_UNHEALTHY) continue;
    v1::Instance instance = found->second;
    set_health(instance, v1::HEALTH_UNHEALTHY, expired_reason, now);
    tx.put(std::move(instance));
  }
  if (!tx.check().ok()) return {};  // cannot happen: only health changes
  return tx.commit();
}

}  // namespace tg::control
