#include "server/control_server.hpp"

#include "server/admin_service.hpp"
#include "server/alert_ack_http.hpp"
#include "alerts/dispatcher.hpp"
#include "alerts/engine.hpp"
#include "server/discovery_service.hpp"
#include "auth/jwks_fetcher.hpp"
#include "health/health_checker.hpp"
#include "server/ingest_service.hpp"
#include "keys/key_service.hpp"
#include "server/grpc_acceptor.hpp"
#include "server/http_admin.hpp"
#include "server/startup.hpp"
#include "server/telemetry_service.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_store.hpp"

#include "files/ready_file.hpp"
#include "net/bind_error.hpp"
#include "netio/endpoint.hpp"
#include "netio/http_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_posix.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include <cstdio>
#include <future>
#include <iostream>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// "IP:PORT" ("[IPv6]:PORT"); port 0 allowed. Throws with the problem.
tcp::endpoint parse_endpoint(const std::string& text) {
  tcp::endpoint endpoint;
  std::string error;
  if (!net::parse_endpoint(text, endpoint, error)) throw std::runtime_error(error);
  return endpoint;
}

long long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

std::string endpoint_text(const asio::ip::address& address, unsigned port) {
  return net::endpoint_text(tcp::endpoint(address, static_cast<std::uint16_t>(port)));
}

// The self-probe of the gRPC port (docs/operations.md, "Descriptor
// exhaustion"): every interval a fresh channel with its own connection (a
// local subchannel pool, so no connection is shared or reused) makes one call
// to a method no service has, with a deadline. UNIMPLEMENTED means the port
// accepted, spoke HTTP/2 and completed a call; anything else counts as not
// accepting. Runs on its own thread, never on the owner loop.
class GrpcProbe {
 public:
  GrpcProbe(std::string target, std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
            LimitCounters& limits)
      : target_(std::move(target)), interval_(interval), timeout_(timeout), limits_(limits) {
    if (interval_.count() > 0) thread_ = std::thread([this] { run(); });
  }
  ~GrpcProbe() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool probe_once() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args);
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_);
    context.set_wait_for_ready(false);
    grpc::Slice empty(std::string{});
    grpc::ByteBuffer request(&empty, 1), response;  // an empty message (a default ByteBuffer is no message)
    std::promise<grpc::Status> result;
    stub.UnaryCall(&context, "/tenantgate.v1.SelfProbe/Ping", grpc::StubOptions(), &request, &response,
                   [&result](grpc::Status status) { result.set_value(std::move(status)); });
    const grpc::Status status = result.get_future().get();  // bounded by the deadline
    last_error_ = status.error_message();
    last_code_ = status.error_code();
    return status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      const bool accepting = probe_once();
      const bool was = limits_.grpc_accepting.exchange(accepting, std::memory_order_relaxed);
      if (!accepting) limits_.grpc_probe_failures.fetch_add(1, std::memory_order_relaxed);
      if (was && !accepting)
        spdlog::error("tg-control: the gRPC port {} does not complete calls (self-probe: {} {}); /ready fails "
                      "until it does (see docs/operations.md, \"Descriptor exhaustion\")",
                      target_, static_cast<int>(last_code_), last_error_);
      else if (!was && accepting)
        spdlog::info("tg-control: the gRPC port {} completes calls again; /ready ok", target_);
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  }

  std::string target_;
  std::chrono::milliseconds interval_, timeout_;
  LimitCounters& limits_;
  std::string last_error_;
  grpc::StatusCode last_code_ = grpc::StatusCode::OK;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The probe's target: the bound port on the bound address, or on loopback
// when the port listens on every address.
std::string probe_target(const tcp::endpoint& endpoint, unsigned port) {
  asio::ip::address address = endpoint.address();
  if (address.is_unspecified())
    address = address.is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                              : asio::ip::address(asio::ip::address_v4::loopback());
  return endpoint_text(address, port);
}

