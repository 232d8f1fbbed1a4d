// A standalone tg-proxy (YAML, no tg-control) reads its tenants' JWT key
// files itself when it loads the table: jwks_file into Jwt::jwks_json and
// hs256_secret_file into Jwt::hs256_secret. jwks_url is fetched by
// tg-control only, so a standalone proxy refuses it.
#pragma once

#include "config/model.hpp"

#include <string>

namespace tg::proxy::auth {

// Relative paths are taken from the directory of `config_path`. The JWK Set
// must parse and give at least one usable key, the secret must hold at least
// 32 bytes (RFC 7518 §3.2); the file's bytes are the secret, as they are.
// On failure returns false with one "FILE:LINE:COLUMN: message" line per
// problem in `error`.
bool read_key_files(config::Config& config, const std::string& config_path, std::string& error);

}  // namespace tg::proxy::auth
