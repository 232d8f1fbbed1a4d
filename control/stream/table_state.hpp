// The balancer table as proxies see it (discovery.proto, docs/control-plane.md,
// Table stream): its entries, versions, digests and the registry identity,
// and the rules that decide what a proxy serving a given version gets next.
// Pure state on the owner loop: no streams, no gRPC, no timers (TableHub
// drives it and speaks to the proxies).
//
// Table state: per kind a sorted map name → encoded `Table` entry (field tag,
// length, object without meta and heartbeat fields), so a full payload is the
// concatenation of the entries (no re-serialization of every object per
// version); per instance its InstanceState. An instance change is a health
// change when the old entry with the new state encodes to the new entry.
// A change costs the work of the objects it touched: their entries, the
// digest (updated per object) and the change log. The full payload is
// assembled lazily, at most once per version, and only when some proxy needs
// the whole table (a new proxy, or one too far behind for a delta).
//
// Versions: (generation, counter), counter 1 = the table at start. Changes
// are gathered (take) until publish(), which makes them ONE version: a config
// version (new full payload, the health log cleared) when anything but
// instance state changed, else a health version appended to the health log
// (compacted into a config version past the limits of TableStateOptions).
//
// What a proxy that serves version v of registry r gets (update_for):
// nothing when v is the newest of this registry; a HealthUpdate merging every
// health version after v when v belongs to this generation and is not older
// than the last config version; a delta (the entries changed since v, and
// the keys removed) when v belongs to this generation, the change log still
// reaches back to it, and the delta is smaller than half the full table;
// else the full table as of the newest version.
//
// Registry identity: every update carries the registry id, its kind, its base
// version (health) and the digest of the table at its version
// (proto/table/table_digest.hpp, kept current per object). A proxy that names
// a newer version of this registry than the newest, or a version of this
// process with another digest, serves a table this database never had: the
// database is older than the fleet (restored from a backup). judge() says so;
// the proxy is then fenced (sent nothing), unless tg-control runs with
// accept_restore: then the generation is lifted above every version reported.
#pragma once

#include "registry/registry.hpp"
#include "status.hpp"
#include "store/store.hpp"
#include "stream/table_metrics.hpp"
#include "stream/table_update.hpp"
#include "table/table_entries.hpp"
#include "version/table_version.hpp"

#include "tenantgate/v1/admin.pb.h"
#include "tenantgate/v1/discovery.pb.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tg::control {

namespace v1 = ::tenantgate::v1;

struct TableStateOptions {
  std::string registry_id;            // this database's; required
  std::vector<std::string> adopted;   // registry ids adopted so far
  std::uint64_t fleet_ahead = 0;      // the stored mark (0 = none)
  bool accept_restore = false;        // tg-control --accept-restore
  // A health version that would make the health log longer than this is
  // published as a config version instead.
  std::size_t max_health_versions = 256;
  // Likewise when more instances changed state since the last config version
  // than max(min_compact_instances, instances / 4): a full table is then
  // about as small as the merged delta.
  std::size_t min_compact_instances = 64;
  // The change log behind delta updates: the keys changed per version, for
  // at most this many versions and this many keys in all (oldest dropped; a
  // proxy older than the log gets the full table).
  std::size_t max_delta_versions = 4096;
  std::size_t max_delta_keys = 200'000;
  // Fills a tenant's table-only fields (its JWT key material, Jwt.jwks_json /
  // hs256_secret) as its entry is encoded; null: none (tests).
  std::function<void(v1::Tenant&)> tenant_keys;
};

// What judge() found about the version a proxy serves.
struct FleetVerdict {
  enum Action { none, fence, lift } action = none;
  std::string reason;        // fence: why nothing is pushed to the proxy
  bool mark_raised = false;  // fence: fleet_ahead() rose; the mark is to be made durable
};

// Registry ids: what the database creates (32 hex digits) or what an
// operator names for adoption; the node-id alphabet.
bool valid_registry_id(const std::string& id);

class TableState {
 public:
  // Builds version (registry.generation(), 1) from the registry. `metrics`
  // may be null (tests).
  TableState(const Registry& registry, TableStateOptions options, TableMetrics* metrics = nullptr);

  // ---- changes
  // Takes a committed batch's mutations into the entries. True when a change
  // the proxies see waits for publish().
  bool take(const CommitBatch& batch);
  // Publishes what was gathered as one version; false when there was nothing.
  bool publish();
  // Encodes tenant `id`'s entry again with its key material as
  // options.tenant_keys gives it now (the keys changed, the tenant did not).
  // True when the entry changed: a config change waits for publish().
  bool refresh_tenant(const std::string& id);
  // Changes taken but not yet published (the adopted list counts too).
  bool dirty() const { return config_dirty_ || !health_dirty_.empty() || envelope_dirty_; }

  // ---- what a proxy gets
  // The update for a proxy serving `applied` (of this registry when `own`,
  // with digest `served_digest`), shared by every proxy that gets the same;
  // `kind` tells which it is. A proxy whose table has the newest digest (it
  // serves the same table under an older label: tg-control restarted) gets
  // an empty delta that only relabels it.
  // Without `allow_delta` (the proxy refused a delta) no config delta is
  // chosen. Null when nothing can be sent right now (a full table and a delta
  // not assembled yet are assembled from the entries, which hold unpublished
  // changes: the next version is sent once published).
  std::shared_ptr<const TableUpdate> update_for(bool own, TableVersion applied, std::uint64_t served_digest,
                                                bool allow_delta, v1::UpdateKind* kind);