// The HTTP port. Runs on the owner loop (the server lives there): its
// handlers read the registry and metrics directly; /v1/admin/ only posts
// (server/http_admin.hpp).
std::unique_ptr<net::HttpServer> start_http(Core& core, const tcp::endpoint& endpoint,
                                            const std::unique_ptr<GrpcAcceptor>& grpc_acceptor,
                                            const keys::KeyService& keys, HttpAdmin& http_admin,
                                            const telemetry::Ingest& telemetry, ingest::IngestService& ingest,
                                            const alerts::Engine& alerting, AlertAckHttp& alert_ack) {
  net::HttpServerOptions options;
  options.server_name = "tg-control";
  options.method_not_allowed = "use GET\n";
  options.on_response = [&core](unsigned status) { core.metrics().record_http(status); };
  options.on_accept_error = [&core] { core.metrics().record_http_accept_error(); };
  auto server = std::make_unique<net::HttpServer>(core.io(), endpoint, std::move(options));
  server->handle("/healthz", [](const std::string&, net::HttpRespond respond) {
    respond({200, "text/plain; charset=utf-8", "ok\n"});
  });
  // /healthz: the process is alive. /ready: it also serves gRPC (the last
  // self-probe of the gRPC port completed a call).
  server->handle("/ready", [&core](const std::string&, net::HttpRespond respond) {
    if (core.limits().grpc_accepting.load(std::memory_order_relaxed)) {
      respond({200, "text/plain; charset=utf-8", "ready\n"});
      return;
    }
    respond({503, "text/plain; charset=utf-8",
             "not ready: the gRPC port does not complete calls (self-probe failing; see tg_control_grpc_accepting "
             "and docs/operations.md)\n"});
  });
  // The gRPC acceptor exists before the owner loop runs (it is created
  // before core.start()), so no request sees it half made.
  server->handle("/metrics", [&core, &grpc_acceptor, &keys, &telemetry, &ingest, &alerting, &alert_ack](
                                 const std::string&, net::HttpRespond respond) {
    respond({200, "text/plain; version=0.0.4; charset=utf-8",
             core.metrics().render(core.registry(), core.committed_revision()) +
                 core.limits().render(core.pending_calls(), core.max_pending_calls()) +
                 (grpc_acceptor ? grpc_acceptor->render_metrics() : std::string()) + keys.render_metrics() +
                 telemetry.render_metrics() + ingest.render_metrics() + alerting.render_metrics() +
                 alert_ack.render_metrics()});
  });
  // POST /v1/ingest/*, /v1/logs: tenant containers report (control/ingest/).
  ingest.install(*server);
  // POST /v1/alerts/<id>/ack: the ackURL of notifications.
  server->handle(alert_ack.route(), [&alert_ack](net::HttpRequest request, net::HttpRespond respond) {
    alert_ack.handle(std::move(request), std::move(respond));
  });
  server->handle(http_admin.route(), [&http_admin](net::HttpRequest request, net::HttpRespond respond) {
    http_admin.handle(std::move(request), std::move(respond));
  });
  return server;
}

}  // namespace

std::size_t effective_grpc_max_connections(std::size_t requested, std::uint64_t open_files_limit,
                                           std::string& error) {
  error.clear();
  // 0: the limit could not be read; nothing to check against.
  const std::size_t allowed =
      open_files_limit == 0 ? grpc_default_max_connections : grpc_max_connections_for(open_files_limit);
  const std::size_t wanted = requested == 0 ? grpc_default_max_connections : requested;
  if (wanted <= allowed) return wanted;
  if (requested == 0 && allowed > 0) return allowed;  // the default shrinks to fit the limit
  const std::string needed = std::to_string(wanted * grpc_descriptors_per_connection + grpc_reserved_descriptors);
  error = "--grpc-max-connections " + std::to_string(wanted) + ": the open-files limit (RLIMIT_NOFILE) is " +
          std::to_string(open_files_limit) + ", which allows at most " + std::to_string(allowed) +
          " gRPC connections (" + std::to_string(grpc_descriptors_per_connection) + " descriptors each, " +
          std::to_string(grpc_reserved_descriptors) + " kept for the process); raise the hard limit to " + needed +
          " (LimitNOFILE= in systemd, ulimit -Hn) or lower --grpc-max-connections";
  return 0;
}

std::size_t max_grpc_receive_bytes() { return Registry::max_apply_bytes + 64 * 1024; }

std::uint64_t raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max()
                                         : static_cast<std::uint64_t>(limit.rlim_cur);
}

