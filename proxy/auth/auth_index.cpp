#include "auth/auth_index.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <memory>

namespace tg::proxy::auth {

namespace json = boost::json;

namespace {

std::uint64_t slot_hash(const unsigned char* digest) {
  std::uint64_t h;
  std::memcpy(&h, digest, sizeof h);  // a SHA-256 output is uniform already
  return h;
}

// SHA-256 of a presented API key, on the request path: the algorithm is
// fetched from OpenSSL's provider once (EVP_sha256() in EVP_Digest looks it up
// and allocates a context on every call) and each thread reuses one context.
bool sha256(std::string_view text, std::array<unsigned char, 32>& out) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  unsigned int length = 0;
  return md && ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), text.data(), text.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out.data(), &length) == 1 && length == 32;
}

std::shared_ptr<const TenantJwt> build_jwt(const config::Tenant& tenant, const AuthIndex* previous) {
  const config::Jwt& settings = *tenant.jwt;
  auto jwt = std::make_shared<TenantJwt>();
  jwt->issuer = settings.issuer;
  jwt->audiences = settings.audiences;
  jwt->hs256 = !settings.hs256_secret_file.empty() || (!settings.hs256_secret.empty() && settings.jwks_json.empty());
  jwt->material = jwt->hs256 ? settings.hs256_secret : settings.jwks_json;
  if (!settings.jwks_file.empty()) jwt->source = "jwks_file " + settings.jwks_file;
  else if (!settings.jwks_url.empty()) jwt->source = "jwks_url " + settings.jwks_url;
  else jwt->source = "hs256_secret_file " + settings.hs256_secret_file;
  if (previous) {
    const std::int32_t before = previous->tenant_index(tenant.id);
    if (before >= 0) {
      const auto& old = previous->tenants()[static_cast<std::size_t>(before)].jwt;
      if (old && old->issuer == jwt->issuer && old->audiences == jwt->audiences && old->hs256 == jwt->hs256 &&
          old->source == jwt->source && old->material == jwt->material)
        return old;
    }
  }
  if (jwt->hs256) {
    if (jwt->material.empty()) jwt->problems.push_back("no HS256 secret");
    else jwt->keys.push_back(hs256_key(jwt->material));
  } else if (jwt->material.empty()) {
    jwt->problems.push_back("no JWK Set yet");
  } else {
    jwt->keys = parse_jwks(jwt->material, jwt->problems);
  }
  for (const std::string& problem : jwt->problems)
    spdlog::warn("tenant {}: jwt keys ({}): {}; tokens needing it are refused", tenant.id, jwt->source, problem);
  return jwt;
}

}  // namespace

std::shared_ptr<const AuthIndex> AuthIndex::build(const config::Config& config, const AuthIndex* previous) {
  static std::atomic<std::uint64_t> generations{0};
  auto index = std::make_shared<AuthIndex>();
  index->generation_ = ++generations;
  std::size_t api_key_count = 0;
  for (const config::Tenant& tenant : config.tenants) {
    AuthTenant t;
    t.id = tenant.id;
    for (const config::Credential& c : tenant.credentials) {
      t.credentials.emplace_back(c.name, c.kind);
      if (c.kind == config::Credential::Kind::api_key) ++api_key_count;
    }
    if (tenant.jwt) t.jwt = build_jwt(tenant, previous);
    const auto position = static_cast<std::uint32_t>(index->tenants_.size());
    index->tenant_ids_.emplace(t.id, position);
    if (t.jwt) index->issuers_.emplace(t.jwt->issuer, position);
    index->tenants_.push_back(std::move(t));
  }
  if (api_key_count) {
    std::size_t size = 4;
    while (size < api_key_count * 2) size *= 2;
    index->api_keys_.resize(size);
    for (std::size_t pos = 0; pos < config.tenants.size(); ++pos) {
      for (const config::Credential& c : config.tenants[pos].credentials) {
        if (c.kind != config::Credential::Kind::api_key) continue;  // ingest keys are tg-control's
        std::size_t slot = slot_hash(c.sha256.data()) & (size - 1);
        while (index->api_keys_[slot].tenant >= 0) slot = (slot + 1) & (size - 1);
        index->api_keys_[slot].digest = c.sha256;
        index->api_keys_[slot].tenant = static_cast<std::int32_t>(pos);
      }
    }
  }
  for (const config::Route& route : config.routes)
    if (route.auth == config::RouteAuth::required) ++index->routes_with_auth_;
  return index;
}

std::int32_t AuthIndex::tenant_index(std::string_view id) const {
  const auto it = tenant_ids_.find(std::string(id));
  return it == tenant_ids_.end() ? -1 : static_cast<std::int32_t>(it->second);
}

