// Who may report through tg-control's ingest endpoints: the tenants'
// credentials of kind `ingest` (Tenant.credentials), by the SHA-256 of the
// secret a container sends as `Authorization: Bearer <secret>`.
//
// A hash map from digest to (tenant, credential name), rebuilt on the owner
// loop whenever a committed batch changes a tenant (and after a registry
// reload), so a credential deleted through the Admin API stops working with
// the commit that deleted it. The found entry's digest is compared again in
// constant time (CRYPTO_memcmp); the map's hashing only ever sees digests,
// never secrets.
#pragma once

#include "auth/secret.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg::control {
class Registry;
}

namespace tg::control::ingest {

struct IngestPrincipal {
  std::string tenant;
  std::string credential;
  // The audit actor of its registry changes: "ingest:TENANT/NAME".
  std::string actor() const { return "ingest:" + tenant + "/" + credential; }
};

class IngestCredentials {
 public:
  // Every ingest credential of every tenant now in `registry`.
  void rebuild(const Registry& registry);
  // The holder of the bearer token in an Authorization header value; nullopt
  // when it is missing, not "Bearer ...", or unknown.
  std::optional<IngestPrincipal> authenticate(std::optional<std::string_view> authorization) const;
  std::size_t size() const { return by_digest_.size(); }

 private:
  struct DigestHash {
    std::size_t operator()(const auth::Sha256& digest) const;
  };
  struct DigestEqual {
    bool operator()(const auth::Sha256& a, const auth::Sha256& b) const;
  };
  std::unordered_map<auth::Sha256, IngestPrincipal, DigestHash, DigestEqual> by_digest_;
};

}  // namespace tg::control::ingest
