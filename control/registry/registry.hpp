// The in-memory registry of tenants, services, instances and routes, and every
// state transition on it (docs/control-plane.md). Owned by the owner loop: one thread
// calls it, so it needs no locks.
//
// Contract of every write operation: it validates the request against the
// current state; on error it returns the Status (codes as admin.proto states)
// and changes nothing; on success it has changed the in-memory state, filled
// the response and `batch` (the change to make durable, with its audit rows
// and the new revision). The caller answers only after the batch committed.
// Reads issued meanwhile see the change already (it cannot be lost unless the
// commit fails: then Core reloads the registry from the store, or stops
// tg-control; see docs/control-plane.md).
//
// Pure logic: no I/O, no threads, the clock injected. Tests drive it directly.
#pragma once

#include "clock.hpp"
#include "registry/validate.hpp"
#include "status.hpp"
#include "store/store.hpp"

#include "tenantgate/v1/admin.pb.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tg::config {
struct Config;
struct LoadResult;
}

namespace tg::control {

namespace v1 = ::tenantgate::v1;

// Who makes a change and through which method (audit rows).
struct WriteContext {
  std::string actor;
  std::string method;
};

// Actor and method of changes tg-control makes by itself.
inline constexpr const char* system_actor = "tg-control";

// A YAML document to apply with its source file.
struct Document {
  const config::Config* config = nullptr;
  std::string file;
};

struct ApplyOptions {
  v1::Source::Kind kind = v1::Source::KIND_APPLY;
  bool prune = false;           // delete objects of these files (same kind) the documents no longer hold
  bool take_ownership = false;  // KIND_APPLY: take over objects another source owns
  bool dry_run = false;         // compute the changes only
};

class Transaction;

// A change of an instance's health that tg-control makes by itself: an active
// health check past its threshold, a heartbeat deadline.
struct HealthFlip {
  std::string instance;
  v1::Health health = v1::HEALTH_UNSPECIFIED;
  std::string reason;  // "http 503", "connect refused", "timeout", "heartbeat expired", ...
};

// The health reason of an instance of a service with a health check before
// its first check passed (it gets no traffic until then).
inline constexpr const char* awaiting_check_reason = "awaiting first health check";
// Event fields of health flips.
inline constexpr const char* health_event_kind = "health";

class Registry {
 public:
  explicit Registry(const Clock& clock);

  // Replaces the state with what a store holds, after checking all of it:
  // every body parses, every row's key columns equal the name and parent in
  // its body, every parent (service → tenant, instance/route → service) is
  // loaded too. Otherwise throws std::runtime_error naming the rows (kind,
  // key; the first 10) and changes nothing. Heartbeat deadlines restart: an instance with a TTL
  // gets a full TTL from now (it could not heartbeat while we were down).
  void load(const LoadedState& state);

  std::uint64_t revision() const { return revision_; }
  // Changes with every committed transaction and every load(): two
  // registries (a live one and a copy) with equal serials hold the same
  // objects, but for last_heartbeat_unix_ms (a plain heartbeat changes it alone).
  std::uint64_t serial() const { return serial_; }
  std::uint64_t generation() const { return generation_; }
  void set_generation(std::uint64_t generation) { generation_ = generation; }
  const Clock& clock() const { return clock_; }

  const std::map<std::string, v1::Tenant>& tenants() const { return tenants_; }
  const std::map<std::string, v1::Service>& services() const { return services_; }
  const std::map<std::string, v1::Instance>& instances() const { return instances_; }
  const std::map<std::string, v1::Route>& routes() const { return routes_; }
  // File-owned objects deleted through the API (see Transaction::erase).
  using TombstoneMap = std::map<std::pair<ObjectKind, std::string>, Tombstone>;
  const TombstoneMap& tombstones() const { return tombstones_; }
  const Tombstone* tombstone(ObjectKind kind, const std::string& name) const;

  // A tenant's JWT key files (jwks_file, hs256_secret_file) must be readable
  // and hold usable keys when a create, update, patch or apply sets or
  // changes its jwt settings (not at startup: files are applied whatever
  // their keys, and the key service reports unreadable ones). `field` is the
  // field path for the message ("tenant.jwt"). Unset (tests): no check.
  using KeyCheck = std::function<Status(const v1::Jwt& jwt, const std::string& field)>;
  void set_key_check(KeyCheck check) { key_check_ = std::move(check); }
  // The check above for `desired` replacing `existing` (nullptr: created).
  Status check_key_files(const v1::Tenant& desired, const v1::Tenant* existing, const std::string& field) const;

