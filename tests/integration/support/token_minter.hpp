// Test keys and tokens made with OpenSSL: RSA 2048 and EC P-256 key pairs
// with their public JWKs, and compact JWS tokens signed with them or with an
// HS256 secret (tests only; the proxy itself never signs).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace tg::itest {

std::string base64url(std::string_view bytes);

struct KeyPair {
  enum class Kind { rsa, ec };
  Kind kind = Kind::rsa;
  std::shared_ptr<EVP_PKEY> key;

  static KeyPair rsa(int bits = 2048);
  static KeyPair ec();
  // The public key as a JWK object; `alg` empty: none written.
  std::string jwk(std::string_view kid, std::string_view alg = "") const;
  // The public key as PEM (SubjectPublicKeyInfo).
  std::string public_pem() const;
  // RS256 (PKCS#1 v1.5) or ES256 (r||s, 64 bytes) over `input`.
  std::string sign(std::string_view input) const;
};

std::string hs256(std::string_view secret, std::string_view input);

// header.payload.signature with `sign` applied to header.payload (both JSON texts).
template <typename Sign>
std::string mint(std::string_view header_json, std::string_view payload_json, Sign&& sign) {
  const std::string input = base64url(header_json) + "." + base64url(payload_json);
  return input + "." + base64url(sign(input));
}

// A JWK Set of the given JWK objects.
std::string jwks(std::initializer_list<std::string> keys);

}  // namespace tg::itest
