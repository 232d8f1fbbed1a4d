// The configuration model shared by tg-proxy and tg-control (docs/configuration.md).
//
// These are plain values produced by the YAML loader (config/loader.hpp) after
// validation: every field holds a checked value, every reference resolves.
// Runtime objects (the proxy's Snapshot, the control plane's registry) are
// built from this model and never from YAML directly.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

using Duration = std::chrono::milliseconds;

// Where an object was declared; 1-based line and column. Empty file = not from a file.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// Where a reference to another object is written (the value of a route's
// `service:`), with its path in the document for messages ("routes[2].service").
struct ReferenceSite {
  SourceLocation location;
  std::string path;
};

enum class LbPolicy {
  round_robin,    // smooth weighted round robin
  weighted,       // weighted random
  least_request,  // power of two choices over in-flight requests
  ip_hash,
  ring_hash,
  maglev,
  peak_ewma,
  sticky_link,
};

// What hash policies hash on. Absent key falls back to the client IP.
struct HashKey {
  enum class Kind { client_ip, header, cookie };
  Kind kind = Kind::client_ip;
  std::string name;  // header or cookie name; empty for client_ip
};

// An inclusive range of HTTP status codes.
struct StatusRange {
  int min = 200;
  int max = 399;
  bool operator==(const StatusRange&) const = default;
};

struct HealthCheck {
  enum class Type { http, tcp };
  Type type = Type::http;
  std::string path = "/healthz";
  std::vector<StatusRange> expect = {StatusRange{}};  // http: the statuses that pass
  std::string host;                                   // http: Host header; "" = the instance's address
  Duration interval = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(1);
  int healthy_threshold = 2;
  int unhealthy_threshold = 3;
};

struct Outlier {
  int consecutive_failures = 5;
  bool count_5xx = false;  // 5xx answers count as failures too
  Duration base_ejection = std::chrono::seconds(10);
  Duration max_ejection = std::chrono::seconds(300);  // caps base_ejection x ejections, and Retry-After back-offs
  int max_ejection_percent = 10;
  int half_open_probes = 1;
};

// Conditions a try may be retried on (bit flags).
enum RetryOn : std::uint32_t {
  retry_connect_failure = 1u << 0,
  retry_reset = 1u << 1,
  retry_timeout = 1u << 2,
  retry_503 = 1u << 3,
  retry_502 = 1u << 4,
  retry_504 = 1u << 5,
};

struct Retry {
  int attempts = 2;  // counts all tries, the first included
  std::uint32_t on = retry_connect_failure | retry_reset;
  Duration per_try_timeout{0};  // 0 = bounded by timeouts.response_headers only
  int budget_percent = 20;
  int min_retries_per_second = 3;  // retries allowed per second whatever the budget (per proxy)
};

struct Timeouts {
  Duration connect = std::chrono::seconds(1);
  Duration response_headers = std::chrono::seconds(30);
  Duration idle = std::chrono::seconds(60);
};

// The largest limits.buffer_body: the proxy reserves this much (virtual
// memory; only bytes received become resident) in each request context.
inline constexpr std::uint64_t kMaxBufferBody = 1024 * 1024;

struct Limits {
  std::uint32_t max_connections_per_instance = 1024;
  std::uint32_t max_pending_per_instance = 256;
  // The longest a request waits in an instance's pending queue for a
  // connection before 503 overflow.
  Duration pending_timeout = std::chrono::seconds(1);
  std::uint64_t max_body = 10ull * 1024 * 1024;
  // Request bodies up to this size are received whole before an upstream
  // connection is taken, and only such bodies are replayed on a retry after
  // bytes were sent; 0 streams every body.
  std::uint64_t buffer_body = 64 * 1024;
};

// Set by the control plane (the balancer-table stream); a YAML file leaves the
// defaults. Only `active` instances get new requests; `unhealthy` ones only
// when a service is in panic (fewer than half of its active instances healthy).
enum class AdminState { active, draining, disabled };
enum class Health { unknown, healthy, unhealthy };  // unknown counts as healthy for now

struct Instance {
  std::string id;       // explicit, or "<service>/<address>" when not given
  std::string address;  // as written: "host:port" or "[v6]:port"
  std::string host;     // IP literal or DNS name, without brackets
  std::uint16_t port = 0;
  std::uint32_t weight = 1;  // 1..10000
  std::map<std::string, std::string> labels;
  AdminState admin_state = AdminState::active;
  Health health = Health::unknown;
  std::string health_reason;
  SourceLocation location;
};

struct Service {
  std::string name;
  std::string tenant;  // empty = no tenant
  ReferenceSite tenant_site;
  LbPolicy lb = LbPolicy::round_robin;
  HashKey hash_key;
  std::optional<HealthCheck> health_check;
  std::optional<Outlier> outlier;
  Retry retry;
  Timeouts timeouts;
  Limits limits;
  std::vector<Instance> instances;
  SourceLocation location;
};

// A rate: `count` per `period` (YAML "100/s", "600/m").
struct Rate {
  std::uint64_t count = 0;
  Duration period = std::chrono::seconds(1);
};

// A token bucket's shape: refilled at `rate`, holding at most `burst` tokens
// (0 = the rate's count).
struct TenantLimits {
  std::optional<Rate> rate;
  std::uint64_t burst = 0;
  std::uint32_t max_concurrent = 0;  // in-flight requests per proxy; 0 = unlimited
  bool shadow = false;               // count and log, refuse nothing
};

struct Credential {
  enum class Kind { api_key, ingest };
  std::string name;
  Kind kind = Kind::api_key;
  std::array<unsigned char, 32> sha256{};  // of the secret
  SourceLocation location;
};

