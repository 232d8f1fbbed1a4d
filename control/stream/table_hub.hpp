// The balancer-table stream's per-proxy protocol (discovery.proto,
// docs/control-plane.md, Table stream): hello, welcome, ACK/NACK, what each
// connected proxy gets next, and the record of every proxy seen. The table
// itself, its versions and the registry identity rules are TableState's.
//
// Owner loop only (like the Registry): no locks, no gRPC types. The gRPC side
// (server/discovery_service.cpp) turns a stream into a TableSubscriber and
// posts everything it reads to the owner loop; the hub answers by calling
// send()/finish() on that subscriber, from the owner loop.
//
// Changes the Core commits are gathered for `debounce` after the first one,
// then published as ONE version (TableState::publish) and offered to every
// connected proxy.
//
// Per subscriber: at most one update outstanding (write completed AND ACK or
// NACK received), always for the newest version (TableState::update_for). A
// NACKed version is never sent again to that node id, even after it
// reconnects — unless the NACK is retryable (the proxy could not confirm the
// table in time, it did not refuse it): then the same version is sent again
// after a back-off (retry_backoff, doubling up to retry_backoff_max, checked
// by sweep()), until the proxy answers otherwise or a newer version exists. Updates are shared: a stream holds a reference to the one
// encoded update of its version (TableUpdate), never a copy, and at most one
// write in flight; newer versions wait in TableState, not per stream.
//
// Bounds (StreamLimits, checked by sweep()): a stream without a hello within
// hello_timeout is ended; a stream whose write stays in flight beyond
// write_timeout (the proxy reads nothing) is cancelled, dropping the write;
// records of disconnected proxies are dropped after proxy_retention, keeping
// the retention_keep most recent, and never more than max_disconnected.
//
// A proxy that serves a version this database never had (TableState::judge)
// is fenced — sent nothing — and the mark is made durable, so restarts keep
// it, until tg-control runs with accept_restore: then the generation is lifted
// (durably, audited) above every version reported and every proxy converges on
// this database.
#pragma once

#include "clock.hpp"
#include "status.hpp"
#include "store/store.hpp"
#include "stream/debounce_timer.hpp"
#include "stream/stream_limits.hpp"
#include "stream/table_metrics.hpp"
#include "stream/table_state.hpp"
#include "stream/table_update.hpp"
#include "version/table_version.hpp"

#include "tenantgate/v1/admin.pb.h"
#include "tenantgate/v1/discovery.pb.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tg::control {

