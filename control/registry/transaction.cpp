#include "registry/transaction.hpp"

#include "registry/json.hpp"

#include "text/quoted.hpp"

namespace tg::control {
namespace {

template <class T>
const T* final_view(const std::map<std::string, std::optional<T>>& overlay, const std::map<std::string, T>& base,
                    const std::string& key) {
  if (auto it = overlay.find(key); it != overlay.end()) return it->second ? &*it->second : nullptr;
  if (auto it = base.find(key); it != base.end()) return &it->second;
  return nullptr;
}

template <class T>
const T* base_view(const std::map<std::string, T>& base, const std::string& key) {
  auto it = base.find(key);
  return it == base.end() ? nullptr : &it->second;
}

// Visits every object of the final view (base objects not staged, then staged ones).
template <class T, class F>
void for_each_final(const std::map<std::string, std::optional<T>>& overlay, const std::map<std::string, T>& base,
                    F&& visit) {
  for (const auto& [key, object] : base)
    if (!overlay.contains(key)) visit(object);
  for (const auto& [key, object] : overlay)
    if (object) visit(*object);
}

std::string parent_of(const v1::Tenant&) { return {}; }
std::string parent_of(const v1::Service& s) { return s.tenant(); }
std::string parent_of(const v1::Instance& i) { return i.service(); }
std::string parent_of(const v1::Route& r) { return r.service(); }

// Up to three names for messages, "a, b, c and 4 more".
std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 3; ++i) out += (i ? ", " : "") + quoted(names[i]);
  if (names.size() > 3) out += " and " + std::to_string(names.size() - 3) + " more";
  return out;
}

}  // namespace

Transaction::Transaction(Registry& registry, WriteContext context)
    : registry_(&registry), context_(std::move(context)), now_unix_ms_(registry.clock().unix_ms()) {}

const v1::Tenant* Transaction::tenant(const std::string& id) const {
  return final_view(tenants_, registry_->tenants_, id);
}
const v1::Service* Transaction::service(const std::string& name) const {
  return final_view(services_, registry_->services_, name);
}
const v1::Instance* Transaction::instance(const std::string& id) const {
  return final_view(instances_, registry_->instances_, id);
}
const v1::Route* Transaction::route(const std::string& name) const {
  return final_view(routes_, registry_->routes_, name);
}

void Transaction::touch(ObjectKind kind, const std::string& name, bool unchanged) {
  auto [it, inserted] = touched_.emplace(std::make_pair(kind, name), order_.size());
  if (!inserted) {
    order_[it->second].unchanged = order_[it->second].unchanged && unchanged;
    return;
  }
  order_.push_back(Touch{kind, name, unchanged});
}

void Transaction::stamp(v1::Meta* meta, const v1::Meta* previous) const {
  meta->set_created_unix_ms(previous ? previous->created_unix_ms() : now_unix_ms_);
  meta->set_updated_unix_ms(now_unix_ms_);
  meta->set_revision(registry_->revision_ + 1);
}

void Transaction::put(v1::Tenant object) {
  const auto* previous = base_view(registry_->tenants_, object.id());
  stamp(object.mutable_meta(), previous ? &previous->meta() : nullptr);
  // A credential keeps its creation time while its name, kind and hash stay;
  // a new one (or a new hash under an old name) is created now.
  if (previous) carry_credential_times(*previous, object);
  for (v1::Credential& credential : *object.mutable_credentials())
    if (credential.created_unix_ms() == 0) credential.set_created_unix_ms(now_unix_ms_);
  touch(ObjectKind::tenant, object.id(), false);
  tenants_[object.id()] = std::move(object);
}
void Transaction::put(v1::Service object) {
  const auto* previous = base_view(registry_->services_, object.name());
  stamp(object.mutable_meta(), previous ? &previous->meta() : nullptr);
  touch(ObjectKind::service, object.name(), false);
  services_[object.name()] = std::move(object);
}
void Transaction::put(v1::Instance object) {
  const auto* previous = base_view(registry_->instances_, object.id());
  stamp(object.mutable_meta(), previous ? &previous->meta() : nullptr);
  touch(ObjectKind::instance, object.id(), false);
  instances_[object.id()] = std::move(object);
}
void Transaction::put(v1::Route object) {
  const auto* previous = base_view(registry_->routes_, object.name());
  stamp(object.mutable_meta(), previous ? &previous->meta() : nullptr);
  touch(ObjectKind::route, object.name(), false);
  routes_[object.name()] = std::move(object);
}

