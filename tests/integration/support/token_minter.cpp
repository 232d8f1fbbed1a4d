#include "support/token_minter.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <vector>

namespace tg::itest {

namespace {

std::string bn_bytes(const EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no key parameter");
  std::vector<unsigned char> out(static_cast<std::size_t>(std::max(BN_num_bytes(bn), pad)));
  BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
  BN_free(bn);
  return {out.begin(), out.end()};
}

}  // namespace

std::string base64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
    out += alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    const unsigned v = byte(i) << 16;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
  } else if (bytes.size() - i == 2) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
  }
  return out;
}

KeyPair KeyPair::rsa(int bits) {
  KeyPair pair;
  pair.kind = Kind::rsa;
  pair.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)), EVP_PKEY_free);
  if (!pair.key) throw std::runtime_error("RSA keygen failed");
  return pair;
}

KeyPair KeyPair::ec() {
  KeyPair pair;
  pair.kind = Kind::ec;
  pair.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  if (!pair.key) throw std::runtime_error("EC keygen failed");
  return pair;
}

std::string KeyPair::jwk(std::string_view kid, std::string_view alg) const {
  std::string out = "{";
  if (!kid.empty()) out += "\"kid\":\"" + std::string(kid) + "\",";
  if (!alg.empty()) out += "\"alg\":\"" + std::string(alg) + "\",";
  if (kind == Kind::rsa) {
    out += "\"kty\":\"RSA\",\"n\":\"" + base64url(bn_bytes(key.get(), OSSL_PKEY_PARAM_RSA_N)) + "\",\"e\":\"" +
           base64url(bn_bytes(key.get(), OSSL_PKEY_PARAM_RSA_E)) + "\"}";
  } else {
    out += "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
           base64url(bn_bytes(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)) + "\",\"y\":\"" +
           base64url(bn_bytes(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"}";
  }
  return out;
}

std::string KeyPair::public_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.get());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return pem;
}

std::string KeyPair::sign(std::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  std::string signature;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1) {
    signature.resize(length);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (kind == Kind::rsa) return signature;
  // DER → r||s.
  const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
  unsigned char raw[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
  ECDSA_SIG_free(sig);
  return {reinterpret_cast<char*>(raw), 64};
}

std::string hs256(std::string_view secret, std::string_view input) {
  unsigned char mac[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &length);
  return {reinterpret_cast<char*>(mac), length};
}

std::string jwks(std::initializer_list<std::string> keys) {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const std::string& k : keys) {
    if (!first) out += ",";
    out += k;
    first = false;
  }
  return out + "]}";
}

}  // namespace tg::itest
