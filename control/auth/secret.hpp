// Tenant credential secrets (docs/control-plane.md, "Credentials"): what
// Admin.CreateCredential hands out once, and the SHA-256 that is all
// tg-control keeps of it. OpenSSL only: RAND_bytes for the secret, EVP for
// the digest.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tg::control::auth {

using Sha256 = std::array<unsigned char, 32>;

// The SHA-256 of `text` (EVP).
Sha256 sha256(std::string_view text);

// Base64url without padding (RFC 4648 §5), as secrets and JWKs spell bytes.
std::string base64url(const unsigned char* data, std::size_t size);

struct NewSecret {
  std::string text;  // "tg_" + base64url(32 random bytes): what a client sends
  Sha256 digest;     // sha256(text): what is stored
};

// 32 bytes from OpenSSL's CSPRNG. Throws std::runtime_error when RAND_bytes
// fails (no entropy): a credential is then not created at all.
NewSecret new_secret();

// The prefix of every secret tg-control creates.
inline constexpr std::string_view secret_prefix = "tg_";

}  // namespace tg::control::auth
