#include "subscription/table_convert.hpp"

#include "config/loader.hpp"
#include "config/retry_bounds.hpp"
#include "mapping/config_enums.hpp"
#include "config/rules.hpp"
#include "config/validate.hpp"
#include "table/table_entries.hpp"

#include <algorithm>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

namespace tg::proxy::subscription {
namespace {

namespace v1 = ::tenantgate::v1;

// A wire value into a model field; false with `error` when it does not fit
// the field's type (config::validate then checks the field's range). Unset
// (0) durations and counts keep the YAML defaults already in `out`, as
// registry.proto says, except where `zero_is_value`.
template <typename T, typename Wire>
bool set_field(Wire value, T& out, const std::string& what, std::string& error, bool zero_is_value = false) {
  if (value == 0 && !zero_is_value) return true;
  std::optional<T> fitted;
  if constexpr (std::is_same_v<T, config::Duration>) {
    fitted = config::duration_from_ms(value);
  } else {
    fitted = config::fitting<T>(value);
  }
  if (!fitted) {
    error = what + " " + std::to_string(value) + " is out of range";
    return false;
  }
  out = *fitted;
  return true;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return text;
}

bool to_rate(const v1::Rate& in, config::Rate& out, const std::string& what, std::string& error) {
  if (in.count() == 0 || in.period_ms() == 0) {
    error = what + ": needs a count and a period";
    return false;
  }
  out.count = in.count();
  return set_field(in.period_ms(), out.period, what + ".period_ms", error);
}

bool to_service(const v1::Service& in, config::Service& out, std::string& error) {
  const std::string where = "service " + in.name() + ": ";
  out.name = in.name();
  out.tenant = in.tenant();
  const std::optional<config::LbPolicy> policy = mapping::from_proto(in.lb_policy());
  if (!policy) {
    error = where + "unknown lb policy " + std::to_string(in.lb_policy()) + " (a newer tg-control?)";
    return false;
  }
  out.lb = *policy;
  switch (in.hash_key().kind()) {
    case v1::HashKey::KIND_HEADER:
      out.hash_key = {config::HashKey::Kind::header, lower(in.hash_key().name())};
      break;
    case v1::HashKey::KIND_COOKIE: out.hash_key = {config::HashKey::Kind::cookie, in.hash_key().name()}; break;
    default: out.hash_key = {}; break;
  }
  if (out.hash_key.kind != config::HashKey::Kind::client_ip && out.hash_key.name.empty()) {
    error = where + "hash_key needs a name";
    return false;
  }
  if (in.has_health_check()) {
    const v1::HealthCheck& hc = in.health_check();
    config::HealthCheck check;
    check.type = hc.type() == v1::HealthCheck::TYPE_TCP ? config::HealthCheck::Type::tcp
                                                         : config::HealthCheck::Type::http;
    if (!hc.path().empty()) check.path = hc.path();
    if (!set_field(hc.interval_ms(), check.interval, where + "health_check.interval_ms", error) ||
        !set_field(hc.timeout_ms(), check.timeout, where + "health_check.timeout_ms", error) ||
        !set_field(hc.healthy_threshold(), check.healthy_threshold, where + "health_check.healthy_threshold", error) ||
        !set_field(hc.unhealthy_threshold(), check.unhealthy_threshold, where + "health_check.unhealthy_threshold",
                   error))
      return false;
    out.health_check = check;
  }
  if (in.has_outlier()) {
    const v1::Outlier& o = in.outlier();
    config::Outlier outlier;
    if (!set_field(o.consecutive_failures(), outlier.consecutive_failures, where + "outlier.consecutive_failures",
                   error) ||
        !set_field(o.base_ejection_ms(), outlier.base_ejection, where + "outlier.base_ejection_ms", error) ||
        !set_field(o.max_ejection_percent(), outlier.max_ejection_percent, where + "outlier.max_ejection_percent",
                   error) ||
        !set_field(o.half_open_probes(), outlier.half_open_probes, where + "outlier.half_open_probes", error) ||
        !set_field(o.max_ejection_ms(), outlier.max_ejection, where + "outlier.max_ejection_ms", error))
      return false;
    outlier.count_5xx = o.count_5xx();
    out.outlier = outlier;
  }
  if (in.has_retry()) {
    const v1::Retry& r = in.retry();
    if (!set_field(r.attempts(), out.retry.attempts, where + "retry.attempts", error)) return false;
    if (r.on_size() > 0) {
      out.retry.on = 0;
      for (int i = 0; i < r.on_size(); ++i) {
        const std::optional<config::RetryOn> condition = mapping::from_proto(static_cast<v1::RetryOn>(r.on(i)));
        if (!condition) {
          error = where + "unknown retry condition " + std::to_string(r.on(i));
          return false;
        }
        out.retry.on |= *condition;
      }
    }
    if (!set_field(r.per_try_timeout_ms(), out.retry.per_try_timeout, where + "retry.per_try_timeout_ms", error,
                   true) ||
        !set_field(r.budget_percent(), out.retry.budget_percent, where + "retry.budget_percent", error))
      return false;
    if (r.has_min_retries_per_second() &&
        !set_field(r.min_retries_per_second(), out.retry.min_retries_per_second, where + "retry.min_retries_per_second",
                   error, true))
      return false;
  }
  if (in.has_timeouts()) {
    const v1::Timeouts& t = in.timeouts();
    if (!set_field(t.connect_ms(), out.timeouts.connect, where + "timeouts.connect_ms", error) ||
        !set_field(t.response_headers_ms(), out.timeouts.response_headers, where + "timeouts.response_headers_ms",
                   error) ||
        !set_field(t.idle_ms(), out.timeouts.idle, where + "timeouts.idle_ms", error))
      return false;
  }
  if (in.has_limits()) {
    const v1::Limits& l = in.limits();
    if (l.max_connections_per_instance()) out.limits.max_connections_per_instance = l.max_connections_per_instance();
    if (l.max_pending_per_instance()) out.limits.max_pending_per_instance = l.max_pending_per_instance();
    if (l.max_body()) out.limits.max_body = l.max_body();
    if (l.has_buffer_body()) out.limits.buffer_body = l.buffer_body();
    if (!set_field(l.pending_timeout_ms(), out.limits.pending_timeout, where + "limits.pending_timeout_ms", error))
      return false;
  }
  return true;
}

bool to_instance(const v1::Instance& in, config::Instance& out, std::string& error) {
  out.id = in.id();
  out.address = in.address();
  if (!config::parse_address(in.address(), out.host, out.port) || out.port == 0) {
    error = "instance " + in.id() + ": bad address '" + in.address() + "'";
    return false;
  }
  if (in.weight() > 10000) {
    error = "instance " + in.id() + ": weight " + std::to_string(in.weight()) + " is above 10000";
    return false;
  }
  out.weight = in.weight() == 0 ? 1 : in.weight();
  out.labels.insert(in.labels().begin(), in.labels().end());
  out.admin_state = mapping::from_proto(in.admin_state());
  out.health = mapping::from_proto(in.health());
  out.health_reason = in.health_reason();
  return true;
}

bool to_route(const v1::Route& in, config::Route& out, std::string& error) {
  out.name = in.name();
  out.service = in.service();
  const v1::RouteMatch& m = in.match();
  out.match.host = lower(m.host());
  if (!m.path_prefix().empty() && !m.path_exact().empty()) {
    error = "route " + in.name() + ": both path_prefix and path_exact";
    return false;
  }
  out.match.path_exact = m.path_exact();
  out.match.path_prefix = m.path_exact().empty() ? (m.path_prefix().empty() ? "/" : m.path_prefix()) : "";
  const std::string& path = out.match.path_exact.empty() ? out.match.path_prefix : out.match.path_exact;
  if (path.front() != '/') {
    error = "route " + in.name() + ": path '" + path + "' does not start with /";
    return false;
  }
  out.match.method = m.method();
  if (m.has_header() && !m.header().name().empty())
    out.match.header = config::HeaderMatch{lower(m.header().name()), m.header().value()};
  out.rewrite.strip_prefix = in.rewrite().strip_prefix();
  out.reject_encoded_slashes = in.reject_encoded_slashes();
  out.auth = in.auth() == v1::ROUTE_AUTH_REQUIRED ? config::RouteAuth::required : config::RouteAuth::none;
  out.auth_forward = in.auth_forward();
  if (in.has_rate_limit()) {
    const v1::RouteRateLimit& limit = in.rate_limit();
    config::RouteRateLimit& to = out.rate_limit.emplace();
    if (!to_rate(limit.rate(), to.rate, "route " + in.name() + ": rate_limit.rate", error)) return false;
    to.burst = limit.burst();
    switch (limit.by()) {
      case v1::RouteRateLimit::BY_UNSPECIFIED:
      case v1::RouteRateLimit::BY_TENANT: to.by = config::RouteRateLimit::By::tenant; break;
      case v1::RouteRateLimit::BY_CLIENT_IP: to.by = config::RouteRateLimit::By::client_ip; break;
      case v1::RouteRateLimit::BY_HEADER: to.by = config::RouteRateLimit::By::header; break;
      case v1::RouteRateLimit::BY_ROUTE: to.by = config::RouteRateLimit::By::route; break;
      default:
        error = "route " + in.name() + ": unknown rate_limit.by " + std::to_string(limit.by()) + " (a newer tg-control?)";
        return false;
    }
    to.header = lower(limit.header());
    to.shadow = limit.shadow();
  }
  return true;
}

bool to_tenant(const v1::Tenant& in, config::Tenant& out, std::string& error) {
  out.id = in.id();
  out.labels.insert(in.labels().begin(), in.labels().end());
  if (in.has_limits()) {
    const v1::TenantLimits& limits = in.limits();
    if (limits.has_rate() && limits.rate().count() != 0) {
      if (!to_rate(limits.rate(), out.limits.rate.emplace(), "tenant " + in.id() + ": limits.rate", error)) return false;
    }
    out.limits.burst = limits.burst();
    out.limits.max_concurrent = limits.max_concurrent();
    out.limits.shadow = limits.shadow();
  }
  if (in.has_jwt()) {
    const v1::Jwt& jwt = in.jwt();
    config::Jwt& to = out.jwt.emplace();
    to.issuer = jwt.issuer();
    to.audiences.assign(jwt.audiences().begin(), jwt.audiences().end());
    to.jwks_file = jwt.jwks_file();
    to.jwks_url = jwt.jwks_url();
    to.hs256_secret_file = jwt.hs256_secret_file();
    to.jwks_json = jwt.jwks_json();
    to.hs256_secret = jwt.hs256_secret();
  }
  out.credentials.reserve(static_cast<std::size_t>(in.credentials_size()));
  for (const v1::Credential& c : in.credentials()) {
    config::Credential credential;
    credential.name = c.name();
    if (c.sha256().size() != credential.sha256.size()) {
      error = "tenant " + in.id() + ": credential " + c.name() + ": sha256 must be 32 bytes";
      return false;
    }
    std::copy(c.sha256().begin(), c.sha256().end(), credential.sha256.begin());
    credential.kind = c.kind() == v1::Credential::KIND_INGEST ? config::Credential::Kind::ingest
                                                              : config::Credential::Kind::api_key;
    out.credentials.push_back(std::move(credential));
  }
  return true;
}

}  // namespace

bool to_config(const v1::Table& table, config::Config& out, std::string& error) {
  out = {};
  for (const v1::Tenant& t : table.tenants()) {
    config::Tenant tenant;
    if (!to_tenant(t, tenant, error)) return false;
    out.tenants.push_back(std::move(tenant));
  }
  std::unordered_map<std::string, std::size_t> services;
  services.reserve(static_cast<std::size_t>(table.services_size()));
  out.services.reserve(static_cast<std::size_t>(table.services_size()));
  for (const v1::Service& s : table.services()) {
    if (s.name().empty()) {
      error = "a service without a name";
      return false;
    }
    config::Service service;
    if (!to_service(s, service, error)) return false;
    if (!services.emplace(s.name(), out.services.size()).second) {
      error = "service " + s.name() + ": listed twice";
      return false;
    }
    out.services.push_back(std::move(service));
  }
  std::unordered_set<std::string_view> instance_ids;
  instance_ids.reserve(static_cast<std::size_t>(table.instances_size()));
  for (const v1::Instance& i : table.instances()) {
    auto found = services.find(i.service());
    if (found == services.end()) {
      error = "instance " + i.id() + ": unknown service '" + i.service() + "'";
      return false;
    }
    if (i.id().empty() || !instance_ids.insert(i.id()).second) {
      error = "instance '" + i.id() + "': empty or listed twice";
      return false;
    }
    config::Instance instance;
    if (!to_instance(i, instance, error)) return false;
    out.services[found->second].instances.push_back(std::move(instance));
  }
  std::unordered_set<std::string_view> route_names;
  for (const v1::Route& r : table.routes()) {
    if (r.name().empty() || !route_names.insert(r.name()).second) {
      error = "route '" + r.name() + "': empty or listed twice";
      return false;
    }
    if (!services.count(r.service())) {
      error = "route " + r.name() + ": unknown service '" + r.service() + "'";
      return false;
    }
    config::Route route;
    if (!to_route(r, route, error)) return false;
    out.routes.push_back(std::move(route));
  }
  // The rules a configuration file keeps (config/rules.hpp), on every field.
  if (auto problem = config::first_error(out)) {
    error = std::move(*problem);
    return false;
  }
  return true;
}

bool to_table_change(const v1::TableDelta& delta, TableChange& out, std::string& error) {
  out = {};
  std::vector<table::SplitEntry> entries;
  if (!table::split_entries(delta.upserts(), entries, error)) {
    error = "delta upserts: " + error;
    return false;
  }
  // The upserted objects as one Config, for the rules config::validate
  // checks; instances sit in a stand-in service of default settings.
  config::Config check;
  config::Service holder;
  holder.name = "instances";
  for (const table::SplitEntry& entry : entries) {
    const std::string_view body = table::entry_body(entry.entry);
    const int size = static_cast<int>(body.size());
    switch (entry.kind) {
      case table::tenants: {
        v1::Tenant t;
        if (!t.ParseFromArray(body.data(), size)) break;
        config::Tenant tenant;
        if (!to_tenant(t, tenant, error)) return false;
        check.tenants.push_back(std::move(tenant));
        out.admission = true;
        continue;
      }
      case table::services: {
        v1::Service s;
        if (!s.ParseFromArray(body.data(), size)) break;
        config::Service service;
        if (!to_service(s, service, error)) return false;
        out.services.push_back(std::move(service));
        continue;
      }
      case table::instances: {
        v1::Instance i;
        if (!i.ParseFromArray(body.data(), size)) break;
        TableChange::Instance instance{i.service(), {}};
        if (!to_instance(i, instance.instance, error)) return false;
        holder.instances.push_back(instance.instance);
        out.instances.push_back(std::move(instance));
        continue;
      }
      case table::routes: {
        v1::Route r;
        if (!r.ParseFromArray(body.data(), size)) break;
        config::Route route;
        if (!to_route(r, route, error)) return false;
        if (route.auth != config::RouteAuth::none || route.rate_limit) out.admission = true;
        out.routes.push_back(std::move(route));
        continue;
      }
    }
    error = "delta upserts: the " + std::string(table::to_string(entry.kind)) + " \"" + std::string(entry.key) +
            "\" is not a valid tenantgate.v1 object";
    return false;
  }
  check.services = out.services;
  check.services.push_back(std::move(holder));
  check.routes = out.routes;
  if (auto problem = config::first_error(check)) {
    error = std::move(*problem);
    return false;
  }
  out.removed_services.assign(delta.removed_services().begin(), delta.removed_services().end());
  out.removed_instances.assign(delta.removed_instances().begin(), delta.removed_instances().end());
  out.removed_routes.assign(delta.removed_routes().begin(), delta.removed_routes().end());
  if (delta.removed_tenants_size() > 0) out.admission = true;
  return true;
}

InstanceStateChange to_change(const v1::InstanceState& state) {
  return {state.id(), mapping::from_proto(state.admin_state()), mapping::from_proto(state.health()), state.health_reason()};
}

std::vector<InstanceStateChange> to_changes(const v1::HealthUpdate& update) {
  std::vector<InstanceStateChange> changes;
  changes.reserve(static_cast<std::size_t>(update.instances_size()));
  for (const v1::InstanceState& state : update.instances()) changes.push_back(to_change(state));
  return changes;
}

}  // namespace tg::proxy::subscription
