// A tenant's JWT key material read from the files its jwt settings name
// (jwks_file, hs256_secret_file). tg-control reads them and pushes what it
// read in the table (Jwt.jwks_json / Jwt.hs256_secret); the registry keeps
// only the file names.
#pragma once

#include "auth/jwk_set.hpp"

#include "tenantgate/v1/registry.pb.h"
#include "text/secret_file.hpp"

#include <cstddef>
#include <string>

namespace tg::control::auth {

// An HS256 secret shorter than the hash output is refused (RFC 7518 §3.2).
inline constexpr std::size_t min_hs256_secret_bytes = 32;
inline constexpr std::size_t max_hs256_secret_bytes = 4096;

struct KeyMaterial {
  std::string jwks_json;     // jwks_file: the JWK Set as read
  std::string hs256_secret;  // hs256_secret_file: the secret's bytes
  std::size_t keys = 0;      // usable keys (1 for a secret)
  std::string problem;       // empty when the material is usable
};

// Reads the file of `jwt`'s file source. jwks_file: at most
// max_jwk_set_bytes, a usable JWK Set (check_jwk_set). hs256_secret_file:
// the file's bytes with one trailing newline ("\n" or "\r\n") removed, at
// least min_hs256_secret_bytes. The problem names the file:
// "jwks_file /etc/acme.jwks: cannot be read (No such file or directory)".
// A jwks_url source (or none) reads nothing and is no problem.
KeyMaterial read_key_files(const tenantgate::v1::Jwt& jwt);

// The bytes-to-secret rule (shared with the standalone proxy).
using text::secret_from_file_content;

}  // namespace tg::control::auth
