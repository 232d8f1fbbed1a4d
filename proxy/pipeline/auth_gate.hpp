// Phase 4, authentication (docs/life-of-a-request.md): on routes with
// `auth: required`, the request's API key (X-Api-Key, or a bearer token
// that is not a JWT) or JWT (Authorization: Bearer) is checked against the
// table's AuthIndex (auth/auth_index.hpp), and the credential's tenant must
// own the route's service. A verified request goes on with its tenant set
// for phase 6, which replaces any client X-Tenant-ID with it and strips the
// credential headers unless the route has auth_forward.
//
// One gate per worker (its token cache and failure limiter are the worker's),
// registered only for tables that have an auth route (serves()): a table
// without one costs the request path nothing.
#pragma once

#include "auth/failure.hpp"
#include "auth/failure_limiter.hpp"
#include "auth/token_cache.hpp"
#include "pipeline/phases.hpp"

#include <functional>
#include <string>
#include <unordered_map>

namespace tg::proxy {

struct RouteDef;
struct Snapshot;

// A worker's bounds (tg-proxy --auth-max-cached-tokens,
// --auth-max-failing-addresses): verified JWTs kept, client addresses whose
// failures are tracked.
struct AuthGateSizes {
  std::size_t cached_tokens = 4096;
  std::size_t failing_addresses = 4096;
};

class AuthGate final : public AdmissionGate {
 public:
  // Asks for a tenant's keys to be fetched again (with --control: a
  // KeyRequest on the table stream). Called on the worker thread, at most
  // once per kKeyRequestIntervalMs per tenant and worker.
  using KeyRequestFn = std::function<void(const std::string& tenant, const std::string& kid)>;
  static constexpr std::uint64_t kKeyRequestIntervalMs = 30'000;
  using Sizes = AuthGateSizes;

  explicit AuthGate(KeyRequestFn request_key = {}, Sizes sizes = {});

  Step admit(PhaseInput& in) override;

  // For Worker::add_admission_gate: the table has a route with auth: required.
  static bool serves(const Snapshot& snapshot);

  std::size_t token_cache_capacity() const { return cache_.capacity(); }
  std::size_t failing_address_capacity() const { return limiter_.capacity(); }

 private:
  Step authenticate(PhaseInput& in, const RouteDef& route);
  Step refuse(PhaseInput& in, auth::AuthFailure failure, bool credential_sent);
  void ask_for_key(PhaseInput& in, const std::string& tenant, const std::string& kid);

  auth::TokenCache cache_;
  auth::FailureLimiter limiter_;
  std::unordered_map<std::string, std::uint64_t> key_requests_;  // tenant -> when asked (worker ms)
  KeyRequestFn request_key_;
};

}  // namespace tg::proxy
