// Keys that verify JWT signatures, with the one algorithm each accepts.
//
// The algorithm is fixed by the key, never taken from a token (RFC 8725
// §3.1): an RSA key verifies RS256 only, an EC P-256 key ES256 only, an
// HS256 secret HS256 only. A JWK's `alg`, when present, must agree with its
// type, else the key is left out. Public keys are built once per key set
// (OpenSSL 3 EVP_PKEY_fromdata) and shared by every worker: verifying with an
// EVP_PKEY from several threads at once is safe (each call has its own
// EVP_MD_CTX).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace tg::proxy::auth {

enum class Algorithm : std::uint8_t { hs256, rs256, es256 };
std::string_view to_string(Algorithm algorithm);  // "HS256", "RS256", "ES256"

struct PkeyFree {
  void operator()(EVP_PKEY* key) const;
};

struct VerifyKey {
  Algorithm algorithm = Algorithm::hs256;
  std::string kid;                           // empty: none
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey;  // rs256, es256
  std::string secret;                        // hs256
};

// The keys of a JWK Set (RFC 7517 §5): RSA keys (n, e; 2048 bits or more)
// and EC P-256 keys (x, y; the point checked). Keys that cannot be used are
// left out with one line each in `problems` ("key 2 (kid k1): ..."); a
// document that is not a JWK Set gives an empty result and a problem.
std::vector<VerifyKey> parse_jwks(std::string_view json, std::vector<std::string>& problems);

// The HS256 key of a shared secret.
VerifyKey hs256_key(std::string_view secret);

// Whether `signature` (raw bytes as the JWS carries them; ES256: exactly 64
// bytes r||s) is `key`'s signature over `signing_input`.
bool verify_signature(const VerifyKey& key, std::string_view signing_input, std::string_view signature);

}  // namespace tg::proxy::auth
