// The balancer-table stream's logic (discovery.proto, docs/control-plane.md, Table stream): the table
// as proxies see it, its versions, and what each connected proxy gets next.
//
// Owner loop only (like the Registry): no locks, no gRPC types. The gRPC side
// (server/discovery_service.cpp) turns a stream into a TableSubscriber and
// posts everything it reads to the owner loop; the hub answers by calling
// send()/finish() on that subscriber, from the owner loop.
//
// Table state: per kind a sorted map name → encoded `Table` entry (field tag,
// length, object without meta and heartbeat fields), so a full payload is the
// concatenation of the entries (no re-serialization of every object per
// version); per instance its InstanceState. An instance change is a health
// change when the old entry with the new state encodes to the new entry.
//
// Versions: (generation, counter), counter 1 = the table at start. Changes are
// gathered for `debounce` after the first one, then published as ONE version:
// a config version (new full payload, the health log cleared) when anything
// but instance state changed, else a health version appended to the health log
// (compacted into a config version past the limits of TableHubOptions).
//
// Per subscriber: at most one update outstanding (write completed AND ACK or
// NACK received), always for the newest version. A proxy that applied v gets
// nothing when v is the newest; a HealthUpdate merging every health version
// after v when v belongs to this generation and is not older than the last
// config version; else the full table as of the newest version. A NACKed version is never sent again
// to that node id, even after it reconnects.
//
// Registry identity (docs/control-plane.md): every update carries the
// registry id, its kind, its base version (health) and the digest of the
// table at its version (proto/table/table_digest.hpp, kept current per
// object). A proxy that names a newer version of this registry than the
// newest, or a version of this process with another digest, serves a table
// this database never had: the database is older than the fleet (restored
// from a backup). Such a proxy is fenced — sent nothing — and the mark is
// made durable, so restarts keep it, until tg-control runs with
// accept_restore: then the generation is lifted (durably, audited) above every
// version reported and every proxy converges on this database.
#pragma once

#include "clock.hpp"
#include "status.hpp"
#include "store/store.hpp"

#include "tenantgate/v1/admin.pb.h"
#include "tenantgate/v1/discovery.pb.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <compare>
#include <deque>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tg::control {

namespace v1 = ::tenantgate::v1;

class Metrics;
class Registry;

struct TableVersion {
  std::uint64_t generation = 0;
  std::uint64_t counter = 0;  // 0 = no version

  bool empty() const { return counter == 0; }
  auto operator<=>(const TableVersion&) const = default;
  static TableVersion from(const v1::TableVersion& v) { return {v.generation(), v.counter()}; }
  void to(v1::TableVersion* out) const {
    out->set_generation(generation);
    out->set_counter(counter);
  }
};

// "g.c", as logs and errors show versions.
std::string to_string(const TableVersion& version);

// One stream to one proxy, as the hub sees it. Both calls come from the owner
// loop; after finish() the hub never calls the subscriber again.
class TableSubscriber {
 public:
  virtual ~TableSubscriber() = default;
  // Starts writing `response`; the subscriber keeps it alive until the write
  // completed and then reports TableHub::write_done. Never called while a
  // write is in flight.
  virtual void send(std::shared_ptr<const v1::StreamTableResponse> response) = 0;
  // Ends the stream with `status`.
  virtual void finish(const Status& status) = 0;
};

