#include "registry/validate.hpp"

#include "config/model.hpp"
#include "auth/jwks_url.hpp"
#include "config/retry_bounds.hpp"
#include "config/rules.hpp"
#include "config/value_parsers.hpp"
#include "mapping/config_enums.hpp"
#include "text/quoted.hpp"

#include <google/protobuf/repeated_field.h>

#include <algorithm>
#include <set>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using config::Duration;

Status check_name(const std::string& field, const std::string& name) {
  if (name.empty()) return Status::invalid(field, "required");
  if (name.size() > size_limits::name)
    return Status::invalid(field, std::to_string(name.size()) + " bytes; at most " + std::to_string(size_limits::name));
  if (std::string problem = config::name_problem(name); !problem.empty()) return Status::invalid(field, problem);
  return {};
}

// The first bytes of a value that may be huge, for messages.
std::string head(std::string_view text) {
  constexpr std::size_t shown = 40;
  return text.size() <= shown ? quoted(text) : quoted(text.substr(0, shown)) + "...";
}

Status check_labels(const std::string& field, const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > size_limits::labels)
    return Status::invalid(field, std::to_string(labels.size()) + " labels; at most " +
                                      std::to_string(size_limits::labels));
  for (const auto& [key, value] : labels) {
    if (key.size() > size_limits::name)
      return Status::invalid(field, "label name " + head(key) + " is " + std::to_string(key.size()) +
                                        " bytes; at most " + std::to_string(size_limits::name));
    if (std::string problem = config::name_problem(key); !problem.empty())
      return Status::invalid(field, "label name " + quoted(key) + " " + problem);
    if (value.size() > size_limits::label_value)
      return Status::invalid(field + "[" + key + "]", std::to_string(value.size()) + " bytes; at most " +
                                                          std::to_string(size_limits::label_value));
  }
  return {};
}

// A duration in milliseconds: zero becomes `fallback`, longer than a year is refused.
Status duration_or(const std::string& field, std::uint64_t& ms, Duration fallback) {
  if (ms == 0) ms = static_cast<std::uint64_t>(fallback.count());
  if (ms > static_cast<std::uint64_t>(config::max_duration.count()))
    return Status::invalid(field, "longer than a year (" + std::to_string(ms) + " ms)");
  return {};
}

Status in_range(const std::string& field, std::uint64_t value, std::uint64_t min, std::uint64_t max) {
  if (value < min || value > max)
    return Status::invalid(field, "must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                                      std::to_string(value));
  return {};
}

#define TG_RETURN_IF_ERROR(expr)      \
  do {                                \
    if (Status s_ = (expr); !s_.ok()) \
      return s_;                      \
  } while (false)

}  // namespace

Status check_size(const std::string& field, std::string_view value, std::size_t max) {
  if (value.size() <= max) return {};
  return Status::invalid(field, std::to_string(value.size()) + " bytes; at most " + std::to_string(max));
}

