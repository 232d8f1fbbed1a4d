// The immutable configuration root a worker serves from (docs/architecture.md, Configuration).
//
// Built from a validated config::Config off the workers (main thread), or
// from the previous snapshot and a delta update (apply()), then posted to each
// worker as shared_ptr<const Snapshot>. Nothing in it changes after it is
// published; per-worker mutable state lives in WorkerTable. Its services,
// instances, routes and indexes are held in shared parts (shared_parts.hpp):
// a snapshot derived from another shares every part the change left alone. The
// exceptions are shared by design: the breaker cells it points to (one per
// instance and proxy, resilience/breaker_cell.hpp) and the limits' buckets
// and in-flight counts (limits/table_limits.hpp), which the workers update
// atomically and the next Snapshot takes over by instance id or limit.
#pragma once

#include "auth/auth_index.hpp"
#include "config/model.hpp"
#include "hashing/hash_ring.hpp"
#include "hashing/maglev.hpp"
#include "limits/table_limits.hpp"
#include "resilience/breaker.hpp"
#include "resilience/breaker_cell.hpp"
#include "routing/route_table.hpp"
#include "table/shared_parts.hpp"
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

// A change to a pushed table as model objects (proxy/subscription converts
// a delta update into one): upserts replace or add the object of the same
// name or id, removals name what goes. Keys it removes that the table lacks
// are skipped (added after the base and removed again).
struct TableChange {
  std::vector<config::Service> services;  // their `instances` are ignored
  struct Instance {
    std::string service;  // the name of the service it belongs to
    config::Instance instance;
  };
  std::vector<Instance> instances;
  std::vector<config::Route> routes;
  std::vector<std::string> removed_services, removed_instances, removed_routes;
  // The change touches what phase 4 reads (a tenant, or a route with auth or
  // a rate_limit): apply() does not patch that, the table is built whole.
  bool admission = false;
  bool empty() const {
    return services.empty() && instances.empty() && routes.empty() && removed_services.empty() &&
           removed_instances.empty() && removed_routes.empty();
  }
};

// What apply() changed against its base, for WorkerTable::build: positions
// (in the new snapshot) whose element is new, moved or changed. A position
// listed for instances covers every member of a changed service.
struct LayoutChange {
  std::uint64_t base_layout = 0;
  std::vector<std::uint32_t> instances, routes, services;
};

// Policies balancing::pick serves; Snapshot::build refuses a table with another.
inline bool policy_supported(config::LbPolicy policy) { return policy != config::LbPolicy::sticky_link; }

struct Snapshot {
  std::uint64_t version = 0;   // this process's table sequence (1, 2, ...)
  TableVersion control;        // set when the table was pushed by tg-control; empty for YAML
  std::string source;  // file the table came from, or "tg-control ADDR"
  // Indexed by position; a table built whole keeps the table's order
  // (services and routes as declared, each service's instances by id), one
  // apply() built puts new elements last and a removed one's place goes to
  // the last element.
  SharedVector<ServiceDef, 4> services;
  SharedVector<InstanceDef> instances;
  SharedVector<RouteDef> routes;
  // Shared between a snapshot and the ones derived from it: a health change
  // copies neither the route index nor the id indexes, a delta update without
  // route changes keeps the route index.
  // Tenants' credentials and JWT keys (phase 4); shared with the snapshots
  // derived from this one (a change that touches them is built whole).
  std::shared_ptr<const auth::AuthIndex> auth;
  std::shared_ptr<const routing::RouteTable> table;
  SharedIndex instance_ids;  // id → position in instances
  SharedIndex service_ids;   // name → position in services
  SharedIndex route_ids;     // name → position in routes
  // Same value = same instances (ids, endpoints, order) and routes: set by
  // build() and apply(), kept by with_states(), so a worker keeps its
  // per-instance and per-route state arrays by position instead of remapping
  // them by id.
  std::uint64_t layout = 0;
  // Set by apply(): the positions that changed against the base's layout, so
  // a worker serving the base remaps only those. Null after build().
  std::shared_ptr<const LayoutChange> change;
  // Rate and concurrency limits (phase 4), null when the table has none.
  // Their shared cells are taken over from the previous table by key
  // (limits/table_limits.hpp), like the breakers. apply() keeps the base's:
  // a change that touches what they read is built whole (TableChange::admission).
  std::shared_ptr<const limits::TableLimits> limits;

  // The admin /config page: version, source, services with their instances
  // (health, admin state, pickable; with `load`, their in_flight and
  // connections, 0 for ids it lacks) and routes. Built on demand.
  std::string to_json(const std::unordered_map<std::string, InstanceLoad>* load = nullptr) const;

  // Resolves instance addresses (DNS names once, here). On failure returns
  // null and sets `error`. The breakers of `previous` (the table served now,
  // if any) are taken over for the same instance id, address and service
  // name; the others start closed. So are the limits' buckets and in-flight
  // counts (limits/table_limits.hpp). An instance `previous` had unhealthy and
  // this table has healthy gets its breaker closed here, once for the proxy.
  static std::shared_ptr<const Snapshot> build(const config::Config& config, std::uint64_t version,
                                               std::string source, std::string& error,
                                               TableVersion control = {}, const Snapshot* previous = nullptr);

  // `base` (a pushed table) with `change` applied, sharing every service,
  // instance, route, balancing structure and index part the change leaves
  // alone: the cost follows the size of the change and of the services it
  // touches, except that a change to the routes builds the route index anew
  // (over every route) and a removed service is looked for in every route.
  // Routes keep the precedence a pushed table gives them (name order). Null with `error` when the result would not be a usable table
  // (an instance or route of an unknown service, a removed service still
  // referenced, an address that does not resolve); `base` is never altered.
  // Breakers carry over as in build() with `previous` = base.
  static std::shared_ptr<const Snapshot> apply(const Snapshot& base, const TableChange& change,
                                               std::uint64_t version, TableVersion control, std::string& error);

  // `base` with the health/admin state of some instances changed (ids it does
  // not hold are ignored): only the services of changed instances get new
  // pick sets and balancing structures. Never fails. Keeps base's breakers,
  // closing those of instances turned from unhealthy to healthy.
  static std::shared_ptr<const Snapshot> with_states(const Snapshot& base,
                                                     const std::vector<InstanceStateChange>& changes,
                                                     std::uint64_t version, TableVersion control);
};

}  // namespace tg::proxy