void Transaction::erase(ObjectKind kind, const std::string& name) {
  touch(kind, name, false);
  switch (kind) {
    case ObjectKind::tenant: tenants_[name].reset(); break;
    case ObjectKind::service: services_[name].reset(); break;
    case ObjectKind::instance: instances_[name].reset(); break;
    case ObjectKind::route: routes_[name].reset(); break;
  }
}

void Transaction::erase_through_api(ObjectKind kind, const std::string& name) {
  erase(kind, name);
  order_[touched_.at({kind, name})].through_api = true;
}

void Transaction::clear_tombstone(ObjectKind kind, const std::string& name) {
  cleared_tombstones_.push_back(TombstoneKey{kind, name});
}

void Transaction::note_unchanged(ObjectKind kind, const std::string& name) { touch(kind, name, true); }

Status Transaction::check(ObjectKind* kind_out, std::string* name_out) const {
  auto fail = [&](ObjectKind kind, const std::string& name, Status status) {
    if (kind_out) *kind_out = kind;
    if (name_out) *name_out = name;
    return status;
  };
  for (const auto& [name, service] : services_) {
    if (service) {
      if (!service->tenant().empty() && !tenant(service->tenant()))
        return fail(ObjectKind::service, name,
                    Status::not_found("service.tenant: tenant " + quoted(service->tenant()) + " not found"));
      continue;
    }
    std::vector<std::string> users;
    for_each_final(routes_, registry_->routes_, [&](const v1::Route& r) {
      if (r.service() == name) users.push_back("route " + quoted(r.name()));
    });
    for_each_final(instances_, registry_->instances_, [&](const v1::Instance& i) {
      if (i.service() == name) users.push_back("instance " + quoted(i.id()));
    });
    if (!users.empty()) {
      std::string list;
      for (std::size_t i = 0; i < users.size() && i < 3; ++i) list += (i ? ", " : "") + users[i];
      if (users.size() > 3) list += " and " + std::to_string(users.size() - 3) + " more";
      return fail(ObjectKind::service, name,
                  Status::precondition("service " + quoted(name) + " is still used by " + list +
                                       "; delete or move them first"));
    }
  }
  for (const auto& [id, tenant_object] : tenants_) {
    if (tenant_object) continue;
    std::vector<std::string> users;
    for_each_final(services_, registry_->services_, [&](const v1::Service& s) {
      if (s.tenant() == id) users.push_back(s.name());
    });
    if (!users.empty())
      return fail(ObjectKind::tenant, id,
                  Status::precondition("tenant " + quoted(id) + " still has services " + name_list(users) +
                                       "; delete them first"));
  }
  for (const auto& [id, instance_object] : instances_) {
    if (instance_object && !service(instance_object->service()))
      return fail(ObjectKind::instance, id,
                  Status::not_found("instance.service: service " + quoted(instance_object->service()) +
                                    " not found"));
  }
  for (const auto& [name, route_object] : routes_) {
    if (route_object && !service(route_object->service()))
      return fail(ObjectKind::route, name,
                  Status::not_found("route.service: service " + quoted(route_object->service()) + " not found"));
  }
  // `auth: required` admits the credentials of the service's tenant: a
  // service without one could admit nobody.
  for (const auto& [name, route_object] : routes_) {
    if (!route_object || route_object->auth() != v1::ROUTE_AUTH_REQUIRED) continue;
    if (const v1::Service* s = service(route_object->service()); s && s->tenant().empty())
      return fail(ObjectKind::route, name,
                  Status::invalid("route.auth", "route " + quoted(name) + " has auth required, but its service " +
                                                    quoted(s->name()) + " has no tenant"));
  }
  for (const auto& [name, service_object] : services_) {
    if (!service_object || !service_object->tenant().empty()) continue;
    std::string user;
    for_each_final(routes_, registry_->routes_, [&](const v1::Route& r) {
      if (user.empty() && r.service() == name && r.auth() == v1::ROUTE_AUTH_REQUIRED) user = r.name();
    });
    if (!user.empty())
      return fail(ObjectKind::service, name,
                  Status::invalid("service.tenant", "required: route " + quoted(user) +
                                                        " with auth required uses service " + quoted(name)));
  }
  // A token's `iss` selects its tenant: issuers are unique across tenants.
  bool jwt_staged = false;
  for (const auto& [id, tenant_object] : tenants_) jwt_staged = jwt_staged || (tenant_object && tenant_object->has_jwt());
  if (jwt_staged) {
    std::map<std::string, std::vector<std::string>> by_issuer;
    for_each_final(tenants_, registry_->tenants_, [&](const v1::Tenant& t) {
      if (t.has_jwt()) by_issuer[t.jwt().issuer()].push_back(t.id());
    });
    for (const auto& [id, tenant_object] : tenants_) {
      if (!tenant_object || !tenant_object->has_jwt()) continue;
      for (const std::string& other : by_issuer[tenant_object->jwt().issuer()])
        if (other != id)
          return fail(ObjectKind::tenant, id,
                      Status::invalid("tenant.jwt.issuer", quoted(tenant_object->jwt().issuer()) +
                                                               " is the issuer of tenant " + quoted(other) +
                                                               " too; issuers are unique across tenants"));
    }
  }
  return {};
}

