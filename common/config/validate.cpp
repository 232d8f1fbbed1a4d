// config::validate: the rules of config/rules.hpp, field by field, over a
// whole Config. The YAML section readers apply the same rules as they read.
#include "config/validate.hpp"

#include "config/rules.hpp"
#include "config/value_parsers.hpp"

#include <cstdio>
#include <set>
#include <string_view>

namespace tg::config {
namespace {

// A name as shown in a message: quoted, quotes and backslashes escaped, cut
// after 128 bytes (control characters: printable() below).
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 128)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  if (text.size() > 128) out += "...";
  out += '"';
  return out;
}

// `message` with its control characters escaped: a problem may quote the
// value, and these messages end up in logs and NACK reasons.
std::string printable(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(byte));
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

class Checker {
 public:
  std::vector<std::string> errors;

  // Records "WHERE: FIELD: PROBLEM" when there is a problem.
  void check(const std::string& where, std::string_view field, const std::optional<std::string>& problem) {
    if (problem) errors.push_back(printable(where + ": " + std::string(field) + ": " + *problem));
  }

  void integer(const std::string& where, std::string_view field, std::int64_t value, IntegerRange range) {
    check(where, field, check_integer(value, range));
  }

  void duration(const std::string& where, std::string_view field, Duration value, ZeroDuration zero) {
    check(where, field, check_duration(value, zero));
  }

  void labels(const std::string& where, const std::map<std::string, std::string>& labels) {
    for (const auto& [key, value] : labels) {
      if (auto problem = check_name(key)) check(where, "labels", "label name " + quoted(key) + " " + *problem);
      check(where, "labels[" + quoted(key) + "]", check_text(value));
    }
  }

  void tenant(const Tenant& tenant) {
    const std::string where = "tenant " + quoted(tenant.id);
    check(where, "id", check_name(tenant.id));
    labels(where, tenant.labels);
    std::set<std::string_view> names;
    for (const Credential& credential : tenant.credentials) {
      check(where, "credentials.name", check_name(credential.name));
      if (!names.insert(credential.name).second)
        check(where, "credentials", "duplicate credential name " + quoted(credential.name));
    }
    if (const auto& jwt = tenant.jwt) {
      if (jwt->issuer.empty()) check(where, "jwt.issuer", std::optional<std::string>("must not be empty"));
      if (jwt->audiences.empty()) check(where, "jwt.audiences", std::optional<std::string>("must list at least one audience"));
      const int sources = !jwt->jwks_file.empty() + !jwt->jwks_url.empty() + !jwt->hs256_secret_file.empty();
      if (sources > 1)
        check(where, "jwt", std::optional<std::string>("set one key source of jwks_file, jwks_url and hs256_secret_file"));
    }
    if (tenant.limits.rate) rate(where, "limits.rate", *tenant.limits.rate);
  }

  void rate(const std::string& where, std::string_view field, const Rate& rate) {
    if (rate.count == 0) check(where, field, std::optional<std::string>("the count must be at least 1"));
    duration(where, field, rate.period, ZeroDuration::rejected);
  }

  void service(const Service& service) {
    const std::string where = "service " + quoted(service.name);
    check(where, "name", check_name(service.name));
    if (!service.tenant.empty()) check(where, "tenant", check_name(service.tenant));
    switch (service.hash_key.kind) {
      case HashKey::Kind::header: check(where, "hash_key.header", check_token(service.hash_key.name, "header name")); break;
      case HashKey::Kind::cookie: check(where, "hash_key.cookie", check_token(service.hash_key.name, "cookie name")); break;
      case HashKey::Kind::client_ip: break;
    }
    if (const auto& hc = service.health_check) {
      if (hc->type == HealthCheck::Type::http) {
        check(where, "health_check.path", check_path(hc->path, true));
        if (hc->expect.empty()) check(where, "health_check.expect", std::optional<std::string>("must list at least one status or range"));
        for (const StatusRange& range : hc->expect) check(where, "health_check.expect", check_status_range(range));
        if (!hc->host.empty()) check(where, "health_check.host", check_health_host(hc->host));
      } else if (!hc->host.empty() || hc->expect != std::vector<StatusRange>{StatusRange{}}) {
        check(where, "health_check", std::optional<std::string>("expect and host apply only to type http"));
      }
      duration(where, "health_check.interval", hc->interval, ZeroDuration::rejected);
      duration(where, "health_check.timeout", hc->timeout, ZeroDuration::rejected);
      integer(where, "health_check.healthy_threshold", hc->healthy_threshold, range::at_least_one);
      integer(where, "health_check.unhealthy_threshold", hc->unhealthy_threshold, range::at_least_one);
    }
    if (const auto& outlier = service.outlier) {
      integer(where, "outlier.consecutive_failures", outlier->consecutive_failures, range::at_least_one);
      duration(where, "outlier.base_ejection", outlier->base_ejection, ZeroDuration::rejected);
      duration(where, "outlier.max_ejection", outlier->max_ejection, ZeroDuration::rejected);
      integer(where, "outlier.max_ejection_percent", outlier->max_ejection_percent, range::percent);
      integer(where, "outlier.half_open_probes", outlier->half_open_probes, range::at_least_one);
    }
    const Retry& retry = service.retry;
    integer(where, "retry.attempts", retry.attempts, range::retry_attempts);
    check(where, "retry.on", check_retry_on(retry.on));
    duration(where, "retry.per_try_timeout", retry.per_try_timeout, ZeroDuration::allowed);
    integer(where, "retry.budget_percent", retry.budget_percent, range::percent);
    integer(where, "retry.min_retries_per_second", retry.min_retries_per_second, range::min_retries_per_second);
    const Timeouts& timeouts = service.timeouts;
    duration(where, "timeouts.connect", timeouts.connect, ZeroDuration::rejected);
    duration(where, "timeouts.response_headers", timeouts.response_headers, ZeroDuration::rejected);
    duration(where, "timeouts.idle", timeouts.idle, ZeroDuration::rejected);
    const Limits& limits = service.limits;
    integer(where, "limits.max_connections_per_instance", limits.max_connections_per_instance,
            range::max_connections_per_instance);
    integer(where, "limits.max_pending_per_instance", limits.max_pending_per_instance,
            range::max_pending_per_instance);
    duration(where, "limits.pending_timeout", limits.pending_timeout, ZeroDuration::rejected);
    // limits.max_body: every value a YAML size can spell (0 to 2^64-1 bytes)
    // is accepted, so there is nothing to check; buffer_body has a ceiling.
    if (limits.buffer_body > kMaxBufferBody)
      errors.push_back(where + ": limits.buffer_body: " + std::to_string(limits.buffer_body) +
                       " is above the largest, 1MiB");
    for (const Instance& instance : service.instances) this->instance(instance);
  }

