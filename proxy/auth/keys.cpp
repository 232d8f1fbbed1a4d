#include "auth/keys.hpp"

#include "auth/base64url.hpp"

#include <boost/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <optional>

namespace tg::proxy::auth {

namespace json = boost::json;

namespace {

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bn to_bignum(const std::string& bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

// A base64url member of `jwk` decoded, or an empty optional with `problem`.
std::optional<std::string> member_bytes(const json::object& jwk, std::string_view name, std::string& problem) {
  const json::value* v = jwk.if_contains(name);
  std::string bytes;
  if (!v || !v->is_string() || !base64url_decode(v->as_string(), bytes) || bytes.empty()) {
    problem = "\"" + std::string(name) + "\" missing or not base64url";
    return std::nullopt;
  }
  return bytes;
}

Pkey from_params(const char* type, OSSL_PARAM_BLD* bld, std::string& problem) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    problem = "OpenSSL refused the key";
    return nullptr;
  }
  Pkey key(raw);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    problem = "not a valid public key";
    return nullptr;
  }
  return key;
}

Pkey rsa_key(const json::object& jwk, std::string& problem) {
  auto n = member_bytes(jwk, "n", problem);
  if (!n) return nullptr;
  auto e = member_bytes(jwk, "e", problem);
  if (!e) return nullptr;
  Bn bn_n = to_bignum(*n), bn_e = to_bignum(*e);
  if (!bn_n || !bn_e) {
    problem = "out of memory";
    return nullptr;
  }
  if (BN_num_bits(bn_n.get()) < 2048) {
    problem = "RSA modulus of " + std::to_string(BN_num_bits(bn_n.get())) + " bits: 2048 or more needed";
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    problem = "out of memory";
    return nullptr;
  }
  return from_params("RSA", bld.get(), problem);
}

Pkey ec_key(const json::object& jwk, std::string& problem) {
  const json::value* crv = jwk.if_contains("crv");
  if (!crv || !crv->is_string() || crv->as_string() != "P-256") {
    problem = "crv must be P-256 (ES256)";
    return nullptr;
  }
  auto x = member_bytes(jwk, "x", problem);
  if (!x) return nullptr;
  auto y = member_bytes(jwk, "y", problem);
  if (!y) return nullptr;
  if (x->size() != 32 || y->size() != 32) {
    problem = "x and y must be 32 bytes each";
    return nullptr;
  }
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    problem = "out of memory";
    return nullptr;
  }
  return from_params("EC", bld.get(), problem);
}

// One JWK, or a problem.
std::optional<VerifyKey> parse_jwk(const json::object& jwk, std::string& problem) {
  VerifyKey key;
  if (const json::value* kid = jwk.if_contains("kid")) {
    if (!kid->is_string()) {
      problem = "kid must be a string";
      return std::nullopt;
    }
    key.kid = kid->as_string();
  }
  if (const json::value* use = jwk.if_contains("use"); use && (!use->is_string() || use->as_string() != "sig")) {
    problem = "use is not \"sig\"";
    return std::nullopt;
  }
  const json::value* kty = jwk.if_contains("kty");
  if (!kty || !kty->is_string()) {
    problem = "kty missing";
    return std::nullopt;
  }
  if (kty->as_string() == "RSA") {
    key.algorithm = Algorithm::rs256;
    key.pkey = rsa_key(jwk, problem);
  } else if (kty->as_string() == "EC") {
    key.algorithm = Algorithm::es256;
    key.pkey = ec_key(jwk, problem);
  } else {
    problem = "kty \"" + std::string(kty->as_string()) + "\" is not RSA or EC (an HS256 secret goes in hs256_secret_file)";
    return std::nullopt;
  }
  if (!key.pkey) return std::nullopt;
  if (const json::value* alg = jwk.if_contains("alg")) {
    if (!alg->is_string() || alg->as_string() != to_string(key.algorithm)) {
      problem = "alg does not match kty " + std::string(kty->as_string()) + " (expected " +
                std::string(to_string(key.algorithm)) + ")";
      return std::nullopt;
    }
  }
  return key;
}

}  // namespace

void PkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

std::string_view to_string(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::hs256: return "HS256";
    case Algorithm::rs256: return "RS256";
    case Algorithm::es256: return "ES256";
  }
  return "";
}

std::vector<VerifyKey> parse_jwks(std::string_view text, std::vector<std::string>& problems) {
  std::vector<VerifyKey> keys;
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  const json::value* list = !ec && doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (!list || !list->is_array()) {
    problems.push_back(ec ? "not JSON: " + ec.message() : std::string("not a JWK Set (an object with a \"keys\" array)"));
    return keys;
  }
  std::size_t position = 0;
  for (const json::value& item : list->as_array()) {
    ++position;
    std::string problem = "not an object";
    std::optional<VerifyKey> key;
    if (item.is_object()) key = parse_jwk(item.as_object(), problem);
    if (key) {
      keys.push_back(std::move(*key));
      continue;
    }
    std::string name = "key " + std::to_string(position);
    if (item.is_object())
      if (const json::value* kid = item.as_object().if_contains("kid"); kid && kid->is_string())
        name += " (kid " + std::string(kid->as_string()) + ")";
    problems.push_back(name + ": " + problem);
  }
  return keys;
}

VerifyKey hs256_key(std::string_view secret) {
  VerifyKey key;
  key.algorithm = Algorithm::hs256;
  key.secret = secret;
  return key;
}

bool verify_signature(const VerifyKey& key, std::string_view signing_input, std::string_view signature) {
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (key.algorithm == Algorithm::hs256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (signature.size() != 32 ||
        !HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()), data, signing_input.size(), mac,
              &length) ||
        length != 32)
      return false;
    return CRYPTO_memcmp(mac, signature.data(), 32) == 0;
  }
  if (!key.pkey) return false;
  std::string der;
  std::string_view checked = signature;
  if (key.algorithm == Algorithm::es256) {
    // JWS carries r||s, 32 bytes each (RFC 7518 §3.4); OpenSSL wants DER.
    if (signature.size() != 64) return false;
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    BIGNUM* r = BN_bin2bn(raw, 32, nullptr);
    BIGNUM* s = BN_bin2bn(raw + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig.get(), &out);
    if (length <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
    checked = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(checked.data()), checked.size(), data,
                          signing_input.size()) == 1;
}

}  // namespace tg::proxy::auth
