#include "auth/key_files.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace tg::control::auth {
namespace {

// The file's content, at most `limit` bytes; false with `problem` set otherwise.
bool read_bounded(const std::string& path, std::size_t limit, std::string& content, std::string& problem) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = "cannot be read (" + std::string(std::strerror(errno)) + ")";
    return false;
  }
  content.assign(limit + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) {
    problem = "cannot be read (I/O error)";
    return false;
  }
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (content.size() > limit) {
    problem = "larger than " + std::to_string(limit) + " bytes";
    return false;
  }
  return true;
}

}  // namespace

KeyMaterial read_key_files(const tenantgate::v1::Jwt& jwt) {
  KeyMaterial material;
  if (!jwt.jwks_file().empty()) {
    const std::string where = "jwks_file " + jwt.jwks_file() + ": ";
    std::string content, problem;
    if (!read_bounded(jwt.jwks_file(), max_jwk_set_bytes, content, problem)) {
      material.problem = where + problem;
      return material;
    }
    JwkSetCheck check = check_jwk_set(content);
    if (!check.problem.empty()) {
      material.problem = where + check.problem;
      return material;
    }
    material.jwks_json = std::move(content);
    material.keys = check.usable;
  } else if (!jwt.hs256_secret_file().empty()) {
    const std::string where = "hs256_secret_file " + jwt.hs256_secret_file() + ": ";
    std::string content, problem;
    if (!read_bounded(jwt.hs256_secret_file(), max_hs256_secret_bytes, content, problem)) {
      material.problem = where + problem;
      return material;
    }
    std::string secret = secret_from_file_content(std::move(content));
    if (secret.size() < min_hs256_secret_bytes) {
      material.problem = where + "the secret has " + std::to_string(secret.size()) + " bytes; HS256 needs at least " +
                         std::to_string(min_hs256_secret_bytes);
      return material;
    }
    material.hs256_secret = std::move(secret);
    material.keys = 1;
  }
  return material;
}

}  // namespace tg::control::auth