  // ---- tenants and services (tenants_services.cpp)
  // Every tenant these return has its credentials' sha256 cleared (the
  // table stream carries them, the Admin API never). Update and Patch keep a
  // tenant's credentials whatever the request holds: they are managed by
  // the credential calls below (or by YAML through Apply and config files).
  Status list_tenants(const v1::ListTenantsRequest& request, v1::ListTenantsResponse* out) const;
  Status get_tenant(const v1::GetTenantRequest& request, v1::Tenant* out) const;
  Status create_tenant(const v1::CreateTenantRequest& request, const WriteContext& context, v1::Tenant* out,
                       CommitBatch* batch);
  Status update_tenant(const v1::UpdateTenantRequest& request, const WriteContext& context, v1::Tenant* out,
                       CommitBatch* batch);
  // The Patch calls: only the masked fields change (field_mask.hpp).
  Status patch_tenant(const v1::PatchTenantRequest& request, const WriteContext& context, v1::Tenant* out,
                      CommitBatch* batch);
  Status delete_tenant(const v1::DeleteTenantRequest& request, const WriteContext& context,
                       v1::DeleteResponse* out, CommitBatch* batch);
  Status list_services(const v1::ListServicesRequest& request, v1::ListServicesResponse* out) const;
  Status get_service(const v1::GetServiceRequest& request, v1::Service* out) const;
  Status create_service(const v1::CreateServiceRequest& request, const WriteContext& context, v1::Service* out,
                        CommitBatch* batch);
  Status update_service(const v1::UpdateServiceRequest& request, const WriteContext& context, v1::Service* out,
                        CommitBatch* batch);
  Status patch_service(const v1::PatchServiceRequest& request, const WriteContext& context, v1::Service* out,
                       CommitBatch* batch);
  Status delete_service(const v1::DeleteServiceRequest& request, const WriteContext& context,
                        v1::DeleteResponse* out, CommitBatch* batch);

  // ---- tenant credentials (credentials.cpp)
  // Create: 32 random bytes, answered once as the secret "tg_" + base64url;
  // the tenant keeps only the SHA-256. ALREADY_EXISTS for a name the tenant
  // has; FAILED_PRECONDITION for a tenant a config file owns unless
  // take_ownership (the tenant is then API-owned, as after any Admin edit).
  Status create_credential(const v1::CreateCredentialRequest& request, const WriteContext& context,
                           v1::CreateCredentialResponse* out, CommitBatch* batch);
  Status list_credentials(const v1::ListCredentialsRequest& request, v1::ListCredentialsResponse* out) const;
  Status delete_credential(const v1::DeleteCredentialRequest& request, const WriteContext& context,
                           v1::DeleteResponse* out, CommitBatch* batch);

  // ---- instances (instances.cpp)
  Status register_instance(const v1::RegisterInstanceRequest& request, const WriteContext& context,
                           v1::Instance* out, CommitBatch* batch);
  Status deregister_instance(const v1::DeregisterInstanceRequest& request, const WriteContext& context,
                             v1::DeleteResponse* out, CommitBatch* batch);
  // Extends the TTL. Persists (and audits) only a health change; a plain
  // heartbeat updates last_heartbeat_unix_ms in memory, which is written with
  // the instance's next persisted change.
  Status heartbeat(const v1::HeartbeatRequest& request, const WriteContext& context, v1::HeartbeatResponse* out,
                   CommitBatch* batch);
  Status discover_instances(const v1::DiscoverInstancesRequest& request, v1::DiscoverInstancesResponse* out) const;
  Status set_instance_state(const v1::SetInstanceStateRequest& request, const WriteContext& context,
                            v1::Instance* out, CommitBatch* batch);
  // Address, weight, admin state and labels; health and heartbeat TTL are kept.
  Status patch_instance(const v1::PatchInstanceRequest& request, const WriteContext& context, v1::Instance* out,
                        CommitBatch* batch);
  // Fleet-wide, filtered; an unknown service or tenant matches nothing.
  Status list_instances(const v1::ListInstancesRequest& request, v1::ListInstancesResponse* out) const;
  // Marks every instance whose heartbeat deadline (steady clock) has passed
  // HEALTH_UNHEALTHY, reason "heartbeat expired"; one batch (empty if none),
  // audited as actor "tg-control", method "HeartbeatExpired".
  CommitBatch expire_heartbeats();
  // The one path of every health change tg-control makes by itself: commits
  // each flip that still changes the instance (an absent instance or one
  // already in that health with that reason is skipped) in one batch,
  // audited as actor "tg-control" with `method`, and records one event per
  // flip (kind "health", `source`, "old -> new (reason)"). Empty batch when
  // nothing changed.
  CommitBatch apply_health_flips(const std::vector<HealthFlip>& flips, const std::string& method,
                                 const std::string& source);
  std::size_t heartbeat_deadlines() const { return heartbeat_deadlines_.size(); }

