// Admin operations on tenants and services.
#include "registry/field_mask.hpp"
#include "registry/operation.hpp"
#include "registry/validate.hpp"

#include <google/protobuf/util/message_differencer.h>

namespace tg::control {

using detail::finish;
using detail::quoted;
using detail::set_api_source;

Status Registry::check_key_files(const v1::Tenant& desired, const v1::Tenant* existing,
                                 const std::string& field) const {
  if (!key_check_ || !desired.has_jwt()) return {};
  if (existing && existing->has_jwt() &&
      google::protobuf::util::MessageDifferencer::Equals(existing->jwt(), desired.jwt()))
    return {};
  return key_check_(desired.jwt(), field);
}

Status Registry::list_tenants(const v1::ListTenantsRequest&, v1::ListTenantsResponse* out) const {
  for (const auto& [id, tenant] : tenants_) {
    v1::Tenant* listed = out->add_tenants();
    *listed = tenant;
    hide_credential_hashes(listed);
  }
  return {};
}

Status Registry::get_tenant(const v1::GetTenantRequest& request, v1::Tenant* out) const {
  if (request.id().empty()) return Status::invalid("id", "required");
  auto it = tenants_.find(request.id());
  if (it == tenants_.end()) return Status::not_found("tenant " + quoted(request.id()) + " not found");
  *out = it->second;
  hide_credential_hashes(out);
  return {};
}

Status Registry::create_tenant(const v1::CreateTenantRequest& request, const WriteContext& context,
                               v1::Tenant* out, CommitBatch* batch) {
  v1::Tenant tenant = request.tenant();
  tenant.clear_meta();
  if (Status status = normalise_tenant(tenant); !status.ok()) return status;
  if (tenants_.contains(tenant.id())) return Status::exists("tenant " + quoted(tenant.id()) + " already exists");
  if (Status status = check_key_files(tenant, nullptr, "tenant.jwt"); !status.ok()) return status;
  set_api_source(tenant.mutable_meta());
  Transaction tx(*this, context);
  const std::string id = tenant.id();
  tx.put(std::move(tenant));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = tenants_.at(id);
  hide_credential_hashes(out);
  return {};
}

Status Registry::update_tenant(const v1::UpdateTenantRequest& request, const WriteContext& context,
                               v1::Tenant* out, CommitBatch* batch) {
  v1::Tenant tenant = request.tenant();
  tenant.clear_meta();
  tenant.clear_credentials();  // kept: managed by the credential calls
  if (Status status = normalise_tenant(tenant); !status.ok()) return status;
  auto it = tenants_.find(tenant.id());
  if (it == tenants_.end()) return Status::not_found("tenant " + quoted(tenant.id()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "tenant", tenant.id());
      !status.ok())
    return status;
  *tenant.mutable_credentials() = it->second.credentials();
  if (Status status = check_key_files(tenant, &it->second, "tenant.jwt"); !status.ok()) return status;
  set_api_source(tenant.mutable_meta());
  Transaction tx(*this, context);
  const std::string id = tenant.id();
  tx.put(std::move(tenant));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = tenants_.at(id);
  hide_credential_hashes(out);
  return {};
}

Status Registry::patch_tenant(const v1::PatchTenantRequest& request, const WriteContext& context,
                              v1::Tenant* out, CommitBatch* batch) {
  const std::string& id = request.tenant().id();
  if (id.empty()) return Status::invalid("tenant.id", "required");
  auto it = tenants_.find(id);
  v1::Tenant tenant = it == tenants_.end() ? v1::Tenant() : it->second;
  std::vector<std::string> label_keys;
  if (Status status =
          apply_field_mask(request.update_mask(), request.tenant(), tenant, {"labels", "limits", "jwt"}, &label_keys);
      !status.ok())
    return status;
  if (it == tenants_.end()) return Status::not_found("tenant " + quoted(id) + " not found");
  apply_label_keys(label_keys, request.tenant().labels(), *tenant.mutable_labels());
  tenant.clear_meta();
  if (Status status = normalise_tenant(tenant); !status.ok()) return status;
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "tenant", id); !status.ok())
    return status;
  if (Status status = check_key_files(tenant, &it->second, "tenant.jwt"); !status.ok()) return status;
  set_api_source(tenant.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(tenant));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = tenants_.at(id);
  hide_credential_hashes(out);
  return {};
}

