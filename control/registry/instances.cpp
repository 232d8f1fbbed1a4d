// Admin operations on instances, heartbeats and their TTL expiry, and the
// one path that commits a health flip with its event.
//
// Health at registration: an instance of a service with a health check is
// HEALTH_UNHEALTHY ("awaiting first health check") until its first check
// passes (control/health/ flips it); otherwise HEALTH_HEALTHY at once. One
// with a heartbeat TTL is healthy while it heartbeats in time,
// HEALTH_UNHEALTHY ("heartbeat expired") once its deadline passes, and
// healthy again on its next heartbeat.
#include "registry/field_mask.hpp"
#include "registry/operation.hpp"
#include "registry/validate.hpp"

#include <cstdio>

namespace tg::control {

using detail::finish;
using detail::quoted;

namespace {

constexpr const char* expired_reason = "heartbeat expired";

std::string_view health_text(v1::Health health) {
  switch (health) {
    case v1::HEALTH_HEALTHY: return "healthy";
    case v1::HEALTH_UNHEALTHY: return "unhealthy";
    default: return "unknown";
  }
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + '"';
}

void set_health(v1::Instance& instance, v1::Health health, const std::string& reason, std::int64_t now) {
  instance.set_health(health);
  instance.set_health_reason(reason);
  instance.set_health_changed_unix_ms(now);
}

// The event of one flip of `instance` (its new state) from (old_health, old_reason).
EventRecord health_event(const v1::Instance& instance, const std::string& service_name, v1::Health old_health,
                         const std::string& old_reason, const std::string& source, std::int64_t now,
                         const std::string& tenant) {
  EventRecord event;
  event.time_unix_ms = now;
  event.source = source;
  event.kind = health_event_kind;
  event.level = instance.health() == v1::HEALTH_UNHEALTHY ? "warning" : "info";
  event.tenant = tenant;
  event.service = service_name;
  event.instance = instance.id();
  const std::string old_text(health_text(old_health)), new_text(health_text(instance.health()));
  event.fingerprint = instance.id() + " " + old_text + "->" + new_text + " " + instance.health_reason();
  event.message = old_text + " -> " + new_text + " (" + instance.health_reason() + ")";
  event.detail_json = "{\"old\":" + json_string(old_text) + ",\"old_reason\":" + json_string(old_reason) +
                      ",\"new\":" + json_string(new_text) + ",\"reason\":" + json_string(instance.health_reason()) +
                      ",\"address\":" + json_string(instance.address()) + "}";
  return event;
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
  if (auto service = services_.find(instance.service());
      service != services_.end() && service->second.has_health_check()) {
    set_health(instance, v1::HEALTH_UNHEALTHY, awaiting_check_reason, now);
  } else {
    set_health(instance, v1::HEALTH_HEALTHY, request.heartbeat_ttl_ms() > 0 ? "registered" : "no health check", now);
  }
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
    // With an active health check the instance comes back as its check
    // last left it: awaiting one (no traffic) until a check passes.
    auto service = services_.find(instance.service());
    const bool checked = service != services_.end() && service->second.has_health_check();
    set_health(revived, checked ? v1::HEALTH_UNHEALTHY : v1::HEALTH_HEALTHY,
               checked ? awaiting_check_reason : "heartbeat received", now);
    Transaction tx(*this, context);
    tx.put(std::move(revived));
    if (Status status = finish(tx, batch); !status.ok()) return status;
    const v1::Instance& current = instances_.at(request.id());
    batch->events.push_back(health_event(current, current.service(), v1::HEALTH_UNHEALTHY, expired_reason,
                                         "heartbeat", now, service != services_.end() ? service->second.tenant() : std::string()));
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
  std::vector<HealthFlip> flips;
  for (auto it = heartbeat_deadlines_.begin(); it != heartbeat_deadlines_.end();) {
    if (it->second > now_steady) {
      ++it;
      continue;
    }
    auto found = instances_.find(it->first);
    if (found != instances_.end() && found->second.health() != v1::HEALTH_UNHEALTHY)
      flips.push_back(HealthFlip{it->first, v1::HEALTH_UNHEALTHY, expired_reason});
    it = heartbeat_deadlines_.erase(it);  // re-armed by the next heartbeat
  }
  return apply_health_flips(flips, "HeartbeatExpired", "heartbeat");
}

CommitBatch Registry::apply_health_flips(const std::vector<HealthFlip>& flips, const std::string& method,
                                         const std::string& source) {
  const std::int64_t now = clock_.unix_ms();
  Transaction tx(*this, WriteContext{system_actor, method});
  struct Before {
    std::string id;
    v1::Health health;
    std::string reason;
  };
  std::vector<Before> before;
  for (const HealthFlip& flip : flips) {
    const v1::Instance* current = tx.instance(flip.instance);
    if (current == nullptr) continue;
    if (current->health() == flip.health && current->health_reason() == flip.reason) continue;
    before.push_back(Before{flip.instance, current->health(), current->health_reason()});
    v1::Instance instance = *current;
    set_health(instance, flip.health, flip.reason, now);
    tx.put(std::move(instance));
  }
  if (before.empty() || !tx.check().ok()) return {};  // check cannot fail: only health changes
  CommitBatch batch = tx.commit();
  for (const Before& b : before) {
    const v1::Instance& instance = instances_.at(b.id);
    std::string tenant;
    if (auto service = services_.find(instance.service()); service != services_.end()) tenant = service->second.tenant();
    batch.events.push_back(health_event(instance, instance.service(), b.health, b.reason, source, now, tenant));
  }
  return batch;
}

}  // namespace tg::control
