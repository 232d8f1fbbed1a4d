// Admin operations on tenant credentials (admin.proto, "tenant credentials").
// A credential lives inside its tenant (Tenant.credentials): creating or
// deleting one is a change of the tenant, committed, audited and pushed to
// the proxies like any other (a delete revokes with the next table version).
// Only the SHA-256 of a secret is kept; the secret is in the create response
// and nowhere else (not in the audit row, not in a log line).
#include "auth/secret.hpp"
#include "registry/operation.hpp"
#include "registry/validate.hpp"

#include <algorithm>

namespace tg::control {

using detail::finish;
using detail::quoted;
using detail::set_api_source;

namespace {

Status find_tenant(const std::map<std::string, v1::Tenant>& tenants, const std::string& id,
                   const v1::Tenant** out) {
  if (id.empty()) return Status::invalid("tenant", "required");
  auto it = tenants.find(id);
  if (it == tenants.end()) return Status::not_found("tenant " + quoted(id) + " not found");
  *out = &it->second;
  return {};
}

}  // namespace

void hide_credential_hashes(v1::Tenant* tenant) {
  for (v1::Credential& credential : *tenant->mutable_credentials()) credential.clear_sha256();
}

void carry_credential_times(const v1::Tenant& from, v1::Tenant& to) {
  for (v1::Credential& credential : *to.mutable_credentials()) {
    if (credential.created_unix_ms() != 0) continue;
    for (const v1::Credential& old : from.credentials())
      if (old.name() == credential.name() && old.kind() == credential.kind() && old.sha256() == credential.sha256())
        credential.set_created_unix_ms(old.created_unix_ms());
  }
}

Status Registry::create_credential(const v1::CreateCredentialRequest& request, const WriteContext& context,
                                   v1::CreateCredentialResponse* out, CommitBatch* batch) {
  const v1::Tenant* existing = nullptr;
  if (Status status = find_tenant(tenants_, request.tenant(), &existing); !status.ok()) return status;
  if (std::string problem = credential_name_problem(request.name()); !problem.empty())
    return Status::invalid("name", problem);
  if (request.kind() != v1::Credential::KIND_API_KEY && request.kind() != v1::Credential::KIND_INGEST)
    return Status::invalid("kind", "must be KIND_API_KEY or KIND_INGEST");
  for (const v1::Credential& credential : existing->credentials())
    if (credential.name() == request.name())
      return Status::exists("credential " + quoted(request.name()) + " of tenant " + quoted(request.tenant()) +
                            " already exists");
  if (existing->credentials_size() >= static_cast<int>(size_limits::credentials))
    return Status::invalid("name", "tenant " + quoted(request.tenant()) + " has " +
                                       std::to_string(existing->credentials_size()) +
                                       " credentials; at most " + std::to_string(size_limits::credentials));
  if (Status status = check_editable(existing->meta(), request.take_ownership(), "tenant", request.tenant());
      !status.ok())
    return status;
  const auth::NewSecret secret = auth::new_secret();
  v1::Tenant tenant = *existing;
  v1::Credential* credential = tenant.add_credentials();
  credential->set_name(request.name());
  credential->set_kind(request.kind());
  credential->set_sha256(secret.digest.data(), secret.digest.size());
  credential->set_created_unix_ms(clock_.unix_ms());
  std::sort(tenant.mutable_credentials()->begin(), tenant.mutable_credentials()->end(),
            [](const v1::Credential& a, const v1::Credential& b) { return a.name() < b.name(); });
  set_api_source(tenant.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(tenant));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  for (const v1::Credential& stored : tenants_.at(request.tenant()).credentials())
    if (stored.name() == request.name()) *out->mutable_credential() = stored;
  out->mutable_credential()->clear_sha256();
  out->set_secret(secret.text);
  out->set_revision(revision_);
  return {};
}

Status Registry::list_credentials(const v1::ListCredentialsRequest& request,
                                  v1::ListCredentialsResponse* out) const {
  const v1::Tenant* tenant = nullptr;
  if (Status status = find_tenant(tenants_, request.tenant(), &tenant); !status.ok()) return status;
  std::vector<const v1::Credential*> sorted;
  for (const v1::Credential& credential : tenant->credentials()) sorted.push_back(&credential);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
  for (const v1::Credential* credential : sorted) {
    v1::Credential* listed = out->add_credentials();
    *listed = *credential;
    listed->clear_sha256();
  }
  return {};
}

Status Registry::delete_credential(const v1::DeleteCredentialRequest& request, const WriteContext& context,
                                   v1::DeleteResponse* out, CommitBatch* batch) {
  const v1::Tenant* existing = nullptr;
  if (Status status = find_tenant(tenants_, request.tenant(), &existing); !status.ok()) return status;
  if (request.name().empty()) return Status::invalid("name", "required");
  const auto& credentials = existing->credentials();
  auto found = std::find_if(credentials.begin(), credentials.end(),
                            [&](const v1::Credential& c) { return c.name() == request.name(); });
  if (found == credentials.end())
    return Status::not_found("credential " + quoted(request.name()) + " of tenant " + quoted(request.tenant()) +
                             " not found");
  if (Status status = check_editable(existing->meta(), request.take_ownership(), "tenant", request.tenant());
      !status.ok())
    return status;
  v1::Tenant tenant = *existing;
  tenant.mutable_credentials()->erase(tenant.mutable_credentials()->begin() + (found - credentials.begin()));
  set_api_source(tenant.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(tenant));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  out->set_revision(revision_);
  return {};
}

}  // namespace tg::control