Status Registry::delete_tenant(const v1::DeleteTenantRequest& request, const WriteContext& context,
                               v1::DeleteResponse* out, CommitBatch* batch) {
  if (request.id().empty()) return Status::invalid("id", "required");
  auto it = tenants_.find(request.id());
  if (it == tenants_.end()) return Status::not_found("tenant " + quoted(request.id()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "tenant", request.id());
      !status.ok())
    return status;
  Transaction tx(*this, context);
  tx.erase_through_api(ObjectKind::tenant, request.id());
  if (Status status = finish(tx, batch); !status.ok()) return status;
  out->set_revision(revision_);
  return {};
}

Status Registry::list_services(const v1::ListServicesRequest& request, v1::ListServicesResponse* out) const {
  for (const auto& [name, service] : services_)
    if (request.tenant().empty() || service.tenant() == request.tenant()) *out->add_services() = service;
  return {};
}

Status Registry::get_service(const v1::GetServiceRequest& request, v1::Service* out) const {
  if (request.name().empty()) return Status::invalid("name", "required");
  auto it = services_.find(request.name());
  if (it == services_.end()) return Status::not_found("service " + quoted(request.name()) + " not found");
  *out = it->second;
  return {};
}

Status Registry::create_service(const v1::CreateServiceRequest& request, const WriteContext& context,
                                v1::Service* out, CommitBatch* batch) {
  v1::Service service = request.service();
  service.clear_meta();
  if (Status status = normalise_service(service); !status.ok()) return status;
  if (services_.contains(service.name()))
    return Status::exists("service " + quoted(service.name()) + " already exists");
  set_api_source(service.mutable_meta());
  Transaction tx(*this, context);
  const std::string name = service.name();
  tx.put(std::move(service));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = services_.at(name);
  return {};
}

Status Registry::update_service(const v1::UpdateServiceRequest& request, const WriteContext& context,
                                v1::Service* out, CommitBatch* batch) {
  v1::Service service = request.service();
  service.clear_meta();
  if (Status status = normalise_service(service); !status.ok()) return status;
  auto it = services_.find(service.name());
  if (it == services_.end()) return Status::not_found("service " + quoted(service.name()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "service", service.name());
      !status.ok())
    return status;
  set_api_source(service.mutable_meta());
  Transaction tx(*this, context);
  const std::string name = service.name();
  tx.put(std::move(service));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = services_.at(name);
  return {};
}

Status Registry::patch_service(const v1::PatchServiceRequest& request, const WriteContext& context,
                               v1::Service* out, CommitBatch* batch) {
  const std::string& name = request.service().name();
  if (name.empty()) return Status::invalid("service.name", "required");
  auto it = services_.find(name);
  v1::Service service = it == services_.end() ? v1::Service() : it->second;
  if (Status status = apply_field_mask(request.update_mask(), request.service(), service,
                                       {"tenant", "lb_policy", "hash_key", "health_check", "outlier", "retry",
                                        "timeouts", "limits"});
      !status.ok())
    return status;
  if (it == services_.end()) return Status::not_found("service " + quoted(name) + " not found");
  service.clear_meta();
  if (Status status = normalise_service(service); !status.ok()) return status;
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "service", name); !status.ok())
    return status;
  set_api_source(service.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(service));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = services_.at(name);
  return {};
}

Status Registry::delete_service(const v1::DeleteServiceRequest& request, const WriteContext& context,
                                v1::DeleteResponse* out, CommitBatch* batch) {
  if (request.name().empty()) return Status::invalid("name", "required");
  auto it = services_.find(request.name());
  if (it == services_.end()) return Status::not_found("service " + quoted(request.name()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "service", request.name());
      !status.ok())
    return status;
  Transaction tx(*this, context);
  tx.erase_through_api(ObjectKind::service, request.name());
  if (Status status = finish(tx, batch); !status.ok()) return status;
  out->set_revision(revision_);
  return {};
}

}  // namespace tg::control
