#include "registry/convert.hpp"

#include "mapping/config_enums.hpp"

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;

std::uint64_t ms(config::Duration d) { return static_cast<std::uint64_t>(d.count()); }

void set_rate(const config::Rate& rate, v1::Rate& out) {
  out.set_count(rate.count);
  out.set_period_ms(ms(rate.period));
}

}  // namespace

v1::Tenant to_proto(const config::Tenant& tenant) {
  v1::Tenant out;
  out.set_id(tenant.id);
  out.mutable_labels()->insert(tenant.labels.begin(), tenant.labels.end());
  const config::TenantLimits& limits = tenant.limits;
  if (limits.rate || limits.burst != 0 || limits.max_concurrent != 0 || limits.shadow) {
    auto* to = out.mutable_limits();
    if (limits.rate) set_rate(*limits.rate, *to->mutable_rate());
    to->set_burst(limits.burst);
    to->set_max_concurrent(limits.max_concurrent);
    to->set_shadow(limits.shadow);
  }
  if (const auto& jwt = tenant.jwt) {
    auto* to = out.mutable_jwt();
    to->set_issuer(jwt->issuer);
    for (const std::string& audience : jwt->audiences) to->add_audiences(audience);
    to->set_jwks_file(jwt->jwks_file);
    to->set_jwks_url(jwt->jwks_url);
    to->set_hs256_secret_file(jwt->hs256_secret_file);
  }
  for (const config::Credential& credential : tenant.credentials) {
    auto* to = out.add_credentials();
    to->set_name(credential.name);
    to->set_kind(credential.kind == config::Credential::Kind::ingest ? v1::Credential::KIND_INGEST
                                                                     : v1::Credential::KIND_API_KEY);
    to->set_sha256(credential.sha256.data(), credential.sha256.size());
  }
  return out;
}

v1::Service to_proto(const config::Service& service) {
  v1::Service out;
  out.set_name(service.name);
  out.set_tenant(service.tenant);
  out.set_lb_policy(mapping::to_proto(service.lb));
  auto* key = out.mutable_hash_key();
  switch (service.hash_key.kind) {
    case config::HashKey::Kind::client_ip: key->set_kind(v1::HashKey::KIND_CLIENT_IP); break;
    case config::HashKey::Kind::header: key->set_kind(v1::HashKey::KIND_HEADER); break;
    case config::HashKey::Kind::cookie: key->set_kind(v1::HashKey::KIND_COOKIE); break;
  }
  key->set_name(service.hash_key.name);
  if (const auto& hc = service.health_check) {
    auto* check = out.mutable_health_check();
    check->set_type(hc->type == config::HealthCheck::Type::tcp ? v1::HealthCheck::TYPE_TCP
                                                               : v1::HealthCheck::TYPE_HTTP);
    if (hc->type == config::HealthCheck::Type::http) {
      check->set_path(hc->path);
      for (const config::StatusRange& range : hc->expect) {
        auto* expect = check->add_expect();
        expect->set_min(static_cast<std::uint32_t>(range.min));
        expect->set_max(static_cast<std::uint32_t>(range.max));
      }
      check->set_host(hc->host);
    }
    check->set_interval_ms(ms(hc->interval));
    check->set_timeout_ms(ms(hc->timeout));
    check->set_healthy_threshold(static_cast<std::uint32_t>(hc->healthy_threshold));
    check->set_unhealthy_threshold(static_cast<std::uint32_t>(hc->unhealthy_threshold));
  }
  if (const auto& o = service.outlier) {
    auto* outlier = out.mutable_outlier();
    outlier->set_consecutive_failures(static_cast<std::uint32_t>(o->consecutive_failures));
    outlier->set_base_ejection_ms(ms(o->base_ejection));
    outlier->set_max_ejection_percent(static_cast<std::uint32_t>(o->max_ejection_percent));
    outlier->set_half_open_probes(static_cast<std::uint32_t>(o->half_open_probes));
    outlier->set_count_5xx(o->count_5xx);
    outlier->set_max_ejection_ms(ms(o->max_ejection));
  }
  auto* retry = out.mutable_retry();
  retry->set_attempts(static_cast<std::uint32_t>(service.retry.attempts));
  for (config::RetryOn condition : config::all_retry_conditions)
    if (service.retry.on & condition) retry->add_on(mapping::to_proto(condition));
  retry->set_per_try_timeout_ms(ms(service.retry.per_try_timeout));
  retry->set_budget_percent(static_cast<std::uint32_t>(service.retry.budget_percent));
  retry->set_min_retries_per_second(static_cast<std::uint32_t>(service.retry.min_retries_per_second));
  auto* timeouts = out.mutable_timeouts();
  timeouts->set_connect_ms(ms(service.timeouts.connect));
  timeouts->set_response_headers_ms(ms(service.timeouts.response_headers));
  timeouts->set_idle_ms(ms(service.timeouts.idle));
  auto* limits = out.mutable_limits();
  limits->set_max_connections_per_instance(service.limits.max_connections_per_instance);
  limits->set_max_pending_per_instance(service.limits.max_pending_per_instance);
  limits->set_max_body(service.limits.max_body);
  limits->set_buffer_body(service.limits.buffer_body);
  limits->set_pending_timeout_ms(ms(service.limits.pending_timeout));
  return out;
}

v1::Instance to_proto(const config::Instance& instance, const std::string& service) {
  v1::Instance out;
  out.set_id(instance.id);
  out.set_service(service);
  out.set_address(instance.address);
  out.set_weight(instance.weight);
  out.mutable_labels()->insert(instance.labels.begin(), instance.labels.end());
  return out;
}

v1::Route to_proto(const config::Route& route) {
  v1::Route out;
  out.set_name(route.name);
  out.set_service(route.service);
  auto* match = out.mutable_match();
  match->set_host(route.match.host);
  match->set_path_prefix(route.match.path_prefix);
  match->set_path_exact(route.match.path_exact);
  match->set_method(route.match.method);
  if (route.match.header) {
    match->mutable_header()->set_name(route.match.header->name);
    match->mutable_header()->set_value(route.match.header->value);
  }
  if (!route.rewrite.strip_prefix.empty()) out.mutable_rewrite()->set_strip_prefix(route.rewrite.strip_prefix);
  out.set_reject_encoded_slashes(route.reject_encoded_slashes);
  out.set_auth(route.auth == config::RouteAuth::required ? v1::ROUTE_AUTH_REQUIRED : v1::ROUTE_AUTH_NONE);
  out.set_auth_forward(route.auth_forward);
  if (const auto& limit = route.rate_limit) {
    auto* to = out.mutable_rate_limit();
    set_rate(limit->rate, *to->mutable_rate());
    to->set_burst(limit->burst);
    switch (limit->by) {
      case config::RouteRateLimit::By::tenant: to->set_by(v1::RouteRateLimit::BY_TENANT); break;
      case config::RouteRateLimit::By::client_ip: to->set_by(v1::RouteRateLimit::BY_CLIENT_IP); break;
      case config::RouteRateLimit::By::header: to->set_by(v1::RouteRateLimit::BY_HEADER); break;
      case config::RouteRateLimit::By::route: to->set_by(v1::RouteRateLimit::BY_ROUTE); break;
    }
    to->set_header(limit->header);
    to->set_shadow(limit->shadow);
  }
  return out;
}

}  // namespace tg::control