namespace {

Status normalise_hash_key(const std::string& field, v1::HashKey& key) {
  if (!v1::HashKey::Kind_IsValid(key.kind())) return Status::invalid(field + ".kind", "unknown kind");
  if (key.kind() == v1::HashKey::KIND_UNSPECIFIED) key.set_kind(v1::HashKey::KIND_CLIENT_IP);
  if (key.kind() == v1::HashKey::KIND_CLIENT_IP) {
    if (!key.name().empty()) return Status::invalid(field + ".name", "must be empty for KIND_CLIENT_IP");
    return {};
  }
  if (key.name().empty()) return Status::invalid(field + ".name", "required for a header or cookie key");
  TG_RETURN_IF_ERROR(check_size(field + ".name", key.name(), size_limits::header_name));
  if (!config::is_http_token(key.name()))
    return Status::invalid(field + ".name", quoted(key.name()) + " is not a valid header or cookie name");
  if (key.kind() == v1::HashKey::KIND_HEADER) key.set_name(config::to_lower_ascii(key.name()));
  return {};
}

Status normalise_health_check(const std::string& field, v1::HealthCheck& check) {
  const config::HealthCheck defaults;
  if (!v1::HealthCheck::Type_IsValid(check.type())) return Status::invalid(field + ".type", "unknown type");
  if (check.type() == v1::HealthCheck::TYPE_UNSPECIFIED) check.set_type(v1::HealthCheck::TYPE_HTTP);
  if (check.type() == v1::HealthCheck::TYPE_HTTP) {
    if (check.path().empty()) check.set_path(defaults.path);
    TG_RETURN_IF_ERROR(check_size(field + ".path", check.path(), size_limits::path));
    if (std::string problem = config::path_problem(check.path(), true); !problem.empty())
      return Status::invalid(field + ".path", problem);
    if (check.expect().empty()) {
      auto* range = check.add_expect();
      range->set_min(static_cast<std::uint32_t>(defaults.expect.front().min));
      range->set_max(static_cast<std::uint32_t>(defaults.expect.front().max));
    }
    if (check.expect_size() > 32) return Status::invalid(field + ".expect", "at most 32 ranges");
    for (int i = 0; i < check.expect_size(); ++i) {
      v1::StatusRange& range = *check.mutable_expect(i);
      if (range.max() == 0) range.set_max(range.min());
      const config::StatusRange model{static_cast<int>(std::min<std::uint32_t>(range.min(), 1000)),
                                      static_cast<int>(std::min<std::uint32_t>(range.max(), 1000))};
      if (auto problem = config::check_status_range(model))
        return Status::invalid(field + ".expect[" + std::to_string(i) + "]", *problem);
    }
    if (!check.host().empty()) {
      TG_RETURN_IF_ERROR(check_size(field + ".host", check.host(), size_limits::path));
      if (auto problem = config::check_health_host(check.host())) return Status::invalid(field + ".host", *problem);
    }
  } else if (!check.path().empty()) {
    return Status::invalid(field + ".path", "applies only to type http (this check is tcp)");
  } else if (check.expect_size() > 0 || !check.host().empty()) {
    return Status::invalid(field + (check.host().empty() ? ".expect" : ".host"),
                           "applies only to type http (this check is tcp)");
  }
  std::uint64_t interval = check.interval_ms(), timeout = check.timeout_ms();
  TG_RETURN_IF_ERROR(duration_or(field + ".interval_ms", interval, defaults.interval));
  TG_RETURN_IF_ERROR(duration_or(field + ".timeout_ms", timeout, defaults.timeout));
  check.set_interval_ms(interval);
  check.set_timeout_ms(timeout);
  if (check.healthy_threshold() == 0) check.set_healthy_threshold(defaults.healthy_threshold);
  if (check.unhealthy_threshold() == 0) check.set_unhealthy_threshold(defaults.unhealthy_threshold);
  TG_RETURN_IF_ERROR(in_range(field + ".healthy_threshold", check.healthy_threshold(), 1, INT32_MAX));
  TG_RETURN_IF_ERROR(in_range(field + ".unhealthy_threshold", check.unhealthy_threshold(), 1, INT32_MAX));
  return {};
}

Status normalise_outlier(const std::string& field, v1::Outlier& outlier) {
  const config::Outlier defaults;
  if (outlier.consecutive_failures() == 0) outlier.set_consecutive_failures(defaults.consecutive_failures);
  std::uint64_t base = outlier.base_ejection_ms();
  TG_RETURN_IF_ERROR(duration_or(field + ".base_ejection_ms", base, defaults.base_ejection));
  outlier.set_base_ejection_ms(base);
  std::uint64_t max_ejection = outlier.max_ejection_ms();
  TG_RETURN_IF_ERROR(duration_or(field + ".max_ejection_ms", max_ejection, defaults.max_ejection));
  if (max_ejection < base)
    return Status::invalid(field + ".max_ejection_ms", "shorter than base_ejection_ms (" + std::to_string(base) + ")");
  outlier.set_max_ejection_ms(max_ejection);
  if (outlier.half_open_probes() == 0) outlier.set_half_open_probes(defaults.half_open_probes);
  TG_RETURN_IF_ERROR(in_range(field + ".consecutive_failures", outlier.consecutive_failures(), 1, INT32_MAX));
  TG_RETURN_IF_ERROR(in_range(field + ".max_ejection_percent", outlier.max_ejection_percent(), 0, 100));
  TG_RETURN_IF_ERROR(in_range(field + ".half_open_probes", outlier.half_open_probes(), 1, INT32_MAX));
  return {};
}

Status normalise_retry(const std::string& field, v1::Retry& retry, bool given) {
  const config::Retry defaults;
  if (!given) {
    for (config::RetryOn condition : config::all_retry_conditions) {
      if (defaults.on & condition) retry.add_on(mapping::to_proto(condition));
    }
    retry.set_budget_percent(defaults.budget_percent);
  }
  if (!retry.has_min_retries_per_second())
    retry.set_min_retries_per_second(static_cast<std::uint32_t>(defaults.min_retries_per_second));
  TG_RETURN_IF_ERROR(in_range(field + ".min_retries_per_second", retry.min_retries_per_second(),
                              config::range::min_retries_per_second.min, config::range::min_retries_per_second.max));
  if (retry.attempts() == 0) retry.set_attempts(defaults.attempts);
  TG_RETURN_IF_ERROR(in_range(field + ".attempts", retry.attempts(), config::kMinRetryAttempts, config::kMaxRetryAttempts));
  std::set<int> seen;
  for (int i = 0; i < retry.on_size(); ++i) {
    const int on = retry.on(i);
    const std::string item = field + ".on[" + std::to_string(i) + "]";
    if (on == v1::RETRY_ON_UNSPECIFIED || !v1::RetryOn_IsValid(on)) return Status::invalid(item, "unknown condition");
    if (!seen.insert(on).second) return Status::invalid(item, "listed twice");
  }
  if (retry.per_try_timeout_ms() > static_cast<std::uint64_t>(config::max_duration.count()))
    return Status::invalid(field + ".per_try_timeout_ms", "longer than a year");
  TG_RETURN_IF_ERROR(in_range(field + ".budget_percent", retry.budget_percent(), 0, 100));
  return {};
}

Status normalise_timeouts(const std::string& field, v1::Timeouts& timeouts) {
  const config::Timeouts defaults;
  std::uint64_t connect = timeouts.connect_ms(), headers = timeouts.response_headers_ms(), idle = timeouts.idle_ms();
  TG_RETURN_IF_ERROR(duration_or(field + ".connect_ms", connect, defaults.connect));
  TG_RETURN_IF_ERROR(duration_or(field + ".response_headers_ms", headers, defaults.response_headers));
  TG_RETURN_IF_ERROR(duration_or(field + ".idle_ms", idle, defaults.idle));
  timeouts.set_connect_ms(connect);
  timeouts.set_response_headers_ms(headers);
  timeouts.set_idle_ms(idle);
  return {};
}

Status normalise_limits(const std::string& field, v1::Limits& limits, bool given) {
  const config::Limits defaults;
  if (!given) {
    limits.set_max_pending_per_instance(defaults.max_pending_per_instance);
    limits.set_max_body(defaults.max_body);
    limits.set_buffer_body(defaults.buffer_body);
  }
  if (limits.max_connections_per_instance() == 0)
    limits.set_max_connections_per_instance(defaults.max_connections_per_instance);
  TG_RETURN_IF_ERROR(in_range(field + ".max_connections_per_instance", limits.max_connections_per_instance(), 1,
                              1'000'000));
  TG_RETURN_IF_ERROR(in_range(field + ".max_pending_per_instance", limits.max_pending_per_instance(), 0, 1'000'000));
  std::uint64_t pending_timeout = limits.pending_timeout_ms();
  TG_RETURN_IF_ERROR(duration_or(field + ".pending_timeout_ms", pending_timeout, defaults.pending_timeout));
  limits.set_pending_timeout_ms(pending_timeout);
  if (!limits.has_buffer_body()) limits.set_buffer_body(defaults.buffer_body);
  TG_RETURN_IF_ERROR(in_range(field + ".buffer_body", limits.buffer_body(), 0, config::kMaxBufferBody));
  return {};
}

Status check_path(const std::string& field, const std::string& path) {
  TG_RETURN_IF_ERROR(check_size(field, path, size_limits::path));
  if (std::string problem = config::path_problem(path, false); !problem.empty())
    return Status::invalid(field, problem);
  return {};
}

}  // namespace