std::int32_t AuthIndex::tenant_of_api_key(std::string_view key) const {
  if (api_keys_.empty()) return -1;
  std::array<unsigned char, 32> digest;
  if (!sha256(key, digest)) return -1;
  const std::size_t mask = api_keys_.size() - 1;
  for (std::size_t slot = slot_hash(digest.data()) & mask;; slot = (slot + 1) & mask) {
    const KeySlot& s = api_keys_[slot];
    if (s.tenant < 0) return -1;
    if (CRYPTO_memcmp(s.digest.data(), digest.data(), digest.size()) == 0) return s.tenant;
  }
}

const VerifyKey* AuthIndex::key_for(const TenantJwt& jwt, const ParsedJwt& token, AuthFailure& failure) const {
  // The key decides the algorithm; a token naming another one (none, HS256
  // against an RSA key, ...) has no key (RFC 8725 §3.1).
  if (jwt.hs256) {
    if (token.alg != "HS256" || jwt.keys.empty()) {
      failure = AuthFailure::bad_token;
      return nullptr;
    }
    return &jwt.keys.front();
  }
  if (token.kid) {
    bool kid_known = false;
    for (const VerifyKey& key : jwt.keys) {
      if (key.kid != *token.kid) continue;
      kid_known = true;
      if (to_string(key.algorithm) == token.alg) return &key;
    }
    failure = kid_known ? AuthFailure::bad_token : AuthFailure::unknown_kid;
    return nullptr;
  }
  // No kid: only when the set holds exactly one key for the token's algorithm.
  const VerifyKey* found = nullptr;
  for (const VerifyKey& key : jwt.keys) {
    if (to_string(key.algorithm) != token.alg) continue;
    if (found) {
      failure = AuthFailure::bad_token;
      return nullptr;
    }
    found = &key;
  }
  if (!found) failure = AuthFailure::bad_token;
  return found;
}

AuthFailure AuthIndex::check_jwt(std::string_view token, std::int64_t now, JwtIdentity& out) const {
  ParsedJwt jwt;
  if (AuthFailure f = parse_jwt(token, jwt); f != AuthFailure::none) return f;
  const auto issuer = issuers_.find(jwt.iss);
  if (issuer == issuers_.end()) return AuthFailure::unknown_issuer;
  const AuthTenant& tenant = tenants_[issuer->second];
  // Claims before the signature: a token refused for them costs no signature check.
  if (!audience_matches(jwt, tenant.jwt->audiences)) return AuthFailure::wrong_audience;
  if (AuthFailure f = check_times(jwt, now); f != AuthFailure::none) return f;
  AuthFailure failure = AuthFailure::none;
  const VerifyKey* key = key_for(*tenant.jwt, jwt, failure);
  if (!key) {
    if (failure == AuthFailure::unknown_kid) {
      out.tenant = issuer->second;
      out.kid = *jwt.kid;
    }
    return failure;
  }
  if (!verify_signature(*key, jwt.signing_input, jwt.signature)) return AuthFailure::bad_token;
  out.tenant = issuer->second;
  out.valid_until = jwt.exp + kClockSkewSeconds;
  return AuthFailure::none;
}

json::array AuthIndex::describe() const {
  json::array list;
  for (const AuthTenant& t : tenants_) {
    json::object o;
    o["id"] = t.id;
    if (!t.credentials.empty()) {
      json::array credentials;
      for (const auto& [name, kind] : t.credentials)
        credentials.push_back(json::object{{"name", name},
                                           {"kind", kind == config::Credential::Kind::api_key ? "api_key" : "ingest"}});
      o["credentials"] = std::move(credentials);
    }
    if (t.jwt) {
      json::array audiences;
      for (const std::string& a : t.jwt->audiences) audiences.push_back(json::string(a));
      json::array keys;
      for (const VerifyKey& k : t.jwt->keys) {
        json::object key{{"alg", to_string(k.algorithm)}};
        if (!k.kid.empty()) key["kid"] = k.kid;
        keys.push_back(std::move(key));
      }
      json::object jwt{{"issuer", t.jwt->issuer}, {"audiences", std::move(audiences)}, {"source", t.jwt->source},
                       {"keys", std::move(keys)}};
      if (!t.jwt->problems.empty()) {
        json::array problems;
        for (const std::string& p : t.jwt->problems) problems.push_back(json::string(p));
        jwt["problems"] = std::move(problems);
      }
      o["jwt"] = std::move(jwt);
    }
    list.push_back(std::move(o));
  }
  return list;
}

}  // namespace tg::proxy::auth
