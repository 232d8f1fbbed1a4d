// Tenant credentials in the registry: create / list / delete, only the
// SHA-256 kept, hashes never in an Admin answer, the audit row without the
// secret, the ownership rule, and YAML credentials through apply.
#include "registry_fixture.hpp"

#include "auth/secret.hpp"
#include "config/loader.hpp"

#include <google/protobuf/util/json_util.h>

namespace tg::control {
namespace {

using test::RegistryFixture;

v1::CreateCredentialRequest credential_request(const std::string& tenant, const std::string& name,
                                               v1::Credential::Kind kind = v1::Credential::KIND_API_KEY) {
  v1::CreateCredentialRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  request.set_kind(kind);
  return request;
}

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool no_hashes(const v1::Tenant& tenant) {
  for (const auto& c : tenant.credentials())
    if (!c.sha256().empty()) return false;
  return true;
}

TEST_CASE("credentials: create returns the secret once and stores only its SHA-256", "[registry][credentials]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  f.clock.advance(std::chrono::seconds(3));
  v1::CreateCredentialResponse created;
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "ci"), &created).ok());
  const std::string& secret = created.secret();
  CHECK(secret.starts_with("tg_"));
  CHECK(secret.size() == 3 + 43);  // 32 bytes as base64url without padding
  CHECK(secret.find_first_of("+/=") == std::string::npos);
  CHECK(created.credential().name() == "ci");
  CHECK(created.credential().kind() == v1::Credential::KIND_API_KEY);
  CHECK(created.credential().sha256().empty());
  CHECK(created.credential().created_unix_ms() == f.clock.unix_ms());
  CHECK(created.revision() == 2);

  // The registry (and so the store and the table) holds the hash, not the secret.
  const v1::Tenant& stored = f.registry.tenants().at("acme");
  REQUIRE(stored.credentials_size() == 1);
  const auth::Sha256 digest = auth::sha256(secret);
  CHECK(stored.credentials(0).sha256() == std::string(digest.begin(), digest.end()));
  const std::string body = f.store.load().tenants.at(0);
  CHECK(body.find(secret) == std::string::npos);
  CHECK(body.find(secret.substr(3)) == std::string::npos);

  // Two secrets differ.
  v1::CreateCredentialResponse second;
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "pods", v1::Credential::KIND_INGEST),
                  &second)
              .ok());
  CHECK(second.secret() != secret);

  // The audit rows name the change without the secret (nor the whole hash).
  const auto audit = f.store.list_audit({});
  REQUIRE(audit.size() == 3);
  for (const auto& row : audit) {
    for (const std::string* json : {&row.record.before_json, &row.record.after_json}) {
      CHECK(json->find(secret.substr(3)) == std::string::npos);
      CHECK(json->find(second.secret().substr(3)) == std::string::npos);
    }
  }
  CHECK(audit[1].record.kind == "tenant");
  CHECK(audit[1].record.name == "acme");
  CHECK(audit[1].record.method == "Test");
  CHECK(audit[1].record.after_json.find("\"ci\"") != std::string::npos);
  // The hash shows as its first 6 bytes only.
  google::protobuf::util::JsonParseOptions options;
  v1::Tenant shown;
  REQUIRE(google::protobuf::util::JsonStringToMessage(audit[1].record.after_json, &shown, options).ok());
  REQUIRE(shown.credentials_size() == 1);
  CHECK(shown.credentials(0).sha256() == std::string(digest.begin(), digest.begin() + 6));
}

TEST_CASE("credentials: names are unique per tenant, kinds and names are checked", "[registry][credentials]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  REQUIRE(f.tenant("globex").ok());
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "ci")).ok());
  const Status twice = f.write(&Registry::create_credential, credential_request("acme", "ci"));
  CHECK(twice.code == Code::already_exists);
  CHECK(twice.message == "credential \"ci\" of tenant \"acme\" already exists");
  CHECK(f.write(&Registry::create_credential, credential_request("globex", "ci")).ok());  // another tenant
  CHECK(f.write(&Registry::create_credential, credential_request("nobody", "ci")).code == Code::not_found);
  const Status bad_name = f.write(&Registry::create_credential, credential_request("acme", "Bad Name"));
  CHECK(bad_name.code == Code::invalid_argument);
  CHECK(bad_name.message.starts_with("name: "));
  const Status no_kind =
      f.write(&Registry::create_credential, credential_request("acme", "x", v1::Credential::KIND_UNSPECIFIED));
  CHECK(no_kind.message == "kind: must be KIND_API_KEY or KIND_INGEST");
  CHECK(f.registry.tenants().at("acme").credentials_size() == 1);
}