// A tenant's JWT settings. One key source of jwks_file, jwks_url and
// hs256_secret_file; the key material itself (jwks_json / hs256_secret) is
// read by whoever serves the table: tg-control for pushed tables, the
// standalone proxy from the files.
struct Jwt {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwks_file;
  std::string jwks_url;
  std::string hs256_secret_file;
  std::string jwks_json;     // the JWK Set in force
  std::string hs256_secret;  // the secret's bytes
  SourceLocation location;
};

struct Tenant {
  std::string id;
  std::map<std::string, std::string> labels;
  std::vector<Credential> credentials;
  std::optional<Jwt> jwt;
  TenantLimits limits;
  SourceLocation location;
};

struct HeaderMatch {
  std::string name;   // stored lower-case
  std::string value;  // exact, case-sensitive
};

struct RouteMatch {
  // Empty = any host. "*.example.com" matches any host ending in ".example.com"
  // (not "example.com" itself). Stored lower-case, without port.
  std::string host;
  // Exactly one of path_prefix / path_exact is set; path_prefix defaults to "/".
  std::string path_prefix;
  std::string path_exact;
  std::string method;  // empty = any; upper-case token
  std::optional<HeaderMatch> header;
};

struct Rewrite {
  std::string strip_prefix;  // removed from the front of the path when present
};

struct RouteRateLimit {
  enum class By { tenant, client_ip, header, route };
  Rate rate;
  std::uint64_t burst = 0;  // 0 = the rate's count
  By by = By::tenant;
  std::string header;  // By::header: the header name, lower-case
  bool shadow = false;
};

enum class RouteAuth { none, required };

struct Route {
  std::string name;
  RouteMatch match;
  std::string service;
  ReferenceSite service_site;
  Rewrite rewrite;
  // Requests whose path holds "%2F", "%5C" or '\' get 400 on this route
  // (for upstreams that would read them as path separators).
  bool reject_encoded_slashes = false;
  RouteAuth auth = RouteAuth::none;
  bool auth_forward = false;  // forward X-Api-Key / Authorization upstream
  std::optional<RouteRateLimit> rate_limit;
  SourceLocation location;
};

// `retention:` (control plane only): how long tg-control keeps its history.
// A field left out is not set here (the flag or the default applies, see
// docs/configuration.md); 0 = kept forever, else at least min_retention.
struct Retention {
  std::optional<Duration> rollups;        // metric rollups (read for the coming rollups; not enforced yet)
  std::optional<Duration> events;         // event groups, by last seen
  std::optional<Duration> alert_history;  // alert episodes (read for the coming alerts; not enforced yet)
  std::optional<Duration> audit;          // audit rows
  SourceLocation location;                // of the `retention:` value
};

inline constexpr Duration min_retention = std::chrono::hours(1);

// An `alert_rules` item (control plane only; docs/alerting.md).
struct AlertRuleConfig {
  std::string name;
  SourceLocation location;
  std::string scope_tenant, scope_service, scope_route, scope_instance;  // "" = not set
  std::map<std::string, std::string> scope_labels;
  std::string metric;  // request_rate | error_rate | ... (docs/alerting.md)
  std::string op;      // > >= < <= == !=
  double threshold = 0;
  std::string event_kind;   // event_count: condition.kind
  std::string event_level;  // event_count: condition.level ("" = any)
  Duration window{60'000};
  Duration for_duration{0};
  Duration keep_firing_for{0};
  std::vector<std::string> group_by;
  std::string severity;
  std::vector<std::string> notifiers;
  std::map<std::string, std::string> annotations;
};

// A `notifiers` item (control plane only).
struct NotifierConfig {
  enum class Type { webhook, alertmanager };
  std::string name;
  SourceLocation location;
  Type type = Type::webhook;
  std::string url;
  std::string secret_file;  // "" = unsigned
  Duration repeat_interval{4 * 3'600'000};
  bool send_resolved = true;
  Duration timeout{10'000};
};

struct Config {
  std::vector<Tenant> tenants;
  std::vector<Service> services;
  std::vector<Route> routes;
  std::optional<Retention> retention;  // set by Reader::control only; the proxy ignores the section
  std::vector<AlertRuleConfig> alert_rules;  // Reader::control only
  std::vector<NotifierConfig> notifiers;     // Reader::control only
};

inline constexpr LbPolicy all_lb_policies[] = {
    LbPolicy::round_robin, LbPolicy::weighted, LbPolicy::least_request, LbPolicy::ip_hash,
    LbPolicy::ring_hash,   LbPolicy::maglev,   LbPolicy::peak_ewma,     LbPolicy::sticky_link,
};

// Names as written in YAML ("least_request", "503", "http").
std::string_view to_string(LbPolicy policy);
std::optional<LbPolicy> lb_policy_from_string(std::string_view name);
// True for the policies that read Service::hash_key (ring_hash, maglev, sticky_link).
bool uses_hash_key(LbPolicy policy);

// In the order the YAML documentation lists them.
inline constexpr RetryOn all_retry_conditions[] = {
    retry_connect_failure, retry_reset, retry_timeout, retry_502, retry_503, retry_504,
};
std::string_view to_string(RetryOn condition);
std::optional<RetryOn> retry_on_from_string(std::string_view name);

std::string_view to_string(HealthCheck::Type type);
std::string_view to_string(AdminState state);  // "active" | "draining" | "disabled"
std::string_view to_string(Health health);     // "unknown" | "healthy" | "unhealthy"

}  // namespace tg::config