std::string tenant_id_problem(std::string_view id) {
  if (id.empty()) return "required";
  if (id.size() > 63) return "longer than 63 characters";
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id[0])) return quoted(id) + " must start with a lower-case letter or a digit";
  for (char c : id)
    if (!lower_or_digit(c) && c != '_' && c != '.' && c != '-')
      return quoted(id) + " may hold only lower-case letters, digits, '_', '.' and '-'";
  return {};
}

std::string credential_name_problem(std::string_view name) { return tenant_id_problem(name); }

namespace {

// A rate of at least one per period; period 0 means per second.
Status normalise_rate(const std::string& field, v1::Rate& rate) {
  TG_RETURN_IF_ERROR(in_range(field + ".count", rate.count(), 1, 1'000'000'000));
  if (rate.period_ms() == 0) rate.set_period_ms(1000);
  return in_range(field + ".period_ms", rate.period_ms(), 1, 24 * 3600 * 1000);
}

Status normalise_credentials(const std::string& prefix, v1::Tenant& tenant) {
  auto& credentials = *tenant.mutable_credentials();
  if (credentials.size() > static_cast<int>(size_limits::credentials))
    return Status::invalid(prefix + ".credentials", std::to_string(credentials.size()) + " credentials; at most " +
                                                        std::to_string(size_limits::credentials));
  std::set<std::string> names;
  for (int i = 0; i < credentials.size(); ++i) {
    v1::Credential& credential = credentials[i];
    credential.clear_created_unix_ms();  // output only
    const std::string field = prefix + ".credentials[" + std::to_string(i) + "]";
    if (std::string problem = credential_name_problem(credential.name()); !problem.empty())
      return Status::invalid(field + ".name", problem);
    if (credential.kind() != v1::Credential::KIND_API_KEY && credential.kind() != v1::Credential::KIND_INGEST)
      return Status::invalid(field + ".kind", "must be KIND_API_KEY or KIND_INGEST");
    if (credential.sha256().size() != 32)
      return Status::invalid(field + ".sha256", "must be 32 bytes (the SHA-256 of the secret), got " +
                                                    std::to_string(credential.sha256().size()));
    if (!names.insert(credential.name()).second)
      return Status::invalid(field + ".name", "duplicate credential name " + quoted(credential.name()));
  }
  std::sort(credentials.begin(), credentials.end(),
            [](const v1::Credential& a, const v1::Credential& b) { return a.name() < b.name(); });
  return {};
}

Status check_jwt_text(const std::string& field, const std::string& value) {
  TG_RETURN_IF_ERROR(check_size(field, value, size_limits::jwt_text));
  if (config::check_text(value)) return Status::invalid(field, *config::check_text(value));
  return {};
}

Status normalise_jwt(const std::string& field, v1::Jwt& jwt) {
  if (jwt.issuer().empty()) return Status::invalid(field + ".issuer", "required");
  TG_RETURN_IF_ERROR(check_jwt_text(field + ".issuer", jwt.issuer()));
  if (jwt.audiences().empty()) return Status::invalid(field + ".audiences", "must list at least one audience");
  if (jwt.audiences_size() > static_cast<int>(size_limits::audiences))
    return Status::invalid(field + ".audiences", std::to_string(jwt.audiences_size()) + " audiences; at most " +
                                                     std::to_string(size_limits::audiences));
  for (int i = 0; i < jwt.audiences_size(); ++i) {
    const std::string item = field + ".audiences[" + std::to_string(i) + "]";
    if (jwt.audiences(i).empty()) return Status::invalid(item, "must not be empty");
    TG_RETURN_IF_ERROR(check_jwt_text(item, jwt.audiences(i)));
  }
  const int sources = !jwt.jwks_file().empty() + !jwt.jwks_url().empty() + !jwt.hs256_secret_file().empty();
  if (sources != 1)
    return Status::invalid(field, sources == 0 ? "needs one key source: jwks_file, jwks_url or hs256_secret_file"
                                               : "set one key source of jwks_file, jwks_url and hs256_secret_file, "
                                                 "not several");
  if (!jwt.jwks_file().empty()) TG_RETURN_IF_ERROR(check_jwt_text(field + ".jwks_file", jwt.jwks_file()));
  if (!jwt.hs256_secret_file().empty())
    TG_RETURN_IF_ERROR(check_jwt_text(field + ".hs256_secret_file", jwt.hs256_secret_file()));
  if (!jwt.jwks_url().empty()) {
    auth::JwksUrl url;
    if (std::string problem = auth::parse_jwks_url(jwt.jwks_url(), url); !problem.empty())
      return Status::invalid(field + ".jwks_url", problem);
  }
  if (!jwt.jwks_json().empty() || !jwt.hs256_secret().empty())
    return Status::invalid(field + (jwt.jwks_json().empty() ? ".hs256_secret" : ".jwks_json"),
                           "is filled by tg-control for the proxies only; name the key source instead "
                           "(jwks_file, jwks_url or hs256_secret_file)");
  return {};
}

}  // namespace

Status normalise_tenant(v1::Tenant& tenant, const std::string& prefix) {
  if (std::string problem = tenant_id_problem(tenant.id()); !problem.empty())
    return Status::invalid(prefix + ".id", problem);
  TG_RETURN_IF_ERROR(check_labels(prefix + ".labels", tenant.labels()));
  TG_RETURN_IF_ERROR(normalise_credentials(prefix, tenant));
  if (tenant.has_jwt()) TG_RETURN_IF_ERROR(normalise_jwt(prefix + ".jwt", *tenant.mutable_jwt()));
  if (tenant.has_limits()) {
    v1::TenantLimits& limits = *tenant.mutable_limits();
    if (limits.has_rate() && limits.rate().count() == 0 && limits.rate().period_ms() == 0) limits.clear_rate();
    if (limits.has_rate()) TG_RETURN_IF_ERROR(normalise_rate(prefix + ".limits.rate", *limits.mutable_rate()));
    TG_RETURN_IF_ERROR(in_range(prefix + ".limits.burst", limits.burst(), 0, 1'000'000'000));
    TG_RETURN_IF_ERROR(in_range(prefix + ".limits.max_concurrent", limits.max_concurrent(), 0, 100'000'000));
  }
  return {};
}

Status normalise_service(v1::Service& service, const std::string& prefix) {
  TG_RETURN_IF_ERROR(check_name(prefix + ".name", service.name()));
  if (!service.tenant().empty()) TG_RETURN_IF_ERROR(check_name(prefix + ".tenant", service.tenant()));
  if (!v1::LbPolicy_IsValid(service.lb_policy())) return Status::invalid(prefix + ".lb_policy", "unknown policy");
  if (service.lb_policy() == v1::LB_POLICY_UNSPECIFIED) service.set_lb_policy(v1::LB_POLICY_ROUND_ROBIN);
  TG_RETURN_IF_ERROR(normalise_hash_key(prefix + ".hash_key", *service.mutable_hash_key()));
  if (service.has_health_check())
    TG_RETURN_IF_ERROR(normalise_health_check(prefix + ".health_check", *service.mutable_health_check()));
  if (service.has_outlier()) TG_RETURN_IF_ERROR(normalise_outlier(prefix + ".outlier", *service.mutable_outlier()));
  const bool retry_given = service.has_retry(), limits_given = service.has_limits();
  TG_RETURN_IF_ERROR(normalise_retry(prefix + ".retry", *service.mutable_retry(), retry_given));
  TG_RETURN_IF_ERROR(normalise_timeouts(prefix + ".timeouts", *service.mutable_timeouts()));
  TG_RETURN_IF_ERROR(normalise_limits(prefix + ".limits", *service.mutable_limits(), limits_given));
  return {};
}

Status normalise_instance(v1::Instance& instance, const std::string& prefix) {
  TG_RETURN_IF_ERROR(check_name(prefix + ".service", instance.service()));
  if (instance.address().empty()) return Status::invalid(prefix + ".address", "required");
  TG_RETURN_IF_ERROR(check_size(prefix + ".address", instance.address(), size_limits::address));
  std::string host;
  std::uint16_t port = 0;
  if (std::string problem = config::try_parse_address(instance.address(), host, port); !problem.empty())
    return Status::invalid(prefix + ".address", "bad address " + quoted(instance.address()) + ": " + problem);
  if (instance.id().empty()) instance.set_id(instance.service() + "/" + instance.address());
  TG_RETURN_IF_ERROR(check_name(prefix + ".id", instance.id()));
  if (instance.weight() == 0) instance.set_weight(1);
  TG_RETURN_IF_ERROR(in_range(prefix + ".weight", instance.weight(), 1, 10000));
  TG_RETURN_IF_ERROR(check_labels(prefix + ".labels", instance.labels()));
  if (!v1::AdminState_IsValid(instance.admin_state()))
    return Status::invalid(prefix + ".admin_state", "unknown state");
  if (instance.admin_state() == v1::ADMIN_STATE_UNSPECIFIED) instance.set_admin_state(v1::ADMIN_STATE_ACTIVE);
  return {};
}

Status normalise_route(v1::Route& route, const std::string& prefix) {
  TG_RETURN_IF_ERROR(check_name(prefix + ".name", route.name()));
  TG_RETURN_IF_ERROR(check_name(prefix + ".service", route.service()));
  v1::RouteMatch& match = *route.mutable_match();
  const std::string m = prefix + ".match";
  if (!match.host().empty()) {
    TG_RETURN_IF_ERROR(check_size(m + ".host", match.host(), size_limits::host));
    std::string lowered = config::to_lower_ascii(match.host());
    if (std::string problem = config::route_host_problem(lowered); !problem.empty())
      return Status::invalid(m + ".host", "bad host " + quoted(match.host()) + ": " + problem);
    match.set_host(lowered);
  }
  if (!match.path_prefix().empty() && !match.path_exact().empty())
    return Status::invalid(m, "set either path_prefix or path_exact, not both");
  if (match.path_prefix().empty() && match.path_exact().empty()) match.set_path_prefix("/");
  if (!match.path_prefix().empty()) TG_RETURN_IF_ERROR(check_path(m + ".path_prefix", match.path_prefix()));
  if (!match.path_exact().empty()) TG_RETURN_IF_ERROR(check_path(m + ".path_exact", match.path_exact()));
  if (!match.method().empty()) {
    TG_RETURN_IF_ERROR(check_size(m + ".method", match.method(), size_limits::method));
    if (!config::is_http_token(match.method()))
      return Status::invalid(m + ".method",
                             quoted(match.method()) + " is not a valid HTTP method (a token such as GET or POST)");
    match.set_method(config::to_upper_ascii(match.method()));
  }
  if (match.has_header()) {
    v1::HeaderMatch& header = *match.mutable_header();
    if (header.name().empty()) return Status::invalid(m + ".header.name", "required");
    TG_RETURN_IF_ERROR(check_size(m + ".header.name", header.name(), size_limits::header_name));
    TG_RETURN_IF_ERROR(check_size(m + ".header.value", header.value(), size_limits::header_value));
    if (!config::is_http_token(header.name()))
      return Status::invalid(m + ".header.name", quoted(header.name()) +
                                                     " is not a valid header name (letters, digits and "
                                                     "!#$%&'*+-.^_`|~)");
    header.set_name(config::to_lower_ascii(header.name()));
    if (std::string problem = config::header_value_problem(header.value()); !problem.empty())
      return Status::invalid(m + ".header.value", problem);
  }
  if (route.rewrite().strip_prefix().empty()) route.clear_rewrite();  // one form for "no rewrite"
  if (!route.rewrite().strip_prefix().empty())
    TG_RETURN_IF_ERROR(check_path(prefix + ".rewrite.strip_prefix", route.rewrite().strip_prefix()));
  if (!v1::RouteAuth_IsValid(route.auth())) return Status::invalid(prefix + ".auth", "unknown value");
  if (route.auth() == v1::ROUTE_AUTH_UNSPECIFIED) route.set_auth(v1::ROUTE_AUTH_NONE);
  if (route.has_rate_limit()) {
    const std::string field = prefix + ".rate_limit";
    v1::RouteRateLimit& limit = *route.mutable_rate_limit();
    TG_RETURN_IF_ERROR(normalise_rate(field + ".rate", *limit.mutable_rate()));
    TG_RETURN_IF_ERROR(in_range(field + ".burst", limit.burst(), 0, 1'000'000'000));
    if (!v1::RouteRateLimit::By_IsValid(limit.by())) return Status::invalid(field + ".by", "unknown value");
    if (limit.by() == v1::RouteRateLimit::BY_UNSPECIFIED) limit.set_by(v1::RouteRateLimit::BY_TENANT);
    if (limit.by() == v1::RouteRateLimit::BY_HEADER) {
      if (limit.header().empty()) return Status::invalid(field + ".header", "required when by is BY_HEADER");
      TG_RETURN_IF_ERROR(check_size(field + ".header", limit.header(), size_limits::header_name));
      if (!config::is_http_token(limit.header()))
        return Status::invalid(field + ".header", quoted(limit.header()) + " is not a valid header name");
      limit.set_header(config::to_lower_ascii(limit.header()));
    } else if (!limit.header().empty()) {
      return Status::invalid(field + ".header", "applies only to by BY_HEADER");
    }
  }
  return {};
}

}  // namespace tg::control
