// What phase 4 checks credentials against, built once per table (with the
// Snapshot, off the workers) and shared read-only by every worker: the
// tenants' API-key hashes in an open-addressing table (one SHA-256 and O(1)
// probes per key; digests compared with CRYPTO_memcmp), their JWT issuers,
// audiences and keys (docs/configuration.md, credentials and jwt).
//
// A tenant's parsed JWT keys are carried over from the previous index when
// its jwt settings and key material are unchanged, so a table change does not
// rebuild every EVP_PKEY.
#pragma once

#include "auth/failure.hpp"
#include "auth/jwt.hpp"
#include "auth/keys.hpp"
#include "config/model.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tg::proxy::auth {

// A tenant's JWT settings with the keys built from them (immutable).
struct TenantJwt {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string source;    // for /config: "jwks_file PATH", "jwks_url URL", "hs256_secret_file PATH"
  std::string material;  // the JWK Set or secret the keys came from (compared on carry-over; never shown)
  bool hs256 = false;
  std::vector<VerifyKey> keys;
  std::vector<std::string> problems;  // keys left out, and why
};

struct AuthTenant {
  std::string id;
  std::shared_ptr<const TenantJwt> jwt;  // null: no jwt settings
  // For /config: names and kinds only (never hashes).
  std::vector<std::pair<std::string, config::Credential::Kind>> credentials;
};

// A JWT accepted by check_jwt.
struct JwtIdentity {
  std::uint32_t tenant = 0;      // index into tenants() (also with unknown_kid)
  std::int64_t valid_until = 0;  // exp + skew, Unix seconds: cached until then
  std::string kid;               // with unknown_kid: the kid to ask tg-control for
};

class AuthIndex {
 public:
  // `previous`: the index served now, whose unchanged tenants' keys are reused.
  static std::shared_ptr<const AuthIndex> build(const config::Config& config, const AuthIndex* previous = nullptr);

  // Unique per build: a token cache entry is valid for the index it was verified against.
  std::uint64_t generation() const { return generation_; }
  // Some route has auth: required (else phase 4 needs no AuthGate).
  bool any_route_requires_auth() const { return routes_with_auth_ > 0; }

  const std::vector<AuthTenant>& tenants() const { return tenants_; }
  // The index of tenant `id`, or -1.
  std::int32_t tenant_index(std::string_view id) const;

  // The tenant whose api_key credential is the SHA-256 of `key`, or -1.
  std::int32_t tenant_of_api_key(std::string_view key) const;

  // Parses and checks `token` at `now` (Unix seconds): iss selects the tenant,
  // aud, exp and nbf are checked, then the signature with the tenant's key
  // for the token's kid and algorithm. none on success (`out` filled).
  AuthFailure check_jwt(std::string_view token, std::int64_t now, JwtIdentity& out) const;

  // /config: tenants with credential names and kinds, jwt issuer, audiences,
  // key source and key ids; no hash, secret or key material.
  boost::json::array describe() const;

 private:
  struct KeySlot {
    std::array<unsigned char, 32> digest{};
    std::int32_t tenant = -1;  // -1: empty
  };

  const VerifyKey* key_for(const TenantJwt& jwt, const ParsedJwt& token, AuthFailure& failure) const;

  std::uint64_t generation_ = 0;
  std::size_t routes_with_auth_ = 0;
  std::vector<AuthTenant> tenants_;
  std::unordered_map<std::string, std::uint32_t> tenant_ids_;
  std::unordered_map<std::string, std::uint32_t> issuers_;
  std::vector<KeySlot> api_keys_;  // open addressing, size a power of two (or empty)
};

}  // namespace tg::proxy::auth
