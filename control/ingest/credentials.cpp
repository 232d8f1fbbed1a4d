#include "ingest/credentials.hpp"

#include "registry/registry.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace tg::control::ingest {

std::size_t IngestCredentials::DigestHash::operator()(const auth::Sha256& digest) const {
  std::size_t h = 0;
  std::memcpy(&h, digest.data(), sizeof h);  // a digest's bytes are already uniform
  return h;
}

bool IngestCredentials::DigestEqual::operator()(const auth::Sha256& a, const auth::Sha256& b) const {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void IngestCredentials::rebuild(const Registry& registry) {
  by_digest_.clear();
  for (const auto& [id, tenant] : registry.tenants())
    for (const v1::Credential& credential : tenant.credentials()) {
      if (credential.kind() != v1::Credential::KIND_INGEST || credential.sha256().size() != 32) continue;
      auth::Sha256 digest;
      std::memcpy(digest.data(), credential.sha256().data(), digest.size());
      by_digest_[digest] = IngestPrincipal{id, credential.name()};
    }
}

std::optional<IngestPrincipal> IngestCredentials::authenticate(std::optional<std::string_view> authorization) const {
  if (!authorization) return std::nullopt;
  std::string_view value = *authorization;
  constexpr std::string_view scheme = "bearer ";
  if (value.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if ((value[i] | 0x20) != scheme[i]) return std::nullopt;
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  const auto it = by_digest_.find(auth::sha256(value));
  if (it == by_digest_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tg::control::ingest
