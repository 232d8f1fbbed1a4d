// tg-proxy's process: loads the table, runs the workers and the admin port,
// and handles SIGHUP (reload) and SIGTERM/SIGINT (drain, then exit 0). With a
// table feed (--control) the feed's tables win: SIGHUP does not re-read YAML.
#pragma once

#include "core/socket.hpp"
#include "runtime/settings.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace tg::proxy {

struct Snapshot;
class TableFeed;
class TelemetrySink;

struct ServerOptions {
  std::string config_path;  // empty: start with an empty table
  tcp::endpoint listen;
  tcp::endpoint admin;
  // --listen / --admin as the operator wrote them, for bind errors (empty:
  // the endpoint's own text).
  std::string listen_text;
  std::string admin_text;
  // --lock-dir: where the per-address lock files live (runtime/listen_lock.hpp).
  std::string lock_dir;
  std::string access_log;   // empty: off; "-": standard output
  std::string ready_file;   // written once listeners are bound
  // /metrics: tg_tenant_* series for up to this many tenants, the others
  // folded into tenant="other" (0: no tenant series).
  std::size_t max_tenant_series = 0;
  // Phase 4's per-worker tables (pipeline/auth_gate.hpp, limits/): their
  // memory is taken when a worker starts (the keyed buckets' at the first
  // keyed limit), so these are bounds the operator sets.
  std::size_t auth_cached_tokens = 4096;      // --auth-max-cached-tokens
  std::size_t auth_failing_addresses = 4096;  // --auth-max-failing-addresses
  std::uint32_t rate_limit_keys = 16384;      // --rate-limit-max-keys
  ProxySettings settings;
  // --control: pushed tables (owned by the caller, outlives run_server). Its
  // saved table, if any, is served instead of config_path.
  TableFeed* feed = nullptr;
  // With --control and --telemetry-interval not 0: where the counters'
  // deltas go (owned by the caller, outlives run_server).
  TelemetrySink* telemetry = nullptr;
  // The --telemetry-* durations as given (main.cpp builds the sink from them).
  std::chrono::milliseconds telemetry_interval{1000};
  std::chrono::milliseconds telemetry_buffer{60'000};
  std::chrono::milliseconds telemetry_flush_timeout{2000};
};

// Loads and builds the table from `path` (version `version`). On failure
// returns null and sets `error` (FILE:LINE:COLUMN messages, one per line).
// `warnings` gets the settings written but not enforced yet
// (config/unenforced.hpp), "FILE:LINE:COLUMN: warning: ..." each.
// `previous`: the table served now, whose breakers carry over (Snapshot::build).
std::shared_ptr<const Snapshot> load_snapshot(const std::string& path, std::uint64_t version,
                                                     std::string& error,
                                                     std::vector<std::string>* warnings = nullptr,
                                                     const Snapshot* previous = nullptr);

// Runs until drained; returns the process exit code: 1 when the table cannot
// be loaded, the listen lock is held by another tg-proxy or a port cannot be
// bound (the message, "tg-proxy: --listen ADDR: ...", is on stderr).
int run_server(const ServerOptions& options);

}  // namespace tg::proxy