TEST_CASE("credentials: list and every tenant answer clear the hashes", "[registry][credentials]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "zeta", v1::Credential::KIND_INGEST)).ok());
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "alpha")).ok());

  v1::ListCredentialsRequest list;
  list.set_tenant("acme");
  v1::ListCredentialsResponse listed;
  REQUIRE(f.registry.list_credentials(list, &listed).ok());
  REQUIRE(listed.credentials_size() == 2);
  CHECK(listed.credentials(0).name() == "alpha");
  CHECK(listed.credentials(1).name() == "zeta");
  CHECK(listed.credentials(1).kind() == v1::Credential::KIND_INGEST);
  for (const auto& c : listed.credentials()) CHECK(c.sha256().empty());
  list.set_tenant("nobody");
  CHECK(f.registry.list_credentials(list, &listed).code == Code::not_found);

  v1::GetTenantRequest get;
  get.set_id("acme");
  v1::Tenant got;
  REQUIRE(f.registry.get_tenant(get, &got).ok());
  CHECK(got.credentials_size() == 2);
  CHECK(no_hashes(got));
  v1::ListTenantsResponse tenants;
  REQUIRE(f.registry.list_tenants({}, &tenants).ok());
  CHECK(no_hashes(tenants.tenants(0)));

  // Update with what Get returned (no hashes): the credentials stay, hashes intact.
  v1::UpdateTenantRequest update;
  *update.mutable_tenant() = got;
  (*update.mutable_tenant()->mutable_labels())["tier"] = "gold";
  v1::Tenant updated;
  REQUIRE(f.write(&Registry::update_tenant, update, &updated).ok());
  CHECK(updated.credentials_size() == 2);
  CHECK(no_hashes(updated));
  CHECK(f.registry.tenants().at("acme").credentials(0).sha256().size() == 32);
  CHECK(f.registry.tenants().at("acme").credentials(1).sha256().size() == 32);

  v1::PatchTenantRequest patch;
  patch.mutable_tenant()->set_id("acme");
  (*patch.mutable_tenant()->mutable_labels())["x"] = "y";
  patch.mutable_update_mask()->add_paths("labels.x");
  v1::Tenant patched;
  REQUIRE(f.write(&Registry::patch_tenant, patch, &patched).ok());
  CHECK(patched.credentials_size() == 2);
  CHECK(no_hashes(patched));
  CHECK(f.registry.tenants().at("acme").credentials(1).sha256().size() == 32);

  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("globex");
  auto* c = create.mutable_tenant()->add_credentials();
  c->set_name("ci");
  c->set_kind(v1::Credential::KIND_API_KEY);
  c->set_sha256(std::string(32, 'h'));
  v1::Tenant created;
  REQUIRE(f.write(&Registry::create_tenant, create, &created).ok());
  CHECK(created.credentials_size() == 1);
  CHECK(no_hashes(created));
  CHECK(f.registry.tenants().at("globex").credentials(0).sha256() == std::string(32, 'h'));
}

TEST_CASE("credentials: delete revokes: the tenant changes, a new revision", "[registry][credentials]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "ci")).ok());
  REQUIRE(f.write(&Registry::create_credential, credential_request("acme", "other")).ok());
  v1::DeleteCredentialRequest request;
  request.set_tenant("acme");
  request.set_name("ci");
  v1::DeleteResponse deleted;
  REQUIRE(f.write(&Registry::delete_credential, request, &deleted).ok());
  CHECK(deleted.revision() == 4);
  REQUIRE(f.registry.tenants().at("acme").credentials_size() == 1);
  CHECK(f.registry.tenants().at("acme").credentials(0).name() == "other");
  const auto audit = f.store.list_audit({});
  CHECK(audit[0].record.before_json.find("\"ci\"") != std::string::npos);
  CHECK(audit[0].record.after_json.find("\"ci\"") == std::string::npos);
  CHECK(f.write(&Registry::delete_credential, request).code == Code::not_found);
  request.set_name("");
  CHECK(f.write(&Registry::delete_credential, request).code == Code::invalid_argument);
}