namespace {

template <class T>
bool describe(const std::map<std::string, std::optional<T>>& overlay, const std::map<std::string, T>& base,
              const std::string& name, v1::Change& change) {
  const T* before = base_view(base, name);
  auto it = overlay.find(name);
  const T* after = it == overlay.end() ? before : (it->second ? &*it->second : nullptr);
  if (!before && !after) return false;  // created and deleted within the transaction
  if (before) change.set_before_json(to_json(*before));
  if (after) change.set_after_json(to_json(*after));
  change.set_action(!before ? v1::Change::ACTION_CREATE
                            : (!after ? v1::Change::ACTION_DELETE : v1::Change::ACTION_UPDATE));
  return true;
}

}  // namespace

std::vector<v1::Change> Transaction::changes() const {
  std::vector<v1::Change> out;
  for (const auto& t : order_) {
    v1::Change change;
    change.set_kind(std::string(to_string(t.kind)));
    change.set_name(t.name);
    bool present = false;
    switch (t.kind) {
      case ObjectKind::tenant: present = describe(tenants_, registry_->tenants_, t.name, change); break;
      case ObjectKind::service: present = describe(services_, registry_->services_, t.name, change); break;
      case ObjectKind::instance: present = describe(instances_, registry_->instances_, t.name, change); break;
      case ObjectKind::route: present = describe(routes_, registry_->routes_, t.name, change); break;
    }
    if (!present) continue;
    if (t.unchanged) {
      change.set_action(v1::Change::ACTION_UNCHANGED);
      change.clear_after_json();
    }
    out.push_back(std::move(change));
  }
  return out;
}

bool Transaction::has_changes() const {
  for (const auto& t : order_)
    if (!t.unchanged) return true;
  return false;
}

namespace {

template <class T>
void apply_one(std::map<std::string, std::optional<T>>& overlay, std::map<std::string, T>& base, ObjectKind kind,
               const std::string& name, CommitBatch& batch, AuditRecord audit) {
  auto it = overlay.find(name);
  if (it == overlay.end()) return;
  const T* before = base_view(base, name);
  if (!before && !it->second) return;
  if (before) audit.before_json = to_json(*before);
  Mutation mutation{kind, name, {}, std::nullopt};
  if (it->second) {
    audit.after_json = to_json(*it->second);
    mutation.parent = parent_of(*it->second);
    mutation.body = it->second->SerializeAsString();
    base[name] = std::move(*it->second);
  } else {
    base.erase(name);
  }
  overlay.erase(it);
  batch.mutations.push_back(std::move(mutation));
  batch.audit.push_back(std::move(audit));
}

}  // namespace

const v1::Meta* Transaction::base_meta(ObjectKind kind, const std::string& name) const {
  switch (kind) {
    case ObjectKind::tenant: if (auto* o = base_view(registry_->tenants_, name)) return &o->meta(); break;
    case ObjectKind::service: if (auto* o = base_view(registry_->services_, name)) return &o->meta(); break;
    case ObjectKind::instance: if (auto* o = base_view(registry_->instances_, name)) return &o->meta(); break;
    case ObjectKind::route: if (auto* o = base_view(registry_->routes_, name)) return &o->meta(); break;
  }
  return nullptr;
}

