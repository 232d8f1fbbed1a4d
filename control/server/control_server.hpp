// tg-control as a whole: open the database, apply the config files, run the
// owner loop, the Admin gRPC server and the HTTP port until SIGTERM/SIGINT.
#pragma once

#include "stream/stream_limits.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tg::control {

struct ServerOptions {
  std::string db_path;  // required: no default, so no working directory picks a database by accident
  std::vector<std::string> config_paths;  // files or directories (*.yaml)
  std::string grpc_address = "127.0.0.1:7000";  // host:port, port 0 picks one
  std::string http_address = "127.0.0.1:7001";
  std::string token_file;  // empty = no authentication
  std::string ready_file;  // written once both ports are bound
  bool synchronous_full = false;
  std::chrono::milliseconds shutdown_timeout{10000};
  std::chrono::microseconds table_debounce{5000};  // gather table changes this long before a new version
  // The database is authoritative even where proxies serve newer versions of
  // its registry (a restored backup): lift the generation above the fleet.
  bool accept_restore = false;
  // Skip PRAGMA integrity_check of the registry tables before loading (the
  // reference check while loading still runs); see docs/operations.md.
  bool skip_integrity_check = false;
  // Cap the database at this many pages (0 = no cap); reaching it is a full
  // disk (read-only mode). Tests use it to fill the disk.
  long long sqlite_max_page_count = 0;
  // Audit rows older than this are deleted (0 = kept forever). Given on the
  // command line: wins over `retention: { audit }` in the config files;
  // neither: 180 days (server/startup.hpp, effective_retention).
  std::optional<std::chrono::milliseconds> audit_retention;
  // Event groups last seen longer ago than this are deleted (0 = kept
  // forever); as audit_retention, default 14 days.
  std::optional<std::chrono::milliseconds> events_retention;
  // Telemetry minute rollups older than this are deleted (0 = kept
  // forever); as audit_retention, default 30 days.
  std::optional<std::chrono::milliseconds> rollups_retention;
  // Distinct telemetry series per tenant; beyond, new ones are folded into
  // the tenant's "other" series (0 = no cap).
  std::size_t max_series_per_tenant = 10'000;

  // ---- limits (docs/operations.md, "Limits")
  // Admin calls waiting on the owner loop or the writer; beyond: RESOURCE_EXHAUSTED.
  std::size_t max_pending_calls = 1024;
  // Concurrent gRPC streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  int grpc_max_streams_per_connection = 100;
  // Memory gRPC may use for reading requests (ResourceQuota). libgrpc 1.51
  // reads a request whole before checking its size; under pressure it
  // shrinks flow-control windows and then cancels the largest reads, which
  // is what keeps oversized requests from growing the process.
  std::size_t grpc_memory_quota_bytes = 16u * 1024 * 1024;
  // gRPC connections open at once; one more is closed at once. 0 = the
  // default, 2048, or fewer when the open-files limit leaves less room (a
  // value set explicitly above what the limit allows is refused at start).
  std::size_t grpc_max_connections = 0;
  // Connections without a call for this long are closed (0 = never).
  std::chrono::milliseconds grpc_max_connection_idle{std::chrono::minutes(5)};
  // The self-probe of the gRPC port: a fresh connection and a call every
  // interval (0 = off), each with this deadline; /ready fails while it fails.
  std::chrono::milliseconds grpc_probe_interval{5000};
  std::chrono::milliseconds grpc_probe_timeout{2000};
  // Table streams and proxy records (--hello-timeout, --stream-write-timeout, --proxy-retention...).
  StreamLimits stream_limits;
  // A tenant's jwks_url is fetched for KeyRequests at most once per this
  // long, and retried this long after a failed fetch (--jwks-refetch-interval).
  std::chrono::milliseconds jwks_refetch_interval{30'000};

  // ---- alerting (docs/alerting.md)
  std::chrono::milliseconds eval_interval{5000};  // every rule evaluated this often
  // Base of the ackURLs and generatorURLs in notifications; empty = http://<the --http address as bound>.
  std::string external_url;
};

// The largest request tg-control accepts: an Apply of max_apply_bytes of
// YAML plus its other fields. Every other request is far smaller.
std::size_t max_grpc_receive_bytes();

// The gRPC connection cap in effect: `requested` (0 = the default) when the
// open-files limit leaves room for it (two descriptors per connection and a
// reserve for the process; grpc_acceptor.hpp); the default shrinks to fit.
// Returns 0 with `error` set when an explicit value does not fit, or nothing
// fits.
std::size_t effective_grpc_max_connections(std::size_t requested, std::uint64_t open_files_limit,
                                           std::string& error);

// Raises the RLIMIT_NOFILE soft limit to the hard limit; returns the soft
// limit in effect afterwards (0 when it cannot be read).
std::uint64_t raise_open_files_limit();

// Returns the process exit code: 0 after a signal-driven shutdown, 1 on a
// startup error (already printed to stderr: config errors as
// FILE:LINE:COLUMN: message) or a fatal commit failure.
int run_control_server(const ServerOptions& options);

}  // namespace tg::control