// The one-shot timer of the debounce. The product uses the owner loop's
// steady timer (AsioDebounceTimer); tests fire it by hand.
class DebounceTimer {
 public:
  virtual ~DebounceTimer() = default;
  // Replaces any armed callback.
  virtual void arm(std::chrono::microseconds after, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class AsioDebounceTimer final : public DebounceTimer {
 public:
  explicit AsioDebounceTimer(boost::asio::io_context& io) : timer_(io) {}
  void arm(std::chrono::microseconds after, std::function<void()> fire) override;
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

// Durable changes of the registry's identity records the hub asks for (a
// generation lift, the "older than the fleet" mark, an adoption). The product
// commits them through the owner loop's writer with an audit row; `done` runs
// on the owner loop with the outcome.
using IdentityCommit =
    std::function<void(IdentityChange change, AuditRecord audit, std::function<void(bool ok)> done)>;

struct TableHubOptions {
  std::chrono::microseconds debounce{5000};
  std::string registry_id;            // this database's; required
  std::vector<std::string> adopted;   // registry ids adopted so far
  std::uint64_t fleet_ahead = 0;      // the stored mark (0 = none)
  bool accept_restore = false;        // tg-control --accept-restore
  IdentityCommit commit_identity;     // null: changes are applied in memory only (tests)
  // A health version that would make the health log longer than this is
  // published as a config version instead.
  std::size_t max_health_versions = 256;
  // Likewise when more instances changed state since the last config version
  // than max(min_compact_instances, instances / 4): a full table is then
  // about as small as the merged delta.
  std::size_t min_compact_instances = 64;
  // The flap guard of node ids (see TableHub::connect).
  std::size_t max_node_replacements = 3;
  std::chrono::milliseconds node_flap_window{10'000};
};

// What ListProxies and refusals show of a boot id: its first 8 characters.
// The whole boot id is only in the proxy's own log and tg-control's log.
std::string short_boot_id(const std::string& boot_id);

class TableHub {
 public:
  using SubscriberId = std::uint64_t;

  // Builds version (registry.generation(), 1) from the registry. `metrics`
  // may be null (tests).
  TableHub(const Registry& registry, const Clock& clock, DebounceTimer& timer, TableHubOptions options = {},
           Metrics* metrics = nullptr);
  ~TableHub();
  TableHub(const TableHub&) = delete;
  TableHub& operator=(const TableHub&) = delete;

  // The Core observer: takes a committed batch's mutations into the table and
  // arms the debounce when the proxy-visible table changed.
  void on_commit(const CommitBatch& batch);
  // Publishes what the debounce gathered (the timer's callback; tests call it).
  void publish();

  // ---- streams. `id` is chosen by the caller, unique per stream.
  // A new stream; it sends nothing before its hello. After shutdown() it is
  // finished at once with UNAVAILABLE. `actor` names its token (logs).
  //
  // A hello for a node id that is connected: the same boot id is the same
  // process reconnecting; another boot id is a newer connection (a restarted
  // proxy whose old stream is not yet noticed dead, or another process under
  // that name). Either way the newer stream replaces the older one, which is
  // finished with ABORTED — except when the node id changed hands more than
  // max_node_replacements times within node_flap_window (two live proxies
  // sharing a name): then the newest is refused with ALREADY_EXISTS. A
  // refused proxy keeps serving its table and retries.
  void connect(SubscriberId id, TableSubscriber& subscriber, std::string peer, std::string actor = {});
  // A message the stream read, in order.
  void receive(SubscriberId id, const v1::StreamTableRequest& request);
  // The write started by send() completed (ok = false: the stream broke).
  void write_done(SubscriberId id, bool ok);
  // The stream ended from the proxy's side (read side closed, cancelled):
  // finishes the subscriber with `status`. No-op for an unknown id.
  void disconnect(SubscriberId id, const Status& status);
  // Finishes every stream with UNAVAILABLE and refuses new ones.
  void shutdown();

  // ---- registry identity
  // Lets proxies serving registry `id` take this registry's table: durable
  // and audited (by `actor`), then a new version carries the adopted list.
  // `done` gets the outcome (INVALID_ARGUMENT for a bad or own id).
  void adopt(const std::string& id, const std::string& actor, std::function<void(const Status&)> done);
  void registry_info(v1::RegistryInfo* out) const;
  const std::string& registry_id() const { return options_.registry_id; }
  // The newest version's digest.
  std::uint64_t digest() const { return digest_; }

  // ---- reads
  TableVersion newest() const { return newest_; }
  TableVersion last_config() const { return last_config_; }
  std::size_t health_versions() const { return health_log_.size(); }
  // The full table of the last config version: a serialized v1::Table.
  const std::string& payload() const { return config_->config(); }
  std::size_t connected() const { return connections_.size(); }
  void list_proxies(v1::ListProxiesResponse* out) const;

 private:
  struct HealthVersion {
    TableVersion version;
    std::vector<v1::InstanceState> changed;
  };
  struct ProxyRecord {
    std::string boot_id, address, listen, proxy_version;
    std::optional<SubscriberId> connection;
    std::int64_t connected_since_unix_ms = 0;
    std::int64_t last_seen_unix_ms = 0;
    TableVersion applied, sent;
    std::optional<v1::ProxyNack> last_nack;
    std::uint64_t nacks = 0;
    std::string registry_id;  // of the table it serves
    std::uint64_t digest = 0;
    std::string fenced;       // why nothing is pushed to it; empty = not fenced
    // When another boot id took the node id over, within the flap window.
    std::deque<std::chrono::steady_clock::time_point> replacements;
  };
  struct Connection {
    TableSubscriber* subscriber = nullptr;
    std::string peer;
    std::string actor;    // the token's NAME/ROLE
    std::string node_id;  // empty until the hello
    TableVersion applied;      // what the proxy serves (hello, then ACKs)
    std::string registry_id;   // ... of that registry
    TableVersion outstanding;  // sent, awaiting its ACK/NACK; empty when none
    bool writing = false;      // a write in flight
  };

  enum Kind : std::size_t { tenants = 0, services = 1, instances = 2, routes = 3 };

  void take_mutation(const Mutation& mutation);
  void set_entry(Kind kind, const std::string& name, std::string entry);
  bool erase_entry(Kind kind, const std::string& name);
  std::shared_ptr<const v1::StreamTableResponse> assemble() const;
  std::shared_ptr<const v1::StreamTableResponse> full_newest();
  void build_config(std::chrono::steady_clock::time_point start);
  void publish_health();
  void send_next(SubscriberId id, Connection& connection);
  std::shared_ptr<const v1::StreamTableResponse> health_since(TableVersion base);
  void hello(SubscriberId id, Connection& connection, const v1::Hello& hello);
  // false when the hello was refused (the node id flaps between two streams).
  bool take_over(SubscriberId id, const Connection& connection, ProxyRecord& record, const std::string& node,
                 const std::string& boot_id);
  void answer(SubscriberId id, Connection& connection, const v1::StreamTableRequest& request);
  void end(SubscriberId id, const Status& status);
  void arm();
  void stamp(v1::StreamTableResponse& response) const;
  void remember_digest();
  void check_fleet(ProxyRecord& record, const std::string& node);
  void lift_generation();
  void count_fenced();

  const Clock& clock_;
  DebounceTimer& timer_;
  TableHubOptions options_;
  Metrics* metrics_;

  std::array<std::map<std::string, std::string>, 4> entries_;
  std::array<std::size_t, 4> entry_bytes_{};
  std::uint64_t digest_ = 0;  // of the current entries (the newest version once published)
  // Digests of the versions this process published (bounded; oldest dropped).
  std::map<TableVersion, std::uint64_t> digests_;
  std::set<std::string> adopted_;
  std::uint64_t fleet_ahead_ = 0;  // see TableHubOptions
  std::uint64_t highest_reported_generation_ = 0;  // by proxies of this registry
  bool lift_pending_ = false;
  std::map<std::string, v1::InstanceState> instances_;  // by instance id

  TableVersion newest_, last_config_;
  std::shared_ptr<const v1::StreamTableResponse> config_;  // the newest config version
  std::vector<HealthVersion> health_log_;                   // versions after last_config_
  std::set<std::string> changed_since_config_;              // instance ids in health_log_
  // The whole table at a health version, for proxies without a base (cleared per version).
  std::shared_ptr<const v1::StreamTableResponse> full_newest_;
  // Merged health updates of the newest version by base version (cleared per version).
  std::map<TableVersion, std::shared_ptr<const v1::StreamTableResponse>> health_cache_;

  std::uint64_t newest_digest_ = 0;
  bool config_dirty_ = false;
  bool envelope_dirty_ = false;  // a new version must carry a changed envelope (adoption)
  std::set<std::string> health_dirty_;
  bool armed_ = false;
  bool shut_down_ = false;

  std::map<SubscriberId, Connection> connections_;
  std::map<std::string, ProxyRecord> proxies_;  // by node id; kept after disconnect
};

}  // namespace tg::control