// One stream to one proxy, as the hub sees it. Every call comes from the
// owner loop; after finish() or cancel() the hub never calls the subscriber
// again.
class TableSubscriber {
 public:
  virtual ~TableSubscriber() = default;
  // Starts writing `update` (its shared bytes); the subscriber keeps it alive
  // until the write completed and then reports TableHub::write_done. Never
  // called while a write is in flight.
  virtual void send(std::shared_ptr<const TableUpdate> update) = 0;
  // Ends the stream with `status` (after the write in flight, if any).
  virtual void finish(const Status& status) = 0;
  // Ends the stream now, dropping the write in flight (the proxy reads
  // nothing): the call is cancelled, so the proxy sees CANCELLED; `status`
  // is what tg-control logs.
  virtual void cancel(const Status& status) = 0;
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
  // See TableStateOptions.
  std::size_t max_health_versions = 256;
  std::size_t min_compact_instances = 64;
  std::size_t max_delta_versions = 4096;
  std::size_t max_delta_keys = 200'000;
  std::function<void(v1::Tenant&)> tenant_keys;
  // A retryable NACK: the same version is sent again after this back-off,
  // doubled per retry of that version up to retry_backoff_max.
  std::chrono::milliseconds retry_backoff{1'000};
  std::chrono::milliseconds retry_backoff_max{30'000};
  // The flap guard of node ids (see TableHub::connect).
  std::size_t max_node_replacements = 3;
  std::chrono::milliseconds node_flap_window{10'000};
  StreamLimits limits;
  // Fires sweep() every limits.sweep_interval (the product: a steady timer of
  // the owner loop). Null: the caller calls sweep() (tests).
  DebounceTimer* sweep_timer = nullptr;
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
           TableMetrics* metrics = nullptr);
  ~TableHub();
  TableHub(const TableHub&) = delete;
  TableHub& operator=(const TableHub&) = delete;

  // The Core observer: takes a committed batch's mutations into the table and
  // arms the debounce when the proxy-visible table changed.
  void on_commit(const CommitBatch& batch);
  // Publishes what the debounce gathered (the timer's callback; tests call it).
  void publish();
  // A tenant's key material changed (TableStateOptions::tenant_keys gives the
  // new one): its entry is encoded again and the debounce armed.
  void refresh_tenant(const std::string& id);

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
  // A message the stream could not parse: ends it with `status`
  // (INVALID_ARGUMENT), counted as a bad request.
  void reject(SubscriberId id, const Status& status);
  // Finishes every stream with UNAVAILABLE and refuses new ones.
  void shutdown();
  // Applies StreamLimits: ends streams past the hello or write deadline and
  // drops disconnected proxy records past their retention.
  void sweep();

  // ---- registry identity
  // Lets proxies serving registry `id` take this registry's table: durable
  // and audited (by `actor`), then a new version carries the adopted list.
  // `done` gets the outcome (INVALID_ARGUMENT for a bad or own id).
  void adopt(const std::string& id, const std::string& actor, std::function<void(const Status&)> done);
  void registry_info(v1::RegistryInfo* out) const { state_.registry_info(out); }
  const std::string& registry_id() const { return state_.registry_id(); }
  // The newest version's digest.
  std::uint64_t digest() const { return state_.digest(); }

  // ---- reads
  const TableState& state() const { return state_; }
  TableVersion newest() const { return state_.newest(); }
  TableVersion last_config() const { return state_.last_config(); }
  std::size_t health_versions() const { return state_.health_versions(); }
  // The entries as a serialized v1::Table (TableState::payload).
  std::string payload() const { return state_.payload(); }
  std::size_t connected() const { return connections_.size(); }
  // Connected and fenced proxies; with `all` also the kept disconnected ones.
  void list_proxies(v1::ListProxiesResponse* out, bool all = false) const;
  // Proxy records kept (connected or not).
  std::size_t proxy_records() const { return proxies_.size(); }

 private:
  struct ProxyRecord {
    std::string boot_id, address, listen, proxy_version;
    std::optional<SubscriberId> connection;
    std::int64_t connected_since_unix_ms = 0;
    std::int64_t last_seen_unix_ms = 0;
    TableVersion applied, sent;
    std::optional<v1::ProxyNack> last_nack;
    std::uint64_t nacks = 0;
    // last_nack was retryable: its version is sent again from retry_at on;
    // retries counts the resends of that version (the back-off doubles).
    bool nack_retryable = false;
    Clock::SteadyTime retry_at{};
    std::uint32_t retries = 0;
    std::string registry_id;  // of the table it serves
    std::uint64_t digest = 0;
    std::string fenced;       // why nothing is pushed to it; empty = not fenced
    // When another boot id took the node id over, within the flap window.
    std::deque<std::chrono::steady_clock::time_point> replacements;
    Clock::SteadyTime disconnected_at{};  // while not connected: the key in disconnected_
    // The last update answered: its kind, size, and the time from its write
    // to the answer (transfer and apply).
    v1::UpdateKind last_kind = v1::UPDATE_KIND_UNSPECIFIED;
    std::uint64_t last_bytes = 0;
    std::int64_t last_apply_ms = 0;
  };
  struct Connection {
    TableSubscriber* subscriber = nullptr;
    std::string peer;
    std::string actor;    // the token's NAME/ROLE
    std::string node_id;  // empty until the hello
    TableVersion applied;      // what the proxy serves (hello, then ACKs)
    std::string registry_id;   // ... of that registry
    std::uint64_t digest = 0;  // ... and its digest
    TableVersion outstanding;  // sent, awaiting its ACK/NACK; empty when none
    v1::UpdateKind outstanding_kind = v1::UPDATE_KIND_UNSPECIFIED;
    // The proxy refused a delta: it gets full tables until it ACKs one.
    bool no_delta = false;
    bool writing = false;      // a write in flight
    Clock::SteadyTime opened{};         // the stream (hello deadline)
    Clock::SteadyTime write_started{};  // the write in flight (write deadline)
    std::size_t write_bytes = 0;        // ... and its size (logs)
  };

  void send_next(SubscriberId id, Connection& connection);
  // False while `record` NACKed the newest version: not at all, or (retryable)
  // not before its back-off ends.
  bool may_send_newest(const ProxyRecord& record) const;
  void hello(SubscriberId id, Connection& connection, const v1::Hello& hello);
  // false when the hello was refused (the node id flaps between two streams).
  bool take_over(SubscriberId id, const Connection& connection, ProxyRecord& record, const std::string& node,
                 const std::string& boot_id);
  void answer(SubscriberId id, Connection& connection, const v1::StreamTableRequest& request);
  // `drop_write`: cancel() instead of finish().
  void end(SubscriberId id, const Status& status, bool drop_write = false);
  void write(Connection& connection, std::shared_ptr<const TableUpdate> update);
  // Bad input from a stream: ends it with INVALID_ARGUMENT, counted.
  void invalid(SubscriberId id, const Status& status);
  ProxyRecord& record_of(const std::string& node);
  void forget_disconnected(const std::string& node, ProxyRecord& record);
  void drop_records(Clock::SteadyTime now);
  void arm_sweep();
  void arm();
  void check_fleet(ProxyRecord& record, const std::string& node);
  void lift_generation();
  void count_fenced();

  const Clock& clock_;
  DebounceTimer& timer_;
  TableHubOptions options_;
  TableMetrics* metrics_;
  TableState state_;

  bool lift_pending_ = false;
  bool armed_ = false;
  bool shut_down_ = false;

  std::map<SubscriberId, Connection> connections_;
  std::map<std::string, ProxyRecord> proxies_;  // by node id; kept after disconnect (drop_records)
  // Disconnected records, oldest disconnect first.
  std::set<std::pair<Clock::SteadyTime, std::string>> disconnected_;
};

}  // namespace tg::control
