// tg-proxy: flags → ServerOptions → run_server. Logic lives in tg_proxy.
#include "balancing/ip_address.hpp"
#include "config/loader.hpp"
#include "netio/endpoint.hpp"
#include "runtime/listen_lock.hpp"
#include "server.hpp"
#include "table/snapshot.hpp"
#include "text/node_id.hpp"

#ifdef TG_WITH_CONTROL
#include "subscription/control_client.hpp"
#include "telemetry/report_client.hpp"
#endif

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

namespace {

boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text, const char* flag) {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string error;
  if (!tg::net::parse_endpoint(text, endpoint, error)) throw CLI::ValidationError(flag, error);
  return endpoint;
}

std::chrono::milliseconds parse_flag_duration(const std::string& text, const char* flag) {
  tg::config::Duration d{};
  if (!tg::config::parse_duration(text, d)) throw CLI::ValidationError(flag, "bad duration '" + text + "'");
  return d;
}

// --control and its companions, checked after parsing. Bad values exit 2.
struct ControlFlags {
  std::string address, node_id, token_file, state_dir;
  std::string token;  // read from token_file
};

int flag_error(const std::string& message) {
  std::cerr << "tg-proxy: " << message << "\n";
  return 2;
}

[[maybe_unused]] std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

// 0 when the flags are usable, else the exit code (message printed).
int check_control_flags(ControlFlags& flags) {
  if (flags.address.empty()) {
    for (const auto& [flag, value] : {std::pair{"--node-id", &flags.node_id},
                                      std::pair{"--control-token-file", &flags.token_file},
                                      std::pair{"--state-dir", &flags.state_dir}})
      if (!value->empty()) return flag_error(std::string(flag) + " needs --control");
    return 0;
  }
#ifndef TG_WITH_CONTROL
  return flag_error("--control: this tg-proxy was built without control-plane support (TG_BUILD_CONTROL=OFF)");
#else
  std::string host;
  std::uint16_t port = 0;
  if (!tg::config::parse_address(flags.address, host, port) || port == 0)
    return flag_error("--control: expected HOST:PORT of tg-control, got '" + flags.address + "'");
  if (flags.node_id.empty()) {
    flags.node_id = host_name();
    if (!tg::valid_node_id(flags.node_id))
      return flag_error("the host name '" + flags.node_id +
                        "' is not a valid node id ([A-Za-z0-9_.:-]{1,128}): give one with --node-id");
  } else if (!tg::valid_node_id(flags.node_id)) {
    return flag_error("--node-id: '" + flags.node_id + "' is not a valid node id ([A-Za-z0-9_.:-]{1,128})");
  }
  if (!flags.token_file.empty()) {
    std::ifstream in(flags.token_file);
    if (!in) return flag_error("--control-token-file: cannot read '" + flags.token_file + "'");
    std::getline(in, flags.token);
    const auto first = flags.token.find_first_not_of(" \t\r\n");
    const auto last = flags.token.find_last_not_of(" \t\r\n");
    flags.token = first == std::string::npos ? "" : flags.token.substr(first, last - first + 1);
    if (flags.token.empty()) return flag_error("--control-token-file: '" + flags.token_file + "' holds no token");
  }
  if (!flags.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(flags.state_dir, ec);
    if (ec || !std::filesystem::is_directory(flags.state_dir))
      return flag_error("--state-dir: cannot create directory '" + flags.state_dir + "'" +
                        (ec ? ": " + ec.message() : ""));
  }
  return 0;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tg-proxy: tenant-aware HTTP/1.1 reverse proxy (tenantgate data plane)"};
  std::string config_path, listen = "0.0.0.0:8080", admin = "127.0.0.1:9901", log_level = "info";
  std::string access_log = "off", ready_file, trusted_proxies;
  std::string header_timeout = "10s", keepalive_timeout = "60s", drain_timeout = "15s";
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::uint32_t max_header_bytes = 16384;
  std::uint16_t max_headers = 100;
  std::uint32_t relay_buffer_kib = 64;
  bool check = false;
  bool merge_slashes = false;
  bool trust_request_id = false;
  std::size_t max_tenant_series = 0;
  tg::proxy::ServerOptions defaults;
  std::size_t auth_cached_tokens = defaults.auth_cached_tokens;
  std::size_t auth_failing_addresses = defaults.auth_failing_addresses;
  std::uint32_t rate_limit_keys = defaults.rate_limit_keys;

  app.add_option("--config", config_path, "YAML table (tenants, services, routes)");
  app.add_flag("--check", check, "validate --config and exit (0 ok, 1 with FILE:LINE:COLUMN messages)");
  app.add_option("--listen", listen, "client address, ADDR:PORT (port 0 picks one)")->capture_default_str();
  app.add_option("--admin", admin, "admin address (/metrics /healthz /ready /config)")->capture_default_str();
  std::string lock_dir = tg::proxy::default_lock_dir();
  app.add_option("--lock-dir", lock_dir,
                 "directory of the per-address lock files that keep a second tg-proxy off --listen "
                 "(created 0700 if missing)")
      ->capture_default_str();
  app.add_option("--workers", workers, "worker threads (default: cores)")->capture_default_str()->check(CLI::Range(1u, 256u));
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_option("--access-log", access_log, "access log file, '-' for stdout, or off")->capture_default_str();
  app.add_option("--max-tenant-series", max_tenant_series,
                 "tenant-labelled request series for up to N tenants, the rest as tenant=\"other\" (0: off)")
      ->capture_default_str();
  app.add_option("--ready-file", ready_file, "write listen= and admin= lines here once bound");
  app.add_option("--max-header-bytes", max_header_bytes, "request/response head limit (431 beyond)")
      ->capture_default_str()->check(CLI::Range(1024u, 1u << 20));
  app.add_option("--max-headers", max_headers, "header count limit (431 beyond)")
      ->capture_default_str()->check(CLI::Range(8, 1000));
  app.add_option("--relay-buffer-kib", relay_buffer_kib,
                 "per-direction body buffer of a request in KiB (only the pages a request touches are resident)")
      ->capture_default_str()->check(CLI::Range(4u, 1024u));
  app.add_flag("--merge-slashes", merge_slashes, "collapse '//' in paths before matching and forwarding");
  app.add_option("--header-timeout", header_timeout, "time allowed to receive a request head")->capture_default_str();
  app.add_option("--keepalive-timeout", keepalive_timeout, "idle client keep-alive connections close after")
      ->capture_default_str();
  app.add_option("--drain-timeout", drain_timeout, "SIGTERM: finish in-flight requests up to")->capture_default_str();
  app.add_option("--trusted-proxies", trusted_proxies,
                 "CIDR[,CIDR...]: peers whose X-Forwarded-For names the client for ip_hash and the client_ip "
                 "hash key (e.g. 10.0.0.0/8,2001:db8::/32), and whose X-Request-Id is kept; default none");
  app.add_flag("--trust-request-id", trust_request_id,
               "keep a valid client X-Request-Id from any peer (default: only from --trusted-proxies, "
               "others get a generated id)");
  // Per-worker tables, allocated when a worker starts: memory the operator bounds.
  app.add_option("--auth-max-cached-tokens", auth_cached_tokens,
                 "verified JWTs each worker keeps (a token seen again skips its signature check)")
      ->capture_default_str()->check(CLI::Range(std::size_t{4}, std::size_t{1} << 20));
  app.add_option("--auth-max-failing-addresses", auth_failing_addresses,
                 "client addresses each worker tracks for the authentication failure limiter")
      ->capture_default_str()->check(CLI::Range(std::size_t{4}, std::size_t{1} << 20));
  app.add_option("--rate-limit-max-keys", rate_limit_keys,
                 "keyed buckets each worker holds for rate_limit by client_ip or header (least recently used "
                 "evicted)")
      ->capture_default_str()->check(CLI::Range(1u, 1u << 22));
  ControlFlags control;
  app.add_option("--control", control.address,
                 "tg-control's gRPC address HOST:PORT: serve the tables it pushes (they win over --config; "
                 "SIGHUP does not reload)");
  app.add_option("--node-id", control.node_id, "this proxy's name at tg-control (default: the host name)");
  app.add_option("--control-token-file", control.token_file, "file holding the bearer token for tg-control");
  app.add_option("--state-dir", control.state_dir,
                 "keep the last pushed table here (created if missing); served at start until tg-control pushes");
  // Telemetry (with --control): the request outcomes' deltas to tg-control.
  std::string telemetry_interval = "1s", telemetry_buffer = "60s", telemetry_flush_timeout = "2s";
  std::string telemetry_target;
  std::size_t telemetry_window = 8;
  bool telemetry_instance_histograms = false;
  app.add_option("--telemetry-interval", telemetry_interval,
                 "with --control: send the request counters' deltas to tg-control this often (0: no telemetry)")
      ->capture_default_str();
  app.add_option("--telemetry-target", telemetry_target,
                 "tg-control address HOST:PORT for telemetry (default: the --control address)");
  app.add_option("--telemetry-buffer", telemetry_buffer,
                 "unacked telemetry kept while tg-control is away, as a duration of batches (oldest dropped first)")
      ->capture_default_str();
  app.add_option("--telemetry-window", telemetry_window, "telemetry batches sent before their acks, at most")
      ->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  app.add_option("--telemetry-flush-timeout", telemetry_flush_timeout,
                 "SIGTERM: wait up to this for tg-control's acks of the telemetry held")
      ->capture_default_str();
  app.add_flag("--telemetry-instance-histograms", telemetry_instance_histograms,
               "telemetry: a latency histogram per instance too (default: per route only)");

  tg::proxy::ServerOptions options;
  try {
    app.parse(argc, argv);
    options.listen = parse_endpoint(listen, "--listen");
    options.admin = parse_endpoint(admin, "--admin");
    options.listen_text = listen;
    options.admin_text = admin;
    options.lock_dir = lock_dir;
    options.settings.header_timeout = parse_flag_duration(header_timeout, "--header-timeout");
    options.settings.keepalive_timeout = parse_flag_duration(keepalive_timeout, "--keepalive-timeout");
    options.settings.drain_timeout = parse_flag_duration(drain_timeout, "--drain-timeout");
    options.telemetry_interval = parse_flag_duration(telemetry_interval, "--telemetry-interval");
    options.telemetry_buffer = parse_flag_duration(telemetry_buffer, "--telemetry-buffer");
    options.telemetry_flush_timeout = parse_flag_duration(telemetry_flush_timeout, "--telemetry-flush-timeout");
    if (!trusted_proxies.empty()) {
      std::string error;
      if (!tg::proxy::balancing::parse_cidr_list(trusted_proxies, options.settings.trusted_proxies, error))
        throw CLI::ValidationError("--trusted-proxies", error);
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (int code = check_control_flags(control)) return code;
  if (!telemetry_target.empty() && control.address.empty()) return flag_error("--telemetry-target needs --control");

  if (check) {
    if (config_path.empty()) {
      std::cerr << "--check needs --config FILE\n";
      return 2;
    }
    std::string error;
    std::vector<std::string> warnings;
    auto snapshot = tg::proxy::load_snapshot(config_path, 1, error, &warnings);
    for (const auto& warning : warnings) std::cerr << warning << "\n";
    if (!snapshot) {
      std::cerr << error << (error.empty() || error.back() == '\n' ? "" : "\n");
      return 1;
    }
    std::cout << config_path << ": ok (" << snapshot->services.size() << " services, " << snapshot->routes.size()
              << " routes)\n";
    return 0;
  }

  options.config_path = config_path;
  options.access_log = access_log == "off" ? "" : access_log;
  options.ready_file = ready_file;
  options.max_tenant_series = max_tenant_series;
  options.settings.workers = workers;
  options.settings.merge_slashes = merge_slashes;
  options.settings.trust_request_id = trust_request_id;
  options.settings.body_buffer_bytes = std::size_t{relay_buffer_kib} * 1024;
  options.settings.limits.max_head_bytes = max_header_bytes;
  options.settings.limits.max_headers = max_headers;
  options.auth_cached_tokens = auth_cached_tokens;
  options.auth_failing_addresses = auth_failing_addresses;
  options.rate_limit_keys = rate_limit_keys;
#ifdef TG_WITH_CONTROL
  std::optional<tg::proxy::subscription::ControlClient> control_client;
  if (!control.address.empty()) {
    tg::proxy::subscription::ControlOptions control_options;
    control_options.address = control.address;
    control_options.node_id = control.node_id;
    control_options.token = control.token;
    control_options.state_dir = control.state_dir;
    control_client.emplace(std::move(control_options));
    options.feed = &*control_client;
  }
  // Telemetry rides beside the table stream: same tg-control (or
  // --telemetry-target), token, node id and boot id.
  std::optional<tg::proxy::telemetry::ReportClient> report_client;
  if (control_client && options.telemetry_interval.count() > 0) {
    std::string target = telemetry_target.empty() ? control.address : telemetry_target;
    std::string host;
    std::uint16_t port = 0;
    if (!tg::config::parse_address(target, host, port) || port == 0)
      return flag_error("--telemetry-target: expected HOST:PORT, got '" + target + "'");
    tg::proxy::telemetry::ReportOptions report;
    report.target = std::move(target);
    report.node_id = control.node_id;
    report.boot_id = control_client->boot_id();
    report.token = control.token;
    report.interval = options.telemetry_interval;
    report.buffer_batches = std::max<std::size_t>(
        1, static_cast<std::size_t>(options.telemetry_buffer.count() / options.telemetry_interval.count()));
    report.window = telemetry_window;
    report.flush_timeout = options.telemetry_flush_timeout;
    report.workers = workers;
    report_client.emplace(std::move(report));
    options.telemetry = &*report_client;
    options.settings.telemetry_events = true;
    options.settings.telemetry_instance_histograms = telemetry_instance_histograms;
  }
#endif
  try {
    return tg::proxy::run_server(options);
  } catch (const std::exception& e) {
    spdlog::critical("tg-proxy: {}", e.what());
    return 1;
  }
}
