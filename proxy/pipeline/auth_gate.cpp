#include "pipeline/auth_gate.hpp"

#include "auth/auth_index.hpp"
#include "runtime/worker.hpp"
#include "table/snapshot.hpp"
#include "table/worker_table.hpp"

#include <time.h>

namespace tg::proxy {

namespace {

using auth::AuthFailure;

// RFC 6750 §3: no error code when the request carried no credential.
constexpr std::string_view kChallenge = "WWW-Authenticate: Bearer realm=\"tenantgate\"\r\n";
constexpr std::string_view kInvalidToken =
    "WWW-Authenticate: Bearer realm=\"tenantgate\", error=\"invalid_token\"\r\n";

std::int64_t unix_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

// The headers phase 4 and phase 6 act on, named here (the parser leaves them
// `other`, so requests on routes without auth never look for them).
struct Credentials {
  std::string_view api_key;        // X-Api-Key
  std::string_view authorization;  // Authorization
  int api_keys = 0, authorizations = 0;
};

http::HeaderKind auth_kind(std::string_view name) {
  if (name.size() == 13 && http::iequals(name, "authorization")) return http::HeaderKind::authorization;
  if (name.size() == 9 && http::iequals(name, "x-api-key")) return http::HeaderKind::x_api_key;
  if (name.size() == 11 && http::iequals(name, "x-tenant-id")) return http::HeaderKind::x_tenant_id;
  return http::HeaderKind::other;
}

// Names the credential and tenant headers (again, on a request that resumed
// after a suspension: they are named already) and returns the credentials.
Credentials mark_auth_headers(http::RequestHead& req, const char* base) {
  Credentials found;
  for (std::uint16_t i = 0; i < req.header_count; ++i) {
    http::HeaderField& f = req.headers[i];
    if (f.kind == http::HeaderKind::other) f.kind = auth_kind(f.name.view(base));
    if (f.kind == http::HeaderKind::authorization) {
      found.authorization = f.value.view(base);
      ++found.authorizations;
    } else if (f.kind == http::HeaderKind::x_api_key) {
      found.api_key = f.value.view(base);
      ++found.api_keys;
    }
  }
  return found;
}

// The token of "Bearer <token>" (scheme case-insensitive), or empty.
std::string_view bearer_token(std::string_view value) {
  if (value.size() < 7 || !http::iequals(value.substr(0, 6), "bearer") || (value[6] != ' ' && value[6] != '\t'))
    return {};
  value.remove_prefix(7);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return value;
}

}  // namespace

AuthGate::AuthGate(KeyRequestFn request_key, Sizes sizes)
    : cache_(sizes.cached_tokens), limiter_(sizes.failing_addresses), request_key_(std::move(request_key)) {}

bool AuthGate::serves(const Snapshot& snapshot) { return snapshot.auth && snapshot.auth->any_route_requires_auth(); }

Step AuthGate::admit(PhaseInput& in) {
  const RouteDef& route = in.ex.table->snapshot->routes[static_cast<std::size_t>(in.ex.route)];
  if (!route.auth_required) return Step::proceed();
  return authenticate(in, route);
}

Step AuthGate::authenticate(PhaseInput& in, const RouteDef& route) {
  RequestContext& c = in.ctx;
  Exchange& ex = in.ex;
  const auth::AuthIndex& index = *ex.table->snapshot->auth;
  WorkerStats& stats = in.worker.stats();
  const Credentials found = mark_auth_headers(c.request, c.client.data.get() + ex.head_offset);
  // One credential, said once: two keys (or two Authorization lines) could
  // be read differently by the upstream.
  if (found.api_keys > 1 || found.authorizations > 1) return refuse(in, AuthFailure::bad_token, true);
  std::string_view token = found.api_key;
  bool jwt = false;
  if (found.api_keys == 0) {
    token = bearer_token(found.authorization);
    jwt = auth::looks_like_jwt(token);
  }
  if (token.empty()) return refuse(in, AuthFailure::missing, false);

  std::int32_t tenant = -1;
  const std::uint64_t now_ms = in.worker.now_ms();
  std::uint64_t hash = 0;
  const std::int64_t now = unix_now();
  if (jwt) {
    hash = auth::TokenCache::hash(token);
    tenant = cache_.find(token, hash, index.generation(), now);
    if (tenant >= 0) ++stats.auth_cache_hits;
  }
  if (tenant < 0) {
    // Anything not already known good is checked only while the address has
    // failures left: past them, 401 without looking.
    if (!limiter_.allowed(in.peer.view(), now_ms)) return refuse(in, AuthFailure::throttled, true);
    ++stats.auth_checks;
    AuthFailure failure = AuthFailure::none;
    if (jwt) {
      auth::JwtIdentity identity;
      failure = index.check_jwt(token, now, identity);
      if (failure == AuthFailure::none) {
        tenant = static_cast<std::int32_t>(identity.tenant);
        cache_.insert(token, hash, index.generation(), identity.tenant, identity.valid_until);
        stats.auth_cached_tokens = cache_.size();
      } else if (failure == AuthFailure::unknown_kid) {
        // The issuer may have rotated its keys: tg-control fetches them again.
        ask_for_key(in, index.tenants()[identity.tenant].id, identity.kid);
      }
    } else {
      tenant = index.tenant_of_api_key(token);
      if (tenant < 0) failure = AuthFailure::unknown_key;
    }
    if (failure != AuthFailure::none) {
      limiter_.failed(in.peer.view(), now_ms);
      stats.auth_failing_addresses = limiter_.size();
      return refuse(in, failure, true);
    }
  }
  if (tenant != route.auth_tenant) return refuse(in, AuthFailure::forbidden, true);
  ex.verified_tenant = index.tenants()[static_cast<std::size_t>(tenant)].id;
  ex.strip_credentials = !route.auth_forward;
  return Step::proceed();
}

Step AuthGate::refuse(PhaseInput& in, AuthFailure failure, bool credential_sent) {
  Exchange& ex = in.ex;
  ++ex.table->routes[static_cast<std::size_t>(ex.route)]->auth_failures[static_cast<std::size_t>(failure)];
  ex.fate = Fate::auth_failed;
  if (failure == AuthFailure::forbidden) return Step::respond(403, ErrorKind::forbidden);
  ex.answer_headers = credential_sent ? kInvalidToken : kChallenge;
  return Step::respond(401, ErrorKind::unauthenticated);
}

void AuthGate::ask_for_key(PhaseInput& in, const std::string& tenant, const std::string& kid) {
  if (!request_key_) return;
  const std::uint64_t now_ms = in.worker.now_ms();
  auto [it, fresh] = key_requests_.try_emplace(tenant, now_ms);
  if (!fresh) {
    if (now_ms - it->second < kKeyRequestIntervalMs) return;
    it->second = now_ms;
  }
  ++in.worker.stats().auth_key_requests;
  request_key_(tenant, kid);
}

}  // namespace tg::proxy