  // ---- registry identity
  // What a proxy serving `applied` (digest `digest`) of registry `registry_id`
  // tells about this database.
  FleetVerdict judge(const std::string& registry_id, TableVersion applied, std::uint64_t digest);
  // Notes a version a proxy of this registry reports, newer than the newest.
  void reported(TableVersion applied);
  // The generation a lift goes to: above the newest, every reported one and the mark.
  std::uint64_t lift_target() const;
  // The lift is durable: version (target, 0); publish() makes (target, 1).
  void lifted(std::uint64_t target);
  // INVALID_ARGUMENT for a bad or own id; ok otherwise (also when adopted).
  Status check_adoptable(const std::string& id) const;
  bool is_adopted(const std::string& id) const { return adopted_.count(id) != 0; }
  // The adoption is durable: the next version carries the adopted list.
  void adopted(const std::string& id);
  void registry_info(v1::RegistryInfo* out) const;
  const std::string& registry_id() const { return options_.registry_id; }
  bool accept_restore() const { return options_.accept_restore; }

  // ---- reads
  // The newest version's digest.
  std::uint64_t digest() const { return newest_digest_; }
  // The digest of a version this process published; 0 when not (or no longer) known.
  std::uint64_t digest_of(TableVersion version) const;
  std::size_t known_digests() const { return digests_.size(); }
  TableVersion newest() const { return newest_; }
  TableVersion last_config() const { return last_config_; }
  // The oldest version a delta can start from (the change log reaches back to it).
  TableVersion delta_floor() const { return delta_floor_; }
  std::size_t health_versions() const { return health_log_.size(); }
  // The entries as a serialized v1::Table: the newest version's full table
  // while nothing is taken but unpublished. Assembled on each call (tests,
  // benchmarks); proxies get the cached update of update_for().
  std::string payload() const { return entries_.serialize(); }
  // Full payloads assembled so far (at most one per version).
  std::uint64_t full_builds() const { return full_builds_; }

  // How many published versions' digests are kept to recognise a proxy's
  // reported version (older ones are "unknown", not "different").
  static constexpr std::size_t kept_digests = 4096;

 private:
  struct HealthVersion {
    TableVersion version;
    std::vector<v1::InstanceState> changed;
  };
  using Kind = table::EntryKind;
  struct ChangeStep {
    TableVersion version;
    std::vector<std::pair<Kind, std::string>> keys;  // set or erased in this version
  };

  void take_mutation(const Mutation& mutation);
  std::string tenant_entry(v1::Tenant tenant) const;
  void set_entry(Kind kind, const std::string& name, std::string entry);
  bool erase_entry(Kind kind, const std::string& name);
  std::shared_ptr<const TableUpdate> assemble() const;
  std::shared_ptr<const TableUpdate> full_newest();
  void publish_config(std::chrono::steady_clock::time_point start);
  void publish_health();
  std::shared_ptr<const TableUpdate> health_since(TableVersion base);
  std::shared_ptr<const TableUpdate> delta_since(TableVersion base);
  std::shared_ptr<const TableUpdate> relabel(TableVersion base);
  void log_changes();
  void stamp(v1::StreamTableResponse& response) const;
  void remember_digest();

  TableStateOptions options_;
  TableMetrics* metrics_;

  table::TableEntries entries_;  // the newest version once published; its digest kept current
  std::set<std::pair<Kind, std::string>> changed_keys_;  // since the last publish()
  std::deque<ChangeStep> change_log_;                    // versions after delta_floor_, oldest first
  std::size_t change_log_keys_ = 0;
  TableVersion delta_floor_;
  // Digests of the versions this process published (bounded; oldest dropped).
  std::map<TableVersion, std::uint64_t> digests_;
  std::set<std::string> adopted_;
  std::uint64_t fleet_ahead_ = 0;                  // see TableStateOptions
  std::uint64_t highest_reported_generation_ = 0;  // by proxies of this registry
  std::map<std::string, v1::InstanceState> instances_;  // by instance id

  TableVersion newest_, last_config_;
  std::vector<HealthVersion> health_log_;                   // versions after last_config_
  std::set<std::string> changed_since_config_;              // instance ids in health_log_
  // The whole table of the newest version, for proxies without a usable
  // base: assembled on first need, cleared per version.
  std::shared_ptr<const TableUpdate> full_newest_;
  std::uint64_t full_builds_ = 0;
  // Merged health updates of the newest version by base version (cleared per
  // version; at most one per health version in the log).
  std::map<TableVersion, std::shared_ptr<const TableUpdate>> health_cache_;
  // Deltas to the newest version by base version, or null where the full
  // table is smaller (cleared per version).
  std::map<TableVersion, std::shared_ptr<const TableUpdate>> delta_cache_;

  std::uint64_t newest_digest_ = 0;
  bool config_dirty_ = false;
  bool envelope_dirty_ = false;  // a new version must carry a changed envelope (adoption)
  std::set<std::string> health_dirty_;
};

}  // namespace tg::control