void Transaction::commit_tombstones(CommitBatch& batch) {
  auto drop = [&](ObjectKind kind, const std::string& name) {
    if (registry_->tombstones_.erase({kind, name})) batch.cleared_tombstones.push_back(TombstoneKey{kind, name});
  };
  for (const auto& key : cleared_tombstones_) drop(key.kind, key.name);
  cleared_tombstones_.clear();
  for (const auto& t : order_) {
    if (t.unchanged) continue;
    const v1::Meta* before = base_meta(t.kind, t.name);  // still the state before this commit
    const bool deleted = !final_exists(t.kind, t.name);
    if (!deleted) {
      drop(t.kind, t.name);  // managed again
    } else if (t.through_api && before && before->source().kind() == v1::Source::KIND_CONFIG_FILE) {
      Tombstone tombstone{t.kind, t.name, before->source().file(), before->source().line(), now_unix_ms_,
                          context_.actor};
      registry_->tombstones_[{t.kind, t.name}] = tombstone;
      batch.tombstones.push_back(std::move(tombstone));
    }
  }
}

bool Transaction::final_exists(ObjectKind kind, const std::string& name) const {
  switch (kind) {
    case ObjectKind::tenant: return tenant(name) != nullptr;
    case ObjectKind::service: return service(name) != nullptr;
    case ObjectKind::instance: return instance(name) != nullptr;
    case ObjectKind::route: return route(name) != nullptr;
  }
  return false;
}

void Transaction::rebase(Registry& target) {
  if (target.serial() != registry_->serial())
    throw std::logic_error("Transaction::rebase: the registries differ (serial " + std::to_string(target.serial()) +
                           " vs " + std::to_string(registry_->serial()) + ")");
  // A plain heartbeat changes last_heartbeat_unix_ms without a revision: the
  // live value wins over the copy's.
  for (auto& [id, staged] : instances_) {
    if (!staged) continue;
    if (auto it = target.instances_.find(id); it != target.instances_.end())
      staged->set_last_heartbeat_unix_ms(it->second.last_heartbeat_unix_ms());
  }
  registry_ = &target;
}

CommitBatch Transaction::commit() {
  CommitBatch batch;
  if (!has_changes()) {
    commit_tombstones(batch);  // only explicit clears can be left
    return batch;
  }
  commit_tombstones(batch);  // before the objects move: it reads the state before and after
  batch.revision = ++registry_->revision_;
  ++registry_->serial_;
  for (const auto& t : order_) {
    if (t.unchanged) continue;
    AuditRecord audit{now_unix_ms_, context_.actor, context_.method, std::string(to_string(t.kind)), t.name, {}, {}};
    switch (t.kind) {
      case ObjectKind::tenant: apply_one(tenants_, registry_->tenants_, t.kind, t.name, batch, audit); break;
      case ObjectKind::service: apply_one(services_, registry_->services_, t.kind, t.name, batch, audit); break;
      case ObjectKind::instance: {
        apply_one(instances_, registry_->instances_, t.kind, t.name, batch, audit);
        // Keep heartbeat deadlines in step: gone or TTL-less instances have none;
        // an instance with a TTL and no deadline yet gets a full TTL from now.
        auto it = registry_->instances_.find(t.name);
        if (it == registry_->instances_.end() || it->second.heartbeat_ttl_ms() == 0) {
          registry_->heartbeat_deadlines_.erase(t.name);
        } else if (!registry_->heartbeat_deadlines_.contains(t.name) &&
                   it->second.health() != v1::HEALTH_UNHEALTHY) {
          registry_->heartbeat_deadlines_[t.name] =
              registry_->clock().steady() + std::chrono::milliseconds(it->second.heartbeat_ttl_ms());
        }
        break;
      }
      case ObjectKind::route: apply_one(routes_, registry_->routes_, t.kind, t.name, batch, audit); break;
    }
  }
  order_.clear();
  touched_.clear();
  return batch;
}

}  // namespace tg::control
