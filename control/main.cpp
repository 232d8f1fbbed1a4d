// tg-control: flags → ServerOptions → run_control_server. Logic lives in tg_control.
#include "server/control_server.hpp"
#include "server/startup.hpp"

#include "config/value_parsers.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"tg-control: tenantgate control plane (registry, Admin API)"};
  tg::control::ServerOptions options;
  std::string log_level = "info";
  long long shutdown_ms = options.shutdown_timeout.count();
  std::string table_debounce = "5ms";
  std::string audit_retention, events_retention;  // not given: retention: in --config, else 180d and 14d
  std::string rollups_retention;                   // not given: retention: in --config, else 30d
  app.add_option("--db", options.db_path,
                 "SQLite database file (created with its directory if missing); required, no default");
  app.add_option("--config", options.config_paths,
                 "YAML file applied at startup (repeatable; a directory = its *.yaml files, sorted)");
  bool check = false;
  app.add_flag("--check", check,
               "validate the --config files offline (no database, no ports) and exit: 0 ok, 1 with "
               "FILE:LINE:COLUMN messages");
  app.add_option("--grpc", options.grpc_address, "Admin gRPC address, ADDR:PORT (port 0 picks one)")
      ->capture_default_str();
  app.add_option("--http", options.http_address, "HTTP address (/healthz /metrics), ADDR:PORT")->capture_default_str();
  app.add_option("--token-file", options.token_file, "bearer tokens for the Admin API, one per line: [NAME] TOKEN");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_option("--ready-file", options.ready_file, "write grpc= and http= lines here once both ports are bound");
  app.add_flag("--synchronous-full", options.synchronous_full,
               "SQLite synchronous=FULL: also survive power loss (an fsync per commit)");
  app.add_option("--shutdown-timeout-ms", shutdown_ms, "SIGTERM: let in-flight calls finish for up to")
      ->capture_default_str()
      ->check(CLI::Range(0LL, 600000LL));
  app.add_flag("--accept-restore", options.accept_restore,
               "this database is authoritative although proxies serve newer versions of its registry (after a "
               "restore from a backup): lift the table generation above theirs (audited)");
  app.add_flag("--skip-integrity-check", options.skip_integrity_check,
               "start without PRAGMA integrity_check of the registry tables (it reads every page: seconds on "
               "large databases); rows are still checked for dangling references while loading");
  app.add_option("--sqlite-max-page-count", options.sqlite_max_page_count,
                 "cap the database at N pages (PRAGMA max_page_count; 0 = no cap, less than the file = its "
                 "size): reaching it is handled like a full disk (read-only mode); for tests and hard quotas")
      ->check(CLI::Range(0LL, 4294967294LL));
  app.add_option("--audit-retention", audit_retention,
                 "delete audit rows older than this (e.g. 90d, at most 365d; 0 keeps them forever), at start and every "
                 "10 minutes, 1,000 rows per transaction; wins over retention: { audit } in --config "
                 "(default there, else 180d)");
  app.add_option("--events-retention", events_retention,
                 "delete event groups last seen longer ago than this (e.g. 30d, at most 365d; 0 keeps them "
                 "forever), at start and every 10 minutes, 1,000 rows per transaction; wins over retention: "
                 "{ events } in --config (default there, else 14d)");
  app.add_option("--rollups-retention", rollups_retention,
                 "delete telemetry minute rollups older than this (e.g. 90d, at most 365d; 0 keeps them forever), "
                 "and marks of proxy boots not heard from since, at start and every 10 minutes, 1,000 rows per "
                 "transaction; wins over retention: { rollups } in --config (default there, else 30d)");
  app.add_option("--max-series-per-tenant", options.max_series_per_tenant,
                 "distinct telemetry series (route, service, instance) per tenant; beyond, new series are folded "
                 "into the tenant's \"other\" series and counted (0 = no cap)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}));
  app.add_option("--table-debounce", table_debounce,
                 "gather registry changes this long (e.g. 5ms, 0) before publishing one table version")
      ->capture_default_str();
  app.add_option("--max-pending-calls", options.max_pending_calls,
                 "Admin calls waiting to run on the owner loop (or the writer); beyond, a call is answered "
                 "RESOURCE_EXHAUSTED at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--grpc-max-streams-per-connection", options.grpc_max_streams_per_connection,
                 "concurrent gRPC calls per connection (HTTP/2 MAX_CONCURRENT_STREAMS)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  std::size_t grpc_memory_quota_mb = options.grpc_memory_quota_bytes / (1024 * 1024);
  app.add_option("--grpc-memory-quota-mb", grpc_memory_quota_mb,
                 "memory gRPC may use for reading requests (ResourceQuota), MiB; bounds what oversized or "
                 "unauthenticated requests make tg-control hold")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{16}, std::size_t{65536}));
  app.add_option("--grpc-max-connections", options.grpc_max_connections,
                 "gRPC connections open at once; one more is closed at once (counted). Default 2048, or what the "
                 "open-files limit leaves room for (2 descriptors per connection, 256 for the process) when that "
                 "is less; a value above that is refused at start")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  std::string grpc_idle = "5m", probe_interval = "5s", probe_timeout = "2s";
  app.add_option("--grpc-max-connection-idle", grpc_idle,
                 "close gRPC connections without a call for this long (0 = never)")
      ->capture_default_str();
  app.add_option("--grpc-probe-interval", probe_interval,
                 "self-probe of the gRPC port (a new connection and a call) this often; /ready fails while it "
                 "fails (0 = off)")
      ->capture_default_str();
  app.add_option("--grpc-probe-timeout", probe_timeout, "deadline of one self-probe")->capture_default_str();
  std::string hello_timeout = "10s", write_timeout = "60s", proxy_retention = "1h";
  app.add_option("--hello-timeout", hello_timeout,
                 "end a table stream that sent no hello this long after it opened (DEADLINE_EXCEEDED), 1s-10m")
      ->capture_default_str();
  app.add_option("--stream-write-timeout", write_timeout,
                 "cancel a table stream whose proxy reads nothing of an update for this long, freeing what the "
                 "write holds, 1s-1h")
      ->capture_default_str();
  app.add_option("--proxy-retention", proxy_retention,
                 "drop the records of disconnected proxies (tgctl proxies list --all) this long after the "
                 "disconnect, 1m-30d")
      ->capture_default_str();
  app.add_option("--proxy-retention-keep", options.stream_limits.retention_keep,
                 "... but always keep the records of this many most recently disconnected proxies")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  std::string jwks_refetch = "30s";
  app.add_option("--jwks-refetch-interval", jwks_refetch,
                 "fetch a tenant's jwks_url for a proxy's KeyRequest (an unknown key id) at most once per this "
                 "long, and retry a failed fetch after it, 1s-1h")
      ->capture_default_str();
  std::string eval_interval = "5s";
  app.add_option("--eval-interval", eval_interval, "evaluate every alert rule this often, 100ms-1m")
      ->capture_default_str();
  app.add_option("--external-url", options.external_url,
                 "base URL of tg-control's HTTP port in notifications (ackURL, generatorURL); default "
                 "http://<the --http address as bound>");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every flag error exits 2 (CLI11's own codes vary).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (options.db_path.empty() && !check) {
    std::fprintf(stderr,
                 "tg-control: --db FILE is required (the registry database; there is no default, so that a "
                 "working directory never picks one by accident)\n");
    return 2;
  }
  const auto level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    std::fprintf(stderr, "--log-level: unknown level '%s'\n", log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  if (check) {
    if (options.config_paths.empty()) {
      std::fprintf(stderr, "--check needs --config FILE|DIR\n");
      return 2;
    }
    return tg::control::check_config_files(options.config_paths, std::cout, std::cerr);
  }
  options.shutdown_timeout = std::chrono::milliseconds(shutdown_ms);
  tg::config::Duration debounce{};
  if (std::string problem = tg::config::try_parse_duration(table_debounce, debounce); !problem.empty()) {
    std::fprintf(stderr, "--table-debounce: bad duration \"%s\": %s\n", table_debounce.c_str(), problem.c_str());
    return 2;
  }
  if (debounce > std::chrono::seconds(10)) {
    std::fprintf(stderr, "--table-debounce: at most 10s\n");
    return 2;
  }
  options.table_debounce = std::chrono::duration_cast<std::chrono::microseconds>(debounce);
  // Retention flags: 0 (keep forever) or at least 1h (the parser caps
  // durations at 365d), as retention: in YAML; only when given.
  struct RetentionFlag {
    const char* name;
    const std::string& text;
    const char* kept;
    std::optional<std::chrono::milliseconds>* out;
  };
  for (const RetentionFlag& flag : {RetentionFlag{"--audit-retention", audit_retention, "the audit log",
                                                  &options.audit_retention},
                                    RetentionFlag{"--events-retention", events_retention, "the events",
                                                  &options.events_retention},
                                    RetentionFlag{"--rollups-retention", rollups_retention, "the rollups",
                                                  &options.rollups_retention}}) {
    if (app.get_option(flag.name)->count() == 0) continue;
    tg::config::Duration retention{};
    if (std::string problem = tg::config::try_parse_duration(flag.text, retention); !problem.empty()) {
      std::fprintf(stderr, "%s: bad duration \"%s\": %s\n", flag.name, flag.text.c_str(), problem.c_str());
      return 2;
    }
    if (retention.count() != 0 && retention < tg::config::min_retention) {
      std::fprintf(stderr, "%s: at least 1h (or 0 to keep %s forever), got \"%s\"\n", flag.name, flag.kept,
                   flag.text.c_str());
      return 2;
    }
    *flag.out = std::chrono::duration_cast<std::chrono::milliseconds>(retention);
  }
  options.grpc_memory_quota_bytes = grpc_memory_quota_mb * 1024 * 1024;
  struct DurationFlag {
    const char* name;
    const std::string& text;
    std::chrono::milliseconds* out;
    bool zero_ok;
  };
  for (const DurationFlag& flag : {DurationFlag{"--grpc-max-connection-idle", grpc_idle,
                                                &options.grpc_max_connection_idle, true},
                                   DurationFlag{"--grpc-probe-interval", probe_interval, &options.grpc_probe_interval,
                                                true},
                                   DurationFlag{"--grpc-probe-timeout", probe_timeout, &options.grpc_probe_timeout,
                                                false}}) {
    tg::config::Duration value{};
    if (std::string problem = tg::config::try_parse_duration(flag.text, value); !problem.empty()) {
      std::fprintf(stderr, "%s: bad duration \"%s\": %s\n", flag.name, flag.text.c_str(), problem.c_str());
      return 2;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(value);
    if ((ms.count() == 0 && !flag.zero_ok) || ms > std::chrono::hours(24)) {
      std::fprintf(stderr, "%s: must be %sat most 24h, got \"%s\"\n", flag.name,
                   flag.zero_ok ? "" : "above 0 and ", flag.text.c_str());
      return 2;
    }
    *flag.out = ms;
  }
  // The table stream's limits: a duration within [low, high] each.
  struct StreamDuration {
    const char* flag;
    const std::string& text;
    std::chrono::milliseconds low, high;
    const char* range;
    std::chrono::milliseconds* out;
  };
  using std::chrono::hours, std::chrono::minutes, std::chrono::seconds;
  tg::control::StreamLimits& limits = options.stream_limits;
  for (const StreamDuration& d : {StreamDuration{"--hello-timeout", hello_timeout, seconds(1), minutes(10), "1s and 10m",
                                                 &limits.hello_timeout},
                                  StreamDuration{"--stream-write-timeout", write_timeout, seconds(1), hours(1), "1s and 1h",
                                                 &limits.write_timeout},
                                  StreamDuration{"--proxy-retention", proxy_retention, minutes(1), hours(24 * 30), "1m and 30d",
                                                 &limits.proxy_retention},
                                  StreamDuration{"--jwks-refetch-interval", jwks_refetch, seconds(1), hours(1),
                                                 "1s and 1h", &options.jwks_refetch_interval},
                                  StreamDuration{"--eval-interval", eval_interval, std::chrono::milliseconds(100),
                                                 minutes(1), "100ms and 1m", &options.eval_interval}}) {
    tg::config::Duration value{};
    if (std::string problem = tg::config::try_parse_duration(d.text, value); !problem.empty()) {
      std::fprintf(stderr, "%s: bad duration \"%s\": %s\n", d.flag, d.text.c_str(), problem.c_str());
      return 2;
    }
    if (value < d.low || value > d.high) {
      std::fprintf(stderr, "%s: between %s, got \"%s\"\n", d.flag, d.range, d.text.c_str());
      return 2;
    }
    *d.out = std::chrono::duration_cast<std::chrono::milliseconds>(value);
  }
  try {
    return tg::control::run_control_server(options);
  } catch (const std::exception& e) {
    spdlog::critical("tg-control: {}", e.what());
    return 1;
  }
}
