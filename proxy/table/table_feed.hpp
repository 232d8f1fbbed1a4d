// A source of pushed tables run beside the workers: with --control, the
// balancer-table stream client (proxy/subscription/control_client.hpp). The server
// owns the workers and knows how to switch them; the feed decides what they
// serve. Nothing here is on the request path.
#pragma once

#include "table/snapshot.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tg::proxy {

// What /metrics shows about the feed (a copy, taken under the feed's lock).
struct FeedStatus {
  bool connected = false;
  std::uint64_t connects = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t config_acks = 0, config_nacks = 0;
  std::uint64_t health_acks = 0, health_nacks = 0;
  TableVersion applied;                // the version every worker serves; empty if none
  std::int64_t last_update_unix_ms = 0;  // last ACKed update; 0 if none
  std::uint64_t state_save_failures = 0;
  std::uint64_t state_load_failures = 0;  // corrupt or unusable saved table at start
  bool from_state_dir = false;            // serving the saved table, nothing pushed yet
  std::string registry_id;                // of `applied`; empty if none
  // Updates refused by the envelope rules or as an unusable table, by
  // proxy/subscription/update_check.hpp's Refusal (index 0, none, unused).
  std::array<std::uint64_t, 7> refusals{};
};

// Switches every worker to `snapshot` (the workers keep in-flight requests,
// keep-alive and upgraded connections) and calls `switched`, from any thread,
// once all of them serve it. Callable from any thread.
using InstallFn =
    std::function<void(std::shared_ptr<const Snapshot> snapshot, std::function<void()> switched)>;

class TableFeed {
 public:
  virtual ~TableFeed() = default;

  // Before the workers start: a table to serve instead of --config (the one
  // saved in --state-dir), built with local version `version`; null if none.
  virtual std::shared_ptr<const Snapshot> saved_table(std::uint64_t version) = 0;
  // Starts the feed's thread. `serving` is what the workers serve now;
  // `listen` the client address (informational).
  virtual void start(std::shared_ptr<const Snapshot> serving, std::string listen, InstallFn install) = 0;
  // Any thread, returns at once: ends the stream and every wait promptly.
  virtual void stop() = 0;
  // After stop(): waits for the feed's thread.
  virtual void join() = 0;
  virtual FeedStatus status() const = 0;
  // Any thread, returns at once: a token named key `kid` that tenant's key
  // set lacks; the feed may ask for the keys to be fetched again (at most
  // once per 30 s per tenant).
  virtual void request_key(const std::string& tenant, const std::string& kid) {
    (void)tenant;
    (void)kid;
  }
  // For logs: "tg-control 10.0.0.5:7000".
  virtual std::string name() const = 0;
};

}  // namespace tg::proxy
