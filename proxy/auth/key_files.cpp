#include "auth/key_files.hpp"

#include "auth/keys.hpp"
#include "text/secret_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tg::proxy::auth {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 1024 * 1024;

std::string where(const config::Tenant& tenant) {
  const config::SourceLocation& at = tenant.jwt->location;
  std::string prefix = at.file.empty() ? std::string() : at.file + ":" + std::to_string(at.line) + ":" +
                                                             std::to_string(at.column) + ": ";
  return prefix + "tenant " + tenant.id + ": jwt.";
}

bool read_file(const std::filesystem::path& path, std::string& out, std::string& problem) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = "cannot read " + path.string();
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  if (out.size() > kMaxKeyFileBytes) {
    problem = path.string() + " is larger than 1 MiB";
    return false;
  }
  return true;
}

}  // namespace

bool read_key_files(config::Config& config, const std::string& config_path, std::string& error) {
  const std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  auto resolve = [&](const std::string& file) {
    const std::filesystem::path p(file);
    return p.is_absolute() || base.empty() ? p : base / p;
  };
  bool ok = true;
  auto fail = [&](const config::Tenant& tenant, const std::string& message) {
    if (!error.empty()) error += "\n";
    error += where(tenant) + message;
    ok = false;
  };
  for (config::Tenant& tenant : config.tenants) {
    if (!tenant.jwt) continue;
    config::Jwt& jwt = *tenant.jwt;
    std::string problem;
    if (!jwt.jwks_url.empty()) {
      fail(tenant, "jwks_url: a standalone tg-proxy does not fetch key sets; jwks_url needs tg-control (which "
                   "fetches it and pushes the keys), or use jwks_file");
    } else if (!jwt.jwks_file.empty()) {
      if (!read_file(resolve(jwt.jwks_file), jwt.jwks_json, problem)) {
        fail(tenant, "jwks_file: " + problem);
        continue;
      }
      std::vector<std::string> problems;
      const auto keys = parse_jwks(jwt.jwks_json, problems);
      for (const std::string& p : problems) fail(tenant, "jwks_file " + jwt.jwks_file + ": " + p);
      if (keys.empty() && problems.empty()) fail(tenant, "jwks_file " + jwt.jwks_file + ": the key set is empty");
    } else if (!jwt.hs256_secret_file.empty()) {
      if (!read_file(resolve(jwt.hs256_secret_file), jwt.hs256_secret, problem)) {
        fail(tenant, "hs256_secret_file: " + problem);
        continue;
      }
      jwt.hs256_secret = text::secret_from_file_content(std::move(jwt.hs256_secret));
      if (jwt.hs256_secret.size() < 32) {
        fail(tenant, "hs256_secret_file " + jwt.hs256_secret_file + ": the secret has " +
                         std::to_string(jwt.hs256_secret.size()) + " bytes; HS256 needs at least 32 (RFC 7518 §3.2)");
      }
    }
  }
  return ok;
}

}  // namespace tg::proxy::auth