TEST_CASE("credentials: a tenant a config file owns refuses unless take_ownership", "[registry][credentials]") {
  RegistryFixture f;
  auto loaded = config::load_string(
      "tenants:\n  - id: acme\n    credentials:\n      - { name: ci, kind: api_key, sha256: "
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 }\n",
      "acme.yaml", config::Reader::control);
  REQUIRE(loaded.ok());
  ApplyOptions options;
  options.kind = v1::Source::KIND_CONFIG_FILE;
  CommitBatch batch;
  REQUIRE(f.registry
              .apply_documents({Document{&*loaded.config, "acme.yaml"}}, options, WriteContext{"tg-control", "startup"},
                               nullptr, &batch, nullptr)
              .ok());
  f.store.commit({batch});
  const v1::Tenant& owned = f.registry.tenants().at("acme");
  REQUIRE(owned.credentials_size() == 1);
  CHECK(hex(owned.credentials(0).sha256()) == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");

  auto create = credential_request("acme", "pods", v1::Credential::KIND_INGEST);
  const Status refused = f.write(&Registry::create_credential, create);
  CHECK(refused.code == Code::failed_precondition);
  CHECK(refused.message.find("acme.yaml") != std::string::npos);
  v1::DeleteCredentialRequest remove;
  remove.set_tenant("acme");
  remove.set_name("ci");
  CHECK(f.write(&Registry::delete_credential, remove).code == Code::failed_precondition);
  CHECK(f.registry.tenants().at("acme").credentials_size() == 1);

  create.set_take_ownership(true);
  REQUIRE(f.write(&Registry::create_credential, create).ok());
  CHECK(f.registry.tenants().at("acme").meta().source().kind() == v1::Source::KIND_API);
  CHECK(f.registry.tenants().at("acme").credentials_size() == 2);
}

TEST_CASE("credentials: YAML credentials through apply keep their creation time, and a new hash shows in the diff",
          "[registry][credentials][apply]") {
  RegistryFixture f;
  const std::string first =
      "tenants:\n  - id: acme\n    credentials:\n      - { name: ci, kind: api_key, sha256: "
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 }\n";
  REQUIRE(f.apply(first, "site.yaml").ok());
  const std::int64_t created = f.registry.tenants().at("acme").credentials(0).created_unix_ms();
  CHECK(created == f.clock.unix_ms());
  f.clock.advance(std::chrono::seconds(10));
  v1::ApplyResponse again;
  REQUIRE(f.apply(first, "site.yaml", &again).ok());
  REQUIRE(again.changes_size() == 1);
  CHECK(again.changes(0).action() == v1::Change::ACTION_UNCHANGED);
  CHECK(f.registry.tenants().at("acme").credentials(0).created_unix_ms() == created);

  std::string rotated = first;
  rotated.replace(rotated.find("9f86d081"), 8, "00000000");
  v1::ApplyResponse changed;
  REQUIRE(f.apply(rotated, "site.yaml", &changed).ok());
  REQUIRE(changed.changes_size() == 1);
  CHECK(changed.changes(0).action() == v1::Change::ACTION_UPDATE);
  // The diff's JSON carries 6 bytes of each hash, not the whole hash.
  CHECK(changed.changes(0).before_json().find("\"sha256\":\"n4bQgYhM\"") != std::string::npos);
  CHECK(changed.changes(0).after_json().find("\"sha256\":\"AAAAAIhM\"") != std::string::npos);
  CHECK(f.registry.tenants().at("acme").credentials(0).created_unix_ms() == f.clock.unix_ms());
}

}  // namespace
}  // namespace tg::control
