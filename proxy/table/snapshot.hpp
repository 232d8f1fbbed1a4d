// The immutable configuration root a worker serves from (docs/architecture.md, Configuration).
//
// Built from a validated config::Config off the workers (main thread), then
// posted to each worker as shared_ptr<const Snapshot>. Nothing in it changes
// after build(); per-worker mutable state lives in WorkerTable. The one
// exception is shared by design: the breaker cells it points to (one per
// instance and proxy, resilience/breaker_cell.hpp), which the workers update
// atomically and the next Snapshot takes over by instance id.
#pragma once

#include "auth/auth_index.hpp"
#include "config/model.hpp"
#include "hashing/hash_ring.hpp"
#include "hashing/maglev.hpp"
#include "resilience/breaker.hpp"
#include "resilience/breaker_cell.hpp"
#include "routing/route_table.hpp"
#include "version/table_version.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tg::proxy {

// What the workers have under way with one instance, summed over workers
// (for /config: a draining instance is done when in_flight is 0).
struct InstanceLoad {
  std::uint64_t in_flight = 0;    // requests (tries) under way to it
  std::uint64_t connections = 0;  // upstream connections open to it, busy and pooled
};

struct InstanceDef {
  std::string id;
  std::string address;  // as configured
  boost::asio::ip::tcp::endpoint endpoint;
  std::uint32_t weight = 1;
  std::uint32_t service = 0;
  config::AdminState admin_state = config::AdminState::active;
  config::Health health = config::Health::unknown;
  std::string health_reason;
  // The instance's breaker, per proxy (services with `outlier`; else null).
  std::shared_ptr<resilience::BreakerCell> breaker;
};

// A pushed change of one instance's health or admin state (the control
// plane's health updates), applied by Snapshot::with_states.
struct InstanceStateChange {
  std::string id;
  config::AdminState admin_state = config::AdminState::active;
  config::Health health = config::Health::unknown;
  std::string health_reason;
};

struct ServiceDef {
  std::string name;
  std::string tenant;
  std::string tenant_json;  // tenant JSON-escaped once, for the access log
  config::LbPolicy policy = config::LbPolicy::round_robin;
  config::Timeouts timeouts;
  config::Limits limits;
  config::Retry retry;
  bool outlier = false;                 // breakers run for this service's instances
  resilience::BreakerPolicy breaker;   // when `outlier`
  // When `outlier`: the count of its instances whose breaker is not closed, per proxy.
  std::shared_ptr<resilience::ServiceBreakers> breakers;
  std::vector<std::uint32_t> members;            // every instance of the service, indices, ordered by id
  // The instances a policy picks from (a subset of `members`, same order):
  // admin state active and health not unhealthy; in panic (fewer than half
  // of the active members pickable) every active member.
  std::vector<std::uint32_t> instances;
  bool panic = false;
  std::vector<std::uint64_t> cumulative_weight;  // prefix sums over `instances`, for weighted draws
  bool equal_weights = true;                     // draws can skip the weight search
  config::HashKey hash_key;                      // ring_hash, maglev
  // Built here for the policy that reads it, over `instances` (positions are
  // indices into `instances`); empty otherwise.
  hashing::HashRing ring;                      // ring_hash, ip_hash
  hashing::MaglevTable maglev;                 // maglev
};

struct RouteDef {
  std::string name;
  std::uint32_t service = 0;
  std::string strip_prefix;
  config::RouteMatch match;  // for /config
  bool reject_encoded_slashes = false;  // 400 for paths with %2F, %5C or '\\' (http::has_encoded_slash)
  // auth: required (phase 4, pipeline/auth_gate.hpp): credentials must be of
  // the service's tenant, auth_tenant in Snapshot::auth (-1: none matches).
  bool auth_required = false;
  bool auth_forward = false;
  std::int32_t auth_tenant = -1;
};

// Policies balancing::pick serves; Snapshot::build refuses a table with another.
inline bool policy_supported(config::LbPolicy policy) { return policy != config::LbPolicy::sticky_link; }

struct Snapshot {
  std::uint64_t version = 0;   // this process's table sequence (1, 2, ...)
  TableVersion control;        // set when the table was pushed by tg-control; empty for YAML
  std::string source;  // file the table came from, or "tg-control ADDR"
  std::vector<ServiceDef> services;
  std::vector<InstanceDef> instances;
  std::vector<RouteDef> routes;
  // Tenants' credentials and JWT keys (phase 4); shared with the snapshots
  // with_states derives from this one.
  std::shared_ptr<const auth::AuthIndex> auth;
  // Shared between a snapshot and the ones with_states derives from it: a
  // health change copies neither the route index nor the id index.
  std::shared_ptr<const routing::RouteTable> table;
  std::shared_ptr<const routing::StringMap<std::uint32_t>> instance_ids;  // id → index into instances
  // Same value = same instances (ids, endpoints, order) and routes: set by
  // build(), kept by with_states(), so a worker keeps its per-instance and
  // per-route state arrays by position instead of remapping them by id.
  std::uint64_t layout = 0;

  // The admin /config page: version, source, services with their instances
  // (health, admin state, pickable; with `load`, their in_flight and
  // connections, 0 for ids it lacks) and routes. Built on demand.
  std::string to_json(const std::unordered_map<std::string, InstanceLoad>* load = nullptr) const;

  // Resolves instance addresses (DNS names once, here). On failure returns
  // null and sets `error`. The breakers of `previous` (the table served now,
  // if any) are taken over for the same instance id, address and service
  // name; the others start closed. An instance `previous` had unhealthy and
  // this table has healthy gets its breaker closed here, once for the proxy.
  static std::shared_ptr<const Snapshot> build(const config::Config& config, std::uint64_t version,
                                               std::string source, std::string& error,
                                               TableVersion control = {}, const Snapshot* previous = nullptr);

  // `base` with the health/admin state of some instances changed (ids it does
  // not hold are ignored): only the services of changed instances get new
  // pick sets and balancing structures. Never fails. Keeps base's breakers,
  // closing those of instances turned from unhealthy to healthy.
  static std::shared_ptr<const Snapshot> with_states(const Snapshot& base,
                                                     const std::vector<InstanceStateChange>& changes,
                                                     std::uint64_t version, TableVersion control);
};

}  // namespace tg::proxy
