#include "server/control_server.hpp"

#include "server/admin_service.hpp"
#include "server/discovery_service.hpp"
#include "server/http_server.hpp"
#include "server/startup.hpp"
#include "store/sqlite_store.hpp"

#include "net/bind_error.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// "host:port" with an IP literal host (IPv6 in brackets); port 0 allowed.
tcp::endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected ADDR:PORT, got \"" + text + "\"");
  std::string host = text.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("\"" + host + "\" is not an IP address (in \"" + text + "\")");
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw std::runtime_error("bad port in \"" + text + "\"");
  return {address, static_cast<std::uint16_t>(std::stoul(port))};
}

long long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

std::string endpoint_text(const asio::ip::address& address, unsigned port) {
  return address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(port)
                         : address.to_string() + ":" + std::to_string(port);
}

// Written to a temporary name and renamed, so a reader never sees half a file.
void write_ready_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error(temporary + ": cannot write the ready file");
  }
  std::filesystem::rename(temporary, path);
}

HttpResponse route_http(Core& core, const std::string& method, const std::string& path) {
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "use GET\n"};
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/metrics")
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            core.metrics().render(core.registry(), core.committed_revision())};
  return {404, "text/plain; charset=utf-8", "not found; try /healthz /metrics\n"};
}

// Runs on the owner loop (the HTTP server lives there): reads registry and metrics directly.
HttpResponse handle_http(Core& core, const std::string& method, const std::string& path) {
  HttpResponse response = route_http(core, method, path);
  core.metrics().record_http(response.status);
  return response;
}

// BuildAndStart reports a failed bind only as "no server" (and a line in
// gRPC's own log), never the errno. Binding the port ourselves first and
// handing it over is not possible (the C++ API takes no listening fd) and a
// probe before gRPC binds would race with other processes; so the failure is
// explained afterwards: a probe bind of the same address, with the same
// SO_REUSEADDR and no SO_REUSEPORT, fails the same way (EADDRINUSE while the
// other listener lives). Should that listener have gone meanwhile, the probe
// succeeds and the message says that gRPC gave no reason.
std::string grpc_bind_error(const std::string& flag_value, const tcp::endpoint& endpoint) {
  const int error_number = net::probe_bind_errno(endpoint.address().to_string(), endpoint.port());
  if (error_number == 0) return "--grpc " + flag_value + ": cannot listen (gRPC gave no reason; see its log above)";
  return net::bind_error_text("--grpc", flag_value, error_number);
}

}  // namespace

int run_control_server(const ServerOptions& options) {
  SystemClock clock;
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
  LoadedState identity;  // registry id, adopted ids, the fleet-ahead mark (no objects)
  try {
    store = std::make_unique<SqliteStore>(
        SqliteOptions{options.db_path, 5000, options.synchronous_full, clock.unix_ms(),
                      options.sqlite_max_page_count});
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

  CoreOptions core_options;
  core_options.audit_retention = options.audit_retention;
  Core core(*store, registry, core_options);
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
  TableHub hub(registry, clock, table_timer, hub_options, &core.metrics().table());
  core.add_observer([&hub](const CommitBatch& batch) { hub.on_commit(batch); });
  DiscoveryService discovery(core, hub, tokens);
  AdminService admin(core, tokens, &hub);
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<grpc::Server> grpc_server;
  asio::io_context main_io(1);
  // Installed before the ready file exists, so a SIGTERM sent as soon as it
  // appears is a clean shutdown rather than the default action.
  asio::signal_set signals(main_io, SIGINT, SIGTERM);
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
      http = std::make_unique<HttpServer>(core.io(), http_endpoint, [&core](const std::string& m, const std::string& p) {
        return handle_http(core, m, p);
      });
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(net::bind_error_text("--http", options.http_address, e.code().value()));
    }
    int grpc_port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(endpoint_text(grpc_endpoint.address(), grpc_endpoint.port()),
                             grpc::InsecureServerCredentials(), &grpc_port);
    builder.RegisterService(&admin);
    builder.RegisterService(&discovery);
    // A 10,000-tenant / 50,000-instance table is about 10 MB.
    builder.SetMaxReceiveMessageSize(256 * 1024 * 1024);
    builder.SetMaxSendMessageSize(256 * 1024 * 1024);
    // Dead proxies are noticed within seconds; proxies may ping idle streams.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // gRPC sets SO_REUSEPORT by default: a second tg-control on the same port
    // would bind too and the kernel would split connections between the two.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    core.start();
    grpc_server = builder.BuildAndStart();
    if (!grpc_server || grpc_port == 0) throw std::runtime_error(grpc_bind_error(options.grpc_address, grpc_endpoint));
    const std::string grpc_text = endpoint_text(grpc_endpoint.address(), static_cast<unsigned>(grpc_port));
    const std::string http_text = endpoint_text(http_endpoint.address(), http->local_endpoint().port());
    spdlog::info("tg-control: gRPC (Admin, Discovery) on {}, HTTP on {}{}", grpc_text, http_text,
                 tokens.enabled() ? "" : " (no --token-file: Admin calls are not authenticated)");
    if (!options.ready_file.empty()) write_ready_file(options.ready_file, "grpc=" + grpc_text + "\nhttp=" + http_text + "\n");
  } catch (const std::exception& e) {
    std::cerr << "tg-control: " << e.what() << "\n";
    if (http) asio::post(core.io(), [&http] { http->stop(); });
    core.stop();
    return 1;
  }

  signals.async_wait([&main_io](const boost::system::error_code& ec, int signal) {
    if (!ec) spdlog::info("tg-control: signal {}: shutting down", signal);
    main_io.stop();
  });
  main_io.run();

  // Table streams never end by themselves: finish them first, so Shutdown
  // waits only for in-flight Admin calls.
  std::promise<void> streams_finished;
  asio::post(core.io(), [&] {
    hub.shutdown();
    streams_finished.set_value();
  });
  streams_finished.get_future().wait_for(options.shutdown_timeout);
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