  // ---- routes (routes.cpp)
  Status list_routes(const v1::ListRoutesRequest& request, v1::ListRoutesResponse* out) const;
  Status get_route(const v1::GetRouteRequest& request, v1::Route* out) const;
  Status create_route(const v1::CreateRouteRequest& request, const WriteContext& context, v1::Route* out,
                      CommitBatch* batch);
  Status update_route(const v1::UpdateRouteRequest& request, const WriteContext& context, v1::Route* out,
                      CommitBatch* batch);
  Status patch_route(const v1::PatchRouteRequest& request, const WriteContext& context, v1::Route* out,
                     CommitBatch* batch);
  Status delete_route(const v1::DeleteRouteRequest& request, const WriteContext& context, v1::DeleteResponse* out,
                      CommitBatch* batch);

  // ---- declarative apply (apply.cpp)
  static constexpr std::size_t max_apply_bytes = size_limits::apply_yaml;
  // Admin.Apply: parses request.yaml (at most max_apply_bytes) with the config
  // loader (Reader::control).
  Status apply(const v1::ApplyRequest& request, const WriteContext& context, v1::ApplyResponse* out,
               CommitBatch* batch);
  // Admin.Apply in halves, so that the costly parts run off the owner loop:
  // parse_apply (any thread) checks the size and parses the YAML;
  // stage_apply (any thread, on a private copy of the registry, which it does
  // not change) computes the changes and leaves them staged in `staged`;
  // the owner loop then rebases the transaction onto the live registry
  // (Transaction::rebase, same serial()) and commits it.
  static Status parse_apply(const v1::ApplyRequest& request, config::LoadResult* parsed);
  Status stage_apply(const v1::ApplyRequest& request, const config::Config& config, const WriteContext& context,
                     std::vector<v1::Change>* changes, std::unique_ptr<Transaction>* staged);

  // The ownership rule over already parsed documents, all in one transaction.
  // KIND_CONFIG_FILE (startup): creates absent objects, updates the ones each
  // file owns, takes over objects of config files that no longer declare them,
  // skips API/apply-owned objects with a warning, skips objects with a
  // tombstone of the same file (and the instances of such a service) with a
  // warning, drops the tombstones of objects their file no longer declares,
  // and (with prune) deletes objects a file owns but no longer holds. KIND_APPLY: objects of another
  // source need take_ownership, else FAILED_PRECONDITION.
  // With `staged` set, a non-dry run leaves its transaction there instead of
  // committing it (and `batch` is not touched).
  Status apply_documents(const std::vector<Document>& documents, const ApplyOptions& options,
                         const WriteContext& context, std::vector<v1::Change>* changes, CommitBatch* batch,
                         std::vector<std::string>* warnings, std::unique_ptr<Transaction>* staged = nullptr);

 private:
  friend class Transaction;

  const Clock& clock_;
  std::uint64_t revision_ = 0;
  std::uint64_t serial_ = 0;
  std::uint64_t generation_ = 0;
  std::map<std::string, v1::Tenant> tenants_;
  std::map<std::string, v1::Service> services_;
  std::map<std::string, v1::Instance> instances_;
  std::map<std::string, v1::Route> routes_;
  std::map<std::string, Clock::SteadyTime> heartbeat_deadlines_;  // instance id → expiry
  TombstoneMap tombstones_;
  KeyCheck key_check_;
};

// Clears the sha256 of every credential: what the Admin API shows of a tenant.
void hide_credential_hashes(v1::Tenant* tenant);
// Each credential of `to` without a creation time takes the one of the
// credential of `from` with the same name, kind and hash.
void carry_credential_times(const v1::Tenant& from, v1::Tenant& to);

// FAILED_PRECONDITION when `meta` says a config file owns the object and the
// call does not take ownership; names the file and line.
Status check_editable(const v1::Meta& meta, bool take_ownership, std::string_view kind, const std::string& name);

// "config file deploy/acme.yaml (line 4)", "the Admin API", "tgctl apply -f x.yaml (line 2)".
std::string describe_source(const v1::Source& source);

// "2024-05-01T12:00:00Z" (UTC, seconds) for log lines and messages.
std::string format_utc(std::int64_t unix_ms);

}  // namespace tg::control