  void instance(const Instance& instance) {
    const std::string where = "instance " + quoted(instance.id);
    check(where, "id", check_name(instance.id));
    if (auto problem = check_address(instance.address)) {
      check(where, "address", "bad address " + quoted(instance.address) + ": " + *problem);
    } else {
      std::string host;
      std::uint16_t port = 0;
      try_parse_address(instance.address, host, port);
      if (host != instance.host || port != instance.port) {
        check(where, "address", "host and port differ from the address " + quoted(instance.address));
      }
    }
    integer(where, "weight", instance.weight, range::weight);
    labels(where, instance.labels);
    check(where, "health_reason", check_text(instance.health_reason));
  }

  void route(const Route& route) {
    const std::string where = "route " + quoted(route.name);
    check(where, "name", check_name(route.name));
    check(where, "service", check_name(route.service));
    if (const auto& limit = route.rate_limit) {
      rate(where, "rate_limit.rate", limit->rate);
      if (limit->by == RouteRateLimit::By::header) check(where, "rate_limit.by", check_token(limit->header, "header name"));
    }
    const RouteMatch& match = route.match;
    if (!match.host.empty()) {
      if (auto problem = check_route_host(match.host)) {
        check(where, "match.host", "bad host " + quoted(match.host) + ": " + *problem);
      } else if (to_lower_ascii(match.host) != match.host) {
        check(where, "match.host", std::string("must be lower-case (requests are matched by their lower-cased host)"));
      }
    }
    if (match.path_prefix.empty() == match.path_exact.empty()) {
      check(where, "match", std::string("set exactly one of path_prefix or path (exact)"));
    }
    if (!match.path_prefix.empty()) check(where, "match.path_prefix", check_path(match.path_prefix, false));
    if (!match.path_exact.empty()) check(where, "match.path", check_path(match.path_exact, false));
    if (!match.method.empty()) {
      if (auto problem = check_method(match.method)) {
        check(where, "match.method", problem);
      } else if (to_upper_ascii(match.method) != match.method) {
        check(where, "match.method", std::string("must be upper-case"));
      }
    }
    if (const auto& header = match.header) {
      if (auto problem = check_token(header->name, "header name")) {
        check(where, "match.header.name", problem);
      } else if (to_lower_ascii(header->name) != header->name) {
        check(where, "match.header.name", std::string("must be lower-case (header names are compared lower-cased)"));
      }
      check(where, "match.header.value", check_header_value(header->value));
    }
    if (!route.rewrite.strip_prefix.empty()) {
      check(where, "rewrite.strip_prefix", check_path(route.rewrite.strip_prefix, false));
    }
  }
};

}  // namespace

std::vector<std::string> validate(const Config& config) {
  Checker checker;
  for (const Tenant& tenant : config.tenants) checker.tenant(tenant);
  for (const Service& service : config.services) checker.service(service);
  for (const Route& route : config.routes) checker.route(route);
  return std::move(checker.errors);
}

std::optional<std::string> first_error(const Config& config) {
  std::vector<std::string> errors = validate(config);
  if (errors.empty()) return std::nullopt;
  return std::move(errors.front());
}

}  // namespace tg::config