int run_control_server(const ServerOptions& options) {
  SystemClock clock;
  // Every connection is a descriptor (a gRPC one two): the cap on gRPC
  // connections must leave room under the limit (docs/operations.md,
  // "Connections").
  const std::uint64_t open_files = raise_open_files_limit();
  spdlog::info("tg-control: open files limit (RLIMIT_NOFILE soft) {}", open_files);
  std::size_t grpc_max_connections = 0;
  {
    std::string error;
    grpc_max_connections = effective_grpc_max_connections(options.grpc_max_connections, open_files, error);
    if (grpc_max_connections == 0) {
      std::cerr << "tg-control: " << error << "\n";
      return 1;
    }
    if (options.grpc_max_connections == 0 && grpc_max_connections < grpc_default_max_connections)
      spdlog::warn("tg-control: at most {} gRPC connections (the open-files limit {} leaves no room for the "
                   "default {}; raise the hard limit)",
                   grpc_max_connections, open_files, grpc_default_max_connections);
  }
  // ---- everything that can fail on bad input, before anything is started
  tcp::endpoint grpc_endpoint, http_endpoint;
  TokenSet tokens;
  ConfigFiles files;
  try {
    grpc_endpoint = parse_endpoint(options.grpc_address);
    http_endpoint = parse_endpoint(options.http_address);
    if (!options.token_file.empty()) tokens = TokenSet::load_file(options.token_file);
    std::string errors;
    const auto parse_start = std::chrono::steady_clock::now();
    std::vector<std::string> warnings;
    const bool loaded = load_config_files(expand_config_paths(options.config_paths), files, errors, &warnings);
    for (const auto& warning : warnings) spdlog::warn("tg-control: {}", warning);
    if (!loaded) {
      std::cerr << errors;
      return 1;
    }
    if (!files.paths.empty())
      spdlog::info("tg-control: read {} config file(s) in {} ms", files.paths.size(), ms_since(parse_start));
  } catch (const std::exception& e) {
    std::cerr << "tg-control: " << e.what() << "\n";
    return 1;
  }

  std::unique_ptr<SqliteStore> store;
  Registry registry(clock);
  // Alerting (control/alerts/): the book is loaded and the files' rules and
  // notifiers applied with the registry; its external URL is known once the
  // HTTP port is bound.
  std::unique_ptr<alerts::Book> book;
  bool fresh_database = false;
  alerts::SignalWindow alert_signals;
  LoadedState identity;  // registry id, adopted ids, the fleet-ahead mark (no objects)
  try {
    store = std::make_unique<SqliteStore>(
        SqliteOptions{options.db_path, 5000, options.synchronous_full, clock.unix_ms(),
                      options.sqlite_max_page_count});
    // Every migration ran: a new database, which cannot have missed any data.
    fresh_database = store->migrations_applied_at_open() == static_cast<int>(schema_migrations().size());
    if (int n = store->migrations_applied_at_open()) spdlog::info("tg-control: {}: applied {} migration(s)", options.db_path, n);
    auto phase_start = std::chrono::steady_clock::now();
    if (options.skip_integrity_check) {
      spdlog::warn("tg-control: {}: --skip-integrity-check: the registry tables were not checked for damage",
                   options.db_path);
    } else {
      const std::vector<std::string> problems = store->check_integrity();
      if (!problems.empty()) {
        std::cerr << "tg-control: " << options.db_path
                  << ": the database is damaged (PRAGMA integrity_check of the registry tables failed); refusing "
                     "to load it. Restore it from a backup (see docs/operations.md, \"Store integrity and disk "
                     "full\"). SQLite reports:\n";
        for (const auto& line : problems) std::cerr << "  " << line << "\n";
        return 1;
      }
      spdlog::info("tg-control: {}: integrity check of the registry tables passed in {} ms", options.db_path,
                   ms_since(phase_start));
      phase_start = std::chrono::steady_clock::now();
    }
    {
      LoadedState loaded;
      try {
        loaded = store->load();  // checks every body against its checksum
        registry.load(loaded);   // checks every row's keys and references; nothing is served otherwise
      } catch (const std::exception& e) {
        throw std::runtime_error(options.db_path + ": " + e.what());
      }
      identity.registry_id = std::move(loaded.registry_id);
      identity.adopted = std::move(loaded.adopted);
      identity.fleet_ahead = loaded.fleet_ahead;
    }
    const long long load_ms = ms_since(phase_start);
    phase_start = std::chrono::steady_clock::now();
    registry.set_generation(store->begin_generation());
    if (identity.fleet_ahead != 0 && options.accept_restore) {
      // Marked "older than the fleet" by an earlier run: start above it.
      CommitBatch lift;
      lift.identity.generation = std::max(registry.generation(), identity.fleet_ahead + 1);
      lift.identity.fleet_ahead = 0;
      lift.audit.push_back(AuditRecord{clock.unix_ms(), system_actor, "AcceptRestore", "registry",
                                       identity.registry_id,
                                       "{\"generation\":" + std::to_string(registry.generation()) +
                                           ",\"fleet_generation\":" + std::to_string(identity.fleet_ahead) + "}",
                                       "{\"generation\":" + std::to_string(*lift.identity.generation) + "}"});
      store->commit({lift});
      spdlog::warn("tg-control: --accept-restore: proxies had reported generation {}; generation lifted from {} to {}",
                   identity.fleet_ahead, registry.generation(), *lift.identity.generation);
      registry.set_generation(*lift.identity.generation);
      identity.fleet_ahead = 0;
    } else if (identity.fleet_ahead != 0) {
      spdlog::error("tg-control: database older than the fleet: proxies of registry {} reported generation {}, "
                    "newer than this database; nothing is pushed to them until tg-control is restarted with "
                    "--accept-restore",
                    identity.registry_id, identity.fleet_ahead);
    }
    CommitBatch batch;
    StartupReport report;
    Status status = apply_config_files(registry, files, &batch, &report);
    for (const auto& w : report.warnings) spdlog::warn("tg-control: startup: {}", w);
    if (!status.ok()) {
      std::cerr << status.message << "\n";
      return 1;
    }
    const long long apply_ms = ms_since(phase_start);
    phase_start = std::chrono::steady_clock::now();
    {
      // The alert book: what the store holds, then the files' rules and
      // notifiers, in the same startup commit as the registry's files.
      const LoadedAlerts loaded = store->load_alerts();
      alerts::BookOptions book_options;
      book_options.ack_key = loaded.ack_key;
      book_options.external_url = options.external_url;
      book = std::make_unique<alerts::Book>(clock, book_options);
      book->load(loaded);
      std::vector<std::pair<const config::Config*, std::string>> alert_files;
      for (std::size_t i = 0; i < files.paths.size(); ++i) alert_files.emplace_back(&files.configs[i], files.paths[i]);
      std::vector<std::string> alert_warnings;
      const Status applied = book->apply_files(alert_files, batch.alerts, &alert_warnings);
      for (const auto& w : alert_warnings) spdlog::warn("tg-control: startup: {}", w);
      if (!applied.ok()) {
        std::cerr << applied.message << "\n";
        return 1;
      }
      spdlog::info("tg-control: alerting: {} rule(s), {} open alert(s), {} delivery(ies) pending", book->rule_count(),
                   loaded.open_episodes.size(), loaded.pending_deliveries.size());
    }
    if (!batch.empty()) store->commit({batch});
    for (const auto& change : report.changes) spdlog::info("tg-control: startup: {}", change);
    spdlog::info("tg-control: registry loaded in {} ms, config files applied in {} ms ({} change(s)), committed in {} ms",
                 load_ms, apply_ms, batch.mutations.size(), ms_since(phase_start));
    spdlog::info("tg-control: {}: registry {}, generation {}, revision {}; {} tenants, {} services, {} instances, "
                 "{} routes",
                 options.db_path, identity.registry_id, registry.generation(), registry.revision(),
                 registry.tenants().size(),
                 registry.services().size(), registry.instances().size(), registry.routes().size());
  } catch (const std::exception& e) {
    std::cerr << "tg-control: " << e.what() << "\n";
    return 1;
  }

  // From here on, creating or changing a tenant's jwt refuses key files that
  // cannot be read or hold no usable key (startup files above were applied
  // whatever their keys: the key service logs and counts those).
  registry.set_key_check(keys::check_key_files);

  CoreOptions core_options;
  std::chrono::milliseconds alert_history{0};
  {
    const EffectiveRetention retention =
        effective_retention(files, options.events_retention, options.audit_retention, options.rollups_retention);
    const auto text = [](const RetentionSetting& setting) {
      const auto hours = std::chrono::duration_cast<std::chrono::hours>(setting.value).count();
      const std::string value = setting.value.count() == 0 ? std::string("forever")
                                : hours % 24 == 0          ? std::to_string(hours / 24) + "d"
                                                           : std::to_string(hours) + "h";
      return value + " (" + setting.source + ")";
    };
    spdlog::info("tg-control: retention: events {}, audit {}, rollups {}, alert_history {}",
                 text(retention.events), text(retention.audit), text(retention.rollups),
                 text(retention.alert_history));
    core_options.audit_retention = retention.audit.value;
    core_options.events_retention = retention.events.value;
    core_options.rollups_retention = retention.rollups.value;
    // Containers' status samples are kept like the minute rollups.
    core_options.status_retention = retention.rollups.value;
    alert_history = retention.alert_history.value;
  }
  core_options.max_pending_calls = options.max_pending_calls;
  Core core(*store, registry, core_options);
  core.limits().open_files_limit = open_files;
  // Telemetry: what the store knows (marks, series, the last hour) is read
  // before the writer starts, so the first batch already sees it.
  telemetry::IngestOptions ingest_options;
  ingest_options.max_series_per_tenant = options.max_series_per_tenant;
  std::int64_t covered_since = clock.unix_ms();
  telemetry::Ingest telemetry(
      clock,
      [&core, &alert_signals](CommitBatch batch, std::function<void(const Status&, CommitBatch&&)> done) {
        // Proxies' telemetry events feed the alert signals once stored.
        core.commit_telemetry(std::move(batch), [&alert_signals, done = std::move(done)](const Status& status,
                                                                                    CommitBatch&& committed) mutable {
          if (status.ok()) alerts::feed_signals(alert_signals, committed);
          done(status, std::move(committed));
        });
      },
      ingest_options);
  try {
    const auto phase_start = std::chrono::steady_clock::now();
    const auto rows = store->read_rollups_since(clock.unix_ms() - telemetry::kWindowMs);
    telemetry.load(store->load_telemetry_marks(), store->load_telemetry_series(), rows);
    // The windows hold complete data from the start on, or from the oldest
    // re-seeded minute when the rollups reach up to now (tg-control was down
    // no longer than a couple of minutes): rules whose window starts earlier
    // are skipped, so a restart neither resolves alerts on missing data nor
    // fires no_traffic.
    const std::int64_t start = clock.unix_ms();
    covered_since = start;
    if (!rows.empty()) {
      std::int64_t oldest = rows.front().minute_unix_ms, newest = oldest;
      for (const auto& row : rows) {
        oldest = std::min(oldest, row.minute_unix_ms);
        newest = std::max(newest, row.minute_unix_ms);
      }
      if (newest >= telemetry::minute_of(start) - 120'000) covered_since = oldest;
    }
    if (fresh_database) covered_since = 0;  // nothing happened before it
    // The alert signals (event_count, restarts) from the last hour's stored
    // events and status reports.
    EventQuery recent;
    recent.occurrences = true;
    recent.since_unix_ms = start - telemetry::kWindowMs;
    recent.limit = 1'000'000;
    for (const EventRow& row : store->list_events(recent))
      alert_signals.add_event(row.record.tenant, row.record.service, row.record.instance, row.record.kind,
                        row.record.level, row.record.time_unix_ms);
    StatusQuery samples;
    samples.since_unix_ms = start - telemetry::kWindowMs;
    samples.limit = 1'000'000;
    for (const StatusSample& sample : store->list_status_samples(samples))
      alert_signals.add_restarts(sample.tenant, sample.service, sample.instance, sample.restarts, sample.time_unix_ms);
    spdlog::info("tg-control: telemetry: {} minute rollup(s) of the last hour loaded in {} ms", rows.size(),
                 ms_since(phase_start));
  } catch (const std::exception& e) {
    std::cerr << "tg-control: " << options.db_path << ": loading the telemetry rollups: " << e.what() << "\n";
    return 1;
  }
  TelemetryService telemetry_service(core, telemetry, tokens);
  // The table stream: built from the registry before the loop runs, then fed
  // by every committed batch (owner loop).
  AsioDebounceTimer table_timer(core.io());
  AsioDebounceTimer stream_sweep_timer(core.io());
  TableHubOptions hub_options;
  hub_options.limits = options.stream_limits;
  hub_options.sweep_timer = &stream_sweep_timer;
  hub_options.debounce = options.table_debounce;
  hub_options.registry_id = identity.registry_id;
  hub_options.adopted = identity.adopted;
  hub_options.fleet_ahead = identity.fleet_ahead;
  hub_options.accept_restore = options.accept_restore;
  // Identity changes commit through the writer like registry changes; a lift
  // becomes the registry's generation once it is durable.
  hub_options.commit_identity = [&core, &registry](IdentityChange change, AuditRecord audit,
                                                   std::function<void(bool)> done) {
    CommitBatch batch;
    const std::optional<std::uint64_t> generation = change.generation;
    batch.identity = std::move(change);
    batch.audit.push_back(std::move(audit));
    core.commit(std::move(batch), [&registry, generation, done = std::move(done)](const Status& status) {
      if (status.ok() && generation) registry.set_generation(*generation);
      done(status.ok());
    });
  };
  // JWT key material: read from the tenants' files now, fetched from their
  // jwks_url once the loop runs; the table carries it in the tenant entries.
  auth::JwksFetcher jwks_fetcher;
  keys::KeyServiceOptions key_options;
  key_options.key_request_interval = options.jwks_refetch_interval;
  key_options.retry_interval = options.jwks_refetch_interval;
  keys::KeyService keys(
      core.io(), clock,
      [&jwks_fetcher](const auth::JwksUrl& url, auto done) { jwks_fetcher.fetch(url, std::move(done)); },
      key_options);
  keys.load(registry);
  hub_options.tenant_keys = [&keys](v1::Tenant& tenant) { keys.fill(tenant); };
  TableHub hub(registry, clock, table_timer, hub_options, &core.metrics().table());
  keys.set_on_changed([&hub](const std::string& tenant) { hub.refresh_tenant(tenant); });
  // The keys observer first: a tenant change re-reads its files before the
  // hub encodes its entry.
  core.add_observer([&keys](const CommitBatch& batch) { keys.on_commit(batch); });
  core.add_observer([&hub](const CommitBatch& batch) { hub.on_commit(batch); });
  health::HealthCheckerHooks health_hooks;
  health_hooks.writable = [&core] { return core.write_refusal().ok(); };
  health_hooks.commit = [&core](CommitBatch batch) {
    core.commit(std::move(batch), [](const Status& status) {
      if (!status.ok()) spdlog::error("tg-control: recording a health change failed: {}", status.message);
    });
  };
  health_hooks.probed = [&core](const health::ProbeResult& result) {
    core.metrics().record_probe(result.passed, result.latency);
  };
  health_hooks.targets = [&core](std::size_t targets) { core.metrics().set_health_targets(targets); };
  health::HealthChecker health_checker(core.io(), registry, std::move(health_hooks));
  core.add_observer([&health_checker](const CommitBatch& batch) { health_checker.on_commit(batch); });
  core.add_reload_observer([&health_checker] { health_checker.on_reload(); });
  DiscoveryService discovery(core, hub, tokens, [&keys](const v1::KeyRequest& request) {
    keys.key_request(request.tenant(), request.kid());
  });
  AdminService admin(core, tokens, &hub);
  admin.set_telemetry(&telemetry);
  // POST /v1/admin/<Method>: the Admin calls over HTTP JSON, through an
  // in-process channel to the gRPC server below.
  HttpAdmin http_admin(core.io(), HttpAdminOptions{}, [&core](const std::string& method, unsigned status) {
    core.metrics().record_http_admin(method, status);
  });
  ingest::IngestService ingest(core);
  // Alerting: the engine runs the book on the owner loop; the dispatcher
  // (its own thread) is made once the HTTP port's address is known.
  std::unique_ptr<alerts::Dispatcher> dispatcher;
  alerts::EngineOptions engine_options;
  engine_options.eval_interval = options.eval_interval;
  engine_options.alert_history = alert_history;
  engine_options.covered_since_unix_ms = covered_since;
  alerts::EngineHooks engine_hooks;
  engine_hooks.window = [&telemetry]() -> const telemetry::Window& { return telemetry.window(); };
  engine_hooks.instances = [&registry] {
    std::vector<alerts::InstanceState> out;
    out.reserve(registry.instances().size());
    for (const auto& [id, instance] : registry.instances()) {
      alerts::InstanceState state;
      state.id = id;
      state.service = instance.service();
      if (auto service = registry.services().find(instance.service()); service != registry.services().end())
        state.tenant = service->second.tenant();
      state.labels.insert(instance.labels().begin(), instance.labels().end());
      state.unhealthy = instance.health() == v1::HEALTH_UNHEALTHY;
      out.push_back(std::move(state));
    }
    return out;
  };
  engine_hooks.proxies_connected = [&hub] { return hub.connected(); };
  engine_hooks.commit = [&core](CommitBatch batch, std::function<void(const Status&)> done) {
    core.commit_telemetry(std::move(batch),
                          [done = std::move(done)](const Status& status, CommitBatch&&) { done(status); });
  };
  engine_hooks.read_store = [&core](std::function<void(Store&)> job) { core.read_store(std::move(job)); };
  engine_hooks.enqueue = [&dispatcher](alerts::DeliveryJob job) {
    if (dispatcher) dispatcher->enqueue(std::move(job));
  };
  alerts::Engine alerting(core.io(), clock, *book, alert_signals, engine_options, std::move(engine_hooks));
  // Events and status reports of registry commits (ingest, health flips,
  // heartbeat expiry) feed the alert signals.
  core.add_observer([&alerting](const CommitBatch& batch) { alerting.on_commit(batch); });
  // The Admin alerting calls and the ack URL read and write the book on the
  // owner loop; their commits reach the engine through the observer above.
  const std::unique_ptr<AlertAccess> alert_access = book_access(*book);
  admin.set_alerts(alert_access.get());
  AlertAckHttp alert_ack(core, tokens, *alert_access);
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<grpc::Server> grpc_server;
  // After grpc_server: destroyed (its thread joined) before the server it feeds.
  std::unique_ptr<GrpcAcceptor> grpc_acceptor;
  std::unique_ptr<GrpcProbe> probe;
  asio::io_context main_io(1);
  // Installed before the ready file exists, so a SIGTERM sent as soon as it
  // appears is a clean shutdown rather than the default action.
  asio::signal_set signals(main_io, SIGINT, SIGTERM);
  // SIGHUP: the tenants' JWT key files are read again.
  asio::signal_set hangup(main_io, SIGHUP);
  int exit_code = 0;
  core.on_fatal([&main_io, &exit_code](const std::string& reason) {
    spdlog::critical("tg-control: stopping: {}", reason);
    asio::post(main_io, [&main_io, &exit_code] {
      exit_code = 1;
      main_io.stop();
    });
  });
  try {
    // The HTTP acceptor belongs to the owner loop; create it before the loop runs.
    try {
      http = start_http(core, http_endpoint, grpc_acceptor, keys, http_admin, telemetry, ingest, alerting, alert_ack);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(net::bind_error_text("--http", options.http_address, e.code().value()));
    }
    // tg-control listens on the gRPC port itself and hands each connection
    // to the server, which has no listening port of its own: libgrpc 1.51
    // can neither cap connections nor accept again after EMFILE
    // (control/server/grpc_acceptor.hpp). The channel arguments below apply
    // to those connections as to accepted ones.
    try {
      GrpcAcceptorOptions acceptor_options;
      acceptor_options.max_connections = grpc_max_connections;
      grpc_acceptor = std::make_unique<GrpcAcceptor>(grpc_endpoint, acceptor_options, [&grpc_server](int fd) {
        grpc::AddInsecureChannelFromFd(grpc_server.get(), fd);
      });
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(net::bind_error_text("--grpc", options.grpc_address, e.code().value()));
    }
    const unsigned grpc_port = grpc_acceptor->local_endpoint().port();
    grpc::ServerBuilder builder;
    builder.RegisterService(&admin);
    builder.RegisterService(&discovery);
    builder.RegisterService(&telemetry_service);
    // Requests are read whole before a handler (and its token check) runs:
    // receive only what the largest legitimate request needs (an Apply).
    // Sends carry balancer tables: a 10,000-tenant / 50,000-instance table is
    // about 10 MB.
    builder.SetMaxReceiveMessageSize(static_cast<int>(max_grpc_receive_bytes()));
    builder.SetMaxSendMessageSize(256 * 1024 * 1024);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.grpc_max_streams_per_connection);
    grpc::ResourceQuota quota("tg-control-grpc");
    quota.Resize(options.grpc_memory_quota_bytes);
    builder.SetResourceQuota(quota);
    // Idle connections are closed (the cap is the acceptor's).
    if (options.grpc_max_connection_idle.count() > 0)
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                                 static_cast<int>(options.grpc_max_connection_idle.count()));
    // Dead proxies are noticed within seconds; proxies may ping idle streams.
    // gRPC's handshake timeout does not apply to connections handed over
    // (they skip its handshake stage): the keepalive closes a connection
    // that never speaks HTTP/2 (no ping answered) after about 15 s.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    core.start();
    health_checker.start();
    jwks_fetcher.start();
    asio::post(core.io(), [&keys] { keys.start(); });
    grpc_server = builder.BuildAndStart();
    if (!grpc_server)
      throw std::runtime_error("--grpc " + options.grpc_address +
                               ": the gRPC server did not start (see its log above)");
    grpc_acceptor->start();
    {
      grpc::ChannelArguments channel_arguments;
      channel_arguments.SetMaxReceiveMessageSize(256 * 1024 * 1024);  // as the server's send limit
      http_admin.connect(grpc_server->InProcessChannel(channel_arguments));
    }
    const std::string grpc_text = endpoint_text(grpc_endpoint.address(), grpc_port);
    const std::string http_text = endpoint_text(http_endpoint.address(), http->local_endpoint().port());
    {
      // ackURL and generatorURL point at the HTTP port unless --external-url says otherwise.
      const std::string external_url = options.external_url.empty() ? "http://" + http_text : options.external_url;
      alerts::DispatcherOptions dispatcher_options;
      dispatcher_options.external_url = external_url;
      dispatcher = std::make_unique<alerts::Dispatcher>(
          clock, dispatcher_options, [&alerting](alerts::AttemptOutcome outcome) {
            alerting.post_outcome(std::move(outcome));
          });
      dispatcher->start();
      std::promise<void> started;
      asio::post(core.io(), [&] {
        book->set_external_url(external_url);
        // What was pending when tg-control stopped goes out again (same ids).
        for (alerts::DeliveryJob& job : book->pending_jobs()) dispatcher->enqueue(std::move(job));
        alerting.start();
        started.set_value();
      });
      started.get_future().wait();
      spdlog::info("tg-control: alerting: evaluating every {} ms; ackURLs under {}", options.eval_interval.count(),
                   external_url);
    }
    spdlog::info("tg-control: gRPC (Admin, Discovery, Telemetry) on {} (at most {} connections), HTTP on {}{}", grpc_text,
                 grpc_max_connections, http_text,
                 tokens.enabled() ? "" : " (no --token-file: Admin calls are not authenticated)");
    probe = std::make_unique<GrpcProbe>(probe_target(grpc_endpoint, grpc_port),
                                        options.grpc_probe_interval, options.grpc_probe_timeout, core.limits());
    if (!options.ready_file.empty()) write_ready_file(options.ready_file, "grpc=" + grpc_text + "\nhttp=" + http_text + "\n");
  } catch (const std::exception& e) {
    std::cerr << "tg-control: " << e.what() << "\n";
    probe.reset();
    if (dispatcher) dispatcher->stop();
    health_checker.stop();
    jwks_fetcher.stop();
    if (grpc_acceptor) grpc_acceptor->stop();
    if (http) asio::post(core.io(), [&http] { http->stop(); });
    core.stop();
    return 1;
  }

  signals.async_wait([&main_io](const boost::system::error_code& ec, int signal) {
    if (!ec) spdlog::info("tg-control: signal {}: shutting down", signal);
    main_io.stop();
  });
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("tg-control: SIGHUP: reading the JWT key files again");
      asio::post(core.io(), [&keys] { keys.reload_files(); });
      wait_hangup();
    });
  };
  wait_hangup();
  main_io.run();
  if (probe) probe->stop();
  health_checker.stop();
  jwks_fetcher.stop();
  // No new gRPC connections; those open finish below.
  grpc_acceptor->stop();

  // Table streams never end by themselves: finish them first, so Shutdown
  // waits only for in-flight Admin calls.
  std::promise<void> streams_finished;
  asio::post(core.io(), [&] {
    keys.stop();
    alerting.stop();
    hub.shutdown();
    telemetry_service.shutdown();
    streams_finished.set_value();
  });
  streams_finished.get_future().wait_for(options.shutdown_timeout);
  // HTTP Admin calls: new ones are refused (503), those under way finish.
  http_admin.stop(options.shutdown_timeout);
  ingest.stop();
  // In-flight deliveries are abandoned: they stay pending in the store and
  // go out again at the next start.
  if (dispatcher) dispatcher->stop();
  // In-flight calls finish (their commits complete) until the deadline; then
  // gRPC cancels the rest. The owner loop and the writer keep running meanwhile.
  grpc_server->Shutdown(std::chrono::system_clock::now() + options.shutdown_timeout);
  std::promise<void> http_stopped;
  asio::post(core.io(), [&] {
    http->stop();
    http_stopped.set_value();
  });
  http_stopped.get_future().wait_for(options.shutdown_timeout);
  core.stop();
  http.reset();
  spdlog::info("tg-control: stopped at revision {}", core.committed_revision());
  return exit_code;
}

}  // namespace tg::control
