// Tenant key material in the table: the hub encodes a tenant's entry with
// what TableHubOptions::tenant_keys gives (jwks_json / hs256_secret), the
// registry never holds it, and a changed set is a new version whose delta
// holds that tenant's entry only. Credential hashes ride in the table.
#include "table_hub_fixture.hpp"

namespace tg::control::hub_test {
namespace {

v1::Table table_of(const std::string& bytes) {
  v1::Table table;
  REQUIRE(table.ParseFromString(bytes));
  return table;
}

const v1::Tenant* find_tenant(const v1::Table& table, const std::string& id) {
  for (const auto& tenant : table.tenants())
    if (tenant.id() == id) return &tenant;
  return nullptr;
}

TEST_CASE("table hub: tenant keys ride in the tenant entry, and a new set is a delta of that entry alone",
          "[table_hub][keys]") {
  HubFixture f;
  std::map<std::string, std::string> sets{{"acme", R"({"keys":[{"kty":"RSA","kid":"a","n":"x","e":"AQAB"}]})"}};
  f.options.tenant_keys = [&sets](v1::Tenant& tenant) {
    if (tenant.has_jwt() && sets.contains(tenant.id())) tenant.mutable_jwt()->set_jwks_json(sets[tenant.id()]);
  };
  f.populate();
  for (int i = 0; i < 20; ++i) f.route("bulk-" + std::to_string(i), "web");
  v1::PatchTenantRequest patch;
  patch.mutable_tenant()->set_id("acme");
  auto* jwt = patch.mutable_tenant()->mutable_jwt();
  jwt->set_issuer("https://acme.example");
  jwt->add_audiences("tenantgate");
  jwt->set_jwks_url("https://acme.example/jwks");
  auto* credential = patch.mutable_tenant()->add_credentials();  // not maskable: ignored
  credential->set_name("x");
  patch.mutable_update_mask()->add_paths("jwt");
  f.write(&Registry::patch_tenant, patch);
  v1::CreateCredentialRequest create;
  create.set_tenant("acme");
  create.set_name("ci");
  create.set_kind(v1::Credential::KIND_API_KEY);
  f.write(&Registry::create_credential, create);
  f.start();

  const auto a = f.connect();
  f.hello(a, "proxy-a");
  const v1::Table full = table_of(f.sub(a).last().config());
  const v1::Tenant* acme = find_tenant(full, "acme");
  REQUIRE(acme);
  CHECK(acme->jwt().jwks_json() == sets["acme"]);
  REQUIRE(acme->credentials_size() == 1);
  CHECK(acme->credentials(0).name() == "ci");
  CHECK(acme->credentials(0).sha256().size() == 32);  // the table carries the hash
  CHECK(find_tenant(full, "globex")->has_jwt() == false);
  CHECK(f.registry.tenants().at("acme").jwt().jwks_json().empty());
  f.ack(a);

  // The same material: nothing to publish.
  f.hub->refresh_tenant("acme");
  CHECK_FALSE(f.timer.armed());
  f.hub->refresh_tenant("nobody");
  CHECK_FALSE(f.timer.armed());

  sets["acme"] = R"({"keys":[{"kty":"RSA","kid":"b","n":"y","e":"AQAB"}]})";
  f.hub->refresh_tenant("acme");
  REQUIRE(f.timer.armed());
  f.timer.fire();
  const Response& update = f.sub(a).last();
  REQUIRE(update.has_delta());
  const v1::Table upserts = table_of(update.delta().upserts());
  REQUIRE(upserts.tenants_size() == 1);
  CHECK(upserts.tenants(0).id() == "acme");
  CHECK(upserts.tenants(0).jwt().jwks_json() == sets["acme"]);
  CHECK(upserts.tenants(0).credentials_size() == 1);
  CHECK(upserts.services_size() == 0);
  CHECK(upserts.routes_size() == 0);
  CHECK(upserts.instances_size() == 0);
  f.ack(a);

  // Revoking the credential: again a delta of the tenant entry, without it.
  v1::DeleteCredentialRequest revoke;
  revoke.set_tenant("acme");
  revoke.set_name("ci");
  f.write(&Registry::delete_credential, revoke);
  f.timer.fire();
  const Response& revoked = f.sub(a).last();
  REQUIRE(revoked.has_delta());
  const v1::Table after = table_of(revoked.delta().upserts());
  REQUIRE(after.tenants_size() == 1);
  CHECK(after.tenants(0).credentials_size() == 0);
  CHECK(after.tenants(0).jwt().jwks_json() == sets["acme"]);  // key material kept through tenant changes
}

}  // namespace
}  // namespace tg::control::hub_test
