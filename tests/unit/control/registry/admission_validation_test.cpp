// Validation of the admission settings in the control plane: credentials,
// jwt (issuer unique across tenants, audiences, one key source, a fetchable
// jwks_url, key files readable at create and apply time), limits and route
// rate limits, and routes with auth required whose service has no tenant.
// Every error names the field.
#include "registry_fixture.hpp"

#include "keys/key_service.hpp"
#include "temp_dir.hpp"

#include <fstream>

namespace tg::control {
namespace {

using test::RegistryFixture;

v1::CreateTenantRequest tenant_with_jwt(const std::string& id, const std::string& issuer) {
  v1::CreateTenantRequest request;
  request.mutable_tenant()->set_id(id);
  auto* jwt = request.mutable_tenant()->mutable_jwt();
  jwt->set_issuer(issuer);
  jwt->add_audiences("tenantgate");
  jwt->set_jwks_url("https://auth.example/jwks");
  return request;
}

Status create(RegistryFixture& f, const v1::CreateTenantRequest& request) {
  return f.write(&Registry::create_tenant, request);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// What tg-control installs (control_server.cpp): the key files must hold keys.
void install_key_check(Registry& registry) { registry.set_key_check(keys::check_key_files); }

TEST_CASE("admission validation: credentials in a tenant", "[validate][credentials]") {
  RegistryFixture f;
  v1::CreateTenantRequest request;
  request.mutable_tenant()->set_id("acme");
  auto* c = request.mutable_tenant()->add_credentials();
  c->set_name("ci");
  c->set_kind(v1::Credential::KIND_API_KEY);
  c->set_sha256(std::string(31, 'x'));
  CHECK(create(f, request).message == "tenant.credentials[0].sha256: must be 32 bytes (the SHA-256 of the secret), got 31");
  c->set_sha256(std::string(32, 'x'));
  c->set_kind(v1::Credential::KIND_UNSPECIFIED);
  CHECK(create(f, request).message == "tenant.credentials[0].kind: must be KIND_API_KEY or KIND_INGEST");
  c->set_kind(v1::Credential::KIND_INGEST);
  c->set_name("CI");
  CHECK(create(f, request).message.starts_with("tenant.credentials[0].name: "));
  c->set_name("ci");
  *request.mutable_tenant()->add_credentials() = *c;
  CHECK(create(f, request).message == "tenant.credentials[1].name: duplicate credential name \"ci\"");
  request.mutable_tenant()->mutable_credentials()->RemoveLast();
  CHECK(create(f, request).ok());
}

TEST_CASE("admission validation: jwt settings", "[validate][jwt]") {
  RegistryFixture f;
  auto request = tenant_with_jwt("acme", "https://auth.acme.example");
  auto* jwt = request.mutable_tenant()->mutable_jwt();
  jwt->clear_audiences();
  CHECK(create(f, request).message == "tenant.jwt.audiences: must list at least one audience");
  jwt->add_audiences("");
  CHECK(create(f, request).message == "tenant.jwt.audiences[0]: must not be empty");
  jwt->set_audiences(0, "tenantgate");
  jwt->set_issuer("");
  CHECK(create(f, request).message == "tenant.jwt.issuer: required");
  jwt->set_issuer("https://auth.acme.example");
  jwt->set_jwks_file("/etc/acme.jwks");
  CHECK(create(f, request).message ==
        "tenant.jwt: set one key source of jwks_file, jwks_url and hs256_secret_file, not several");
  jwt->clear_jwks_file();
  jwt->clear_jwks_url();
  CHECK(create(f, request).message == "tenant.jwt: needs one key source: jwks_file, jwks_url or hs256_secret_file");
  jwt->set_jwks_url("http://auth.acme.example/jwks");
  CHECK(create(f, request).message ==
        "tenant.jwt.jwks_url: http:// is allowed only for a loopback address (127.0.0.1, [::1]); use https://");
  jwt->set_jwks_url("ftp://x/jwks");
  CHECK(create(f, request).message.starts_with("tenant.jwt.jwks_url: must be an https:// URL"));
  jwt->set_jwks_url("http://127.0.0.1:8080/jwks");
  jwt->set_jwks_json("{\"keys\":[]}");
  CHECK(create(f, request).message.starts_with("tenant.jwt.jwks_json: is filled by tg-control for the proxies only"));
  jwt->clear_jwks_json();
  jwt->set_hs256_secret("s");
  CHECK(create(f, request).message.starts_with("tenant.jwt.hs256_secret: is filled by tg-control"));
  jwt->clear_hs256_secret();
  REQUIRE(create(f, request).ok());
  CHECK(f.registry.tenants().at("acme").jwt().jwks_url() == "http://127.0.0.1:8080/jwks");
}

TEST_CASE("admission validation: jwt issuers are unique across tenants", "[validate][jwt]") {
  RegistryFixture f;
  REQUIRE(create(f, tenant_with_jwt("acme", "https://auth.example")).ok());
  const Status clash = create(f, tenant_with_jwt("globex", "https://auth.example"));
  CHECK(clash.code == Code::invalid_argument);
  CHECK(clash.message ==
        "tenant.jwt.issuer: \"https://auth.example\" is the issuer of tenant \"acme\" too; issuers are unique across "
        "tenants");
  CHECK(create(f, tenant_with_jwt("globex", "https://auth.globex.example")).ok());
  // An apply holding two tenants with one issuer: refused, located.
  const Status applied = f.apply(
      "tenants:\n  - id: a1\n    jwt: { issuer: https://x, audiences: [t], jwks_url: https://x/jwks }\n"
      "  - id: a2\n    jwt: { issuer: https://y, audiences: [t], jwks_url: https://y/jwks }\n"
      "  - id: a3\n    jwt: { issuer: https://auth.example, audiences: [t], jwks_url: https://z/jwks }\n",
      "site.yaml");
  CHECK(applied.code == Code::invalid_argument);
  CHECK(applied.message.find("site.yaml:") != std::string::npos);
  CHECK(applied.message.find("is the issuer of tenant \"acme\" too") != std::string::npos);
  CHECK_FALSE(f.registry.tenants().contains("a1"));
}

TEST_CASE("admission validation: tenant limits and route rate limits", "[validate][limits]") {
  RegistryFixture f;
  v1::CreateTenantRequest tenant;
  tenant.mutable_tenant()->set_id("acme");
  tenant.mutable_tenant()->mutable_limits()->mutable_rate()->set_period_ms(1000);
  CHECK(create(f, tenant).message == "tenant.limits.rate.count: must be in 1..1000000000, got 0");
  tenant.mutable_tenant()->mutable_limits()->mutable_rate()->set_count(100);
  REQUIRE(create(f, tenant).ok());
  REQUIRE(f.service("web", "acme").ok());

  v1::CreateRouteRequest route;
  route.mutable_route()->set_name("r");
  route.mutable_route()->set_service("web");
  auto* limit = route.mutable_route()->mutable_rate_limit();
  CHECK(f.write(&Registry::create_route, route).message == "route.rate_limit.rate.count: must be in 1..1000000000, got 0");
  limit->mutable_rate()->set_count(100);
  limit->set_by(v1::RouteRateLimit::BY_HEADER);
  CHECK(f.write(&Registry::create_route, route).message == "route.rate_limit.header: required when by is BY_HEADER");
  limit->set_header("X-User Id");
  CHECK(f.write(&Registry::create_route, route).message.starts_with("route.rate_limit.header: "));
  limit->set_header("X-User");
  v1::Route created;
  REQUIRE(f.write(&Registry::create_route, route, &created).ok());
  CHECK(created.rate_limit().header() == "x-user");
  CHECK(created.rate_limit().rate().period_ms() == 1000);
  CHECK(created.auth() == v1::ROUTE_AUTH_NONE);
}

TEST_CASE("admission validation: auth required needs a service with a tenant", "[validate][auth]") {
  RegistryFixture f;
  REQUIRE(f.tenant("acme").ok());
  REQUIRE(f.service("shared").ok());  // no tenant
  REQUIRE(f.service("web", "acme").ok());
  v1::CreateRouteRequest route;
  route.mutable_route()->set_name("r");
  route.mutable_route()->set_service("shared");
  route.mutable_route()->set_auth(v1::ROUTE_AUTH_REQUIRED);
  const Status refused = f.write(&Registry::create_route, route);
  CHECK(refused.code == Code::invalid_argument);
  CHECK(refused.message == "route.auth: route \"r\" has auth required, but its service \"shared\" has no tenant");
  route.mutable_route()->set_service("web");
  REQUIRE(f.write(&Registry::create_route, route).ok());
  // Taking the tenant away from a service an auth route uses is refused too.
  v1::UpdateServiceRequest update;
  update.mutable_service()->set_name("web");
  const Status orphan = f.write(&Registry::update_service, update);
  CHECK(orphan.message == "service.tenant: required: route \"r\" with auth required uses service \"web\"");
  // And through apply, located.
  const Status applied = f.apply(
      "routes:\n  - name: r2\n    match: { path_prefix: /x }\n    service: shared\n    auth: required\n", "site.yaml");
  CHECK(applied.message.find("site.yaml:2:") != std::string::npos);
  CHECK(applied.message.find("has auth required, but its service \"shared\" has no tenant") != std::string::npos);
}

TEST_CASE("admission validation: key files are read when jwt is created or changed", "[validate][jwt][keys]") {
  RegistryFixture f;
  install_key_check(f.registry);
  test::TempDir dir;
  const std::string jwks = dir.file("acme.jwks");
  v1::CreateTenantRequest request;
  request.mutable_tenant()->set_id("acme");
  auto* jwt = request.mutable_tenant()->mutable_jwt();
  jwt->set_issuer("https://auth.acme.example");
  jwt->add_audiences("tenantgate");
  jwt->set_jwks_file(jwks);
  const Status missing = create(f, request);
  CHECK(missing.code == Code::invalid_argument);
  CHECK(missing.message == "tenant.jwt: jwks_file " + jwks + ": cannot be read (No such file or directory)");
  write_file(jwks, "<html>not found</html>");
  CHECK(create(f, request).message.starts_with("tenant.jwt: jwks_file " + jwks + ": not JSON"));
  write_file(jwks, R"({"keys":[]})");
  CHECK(create(f, request).message == "tenant.jwt: jwks_file " + jwks + ": holds no RSA or EC (P-256) key");
  write_file(jwks, R"({"keys":[{"kty":"RSA","kid":"k1","n":"sXch","e":"AQAB"}]})");
  REQUIRE(create(f, request).ok());
  // The registry keeps the file name, never the keys.
  CHECK(f.registry.tenants().at("acme").jwt().jwks_json().empty());

  // A label change with the file broken meanwhile: the jwt did not change, no refusal.
  write_file(jwks, "broken");
  v1::PatchTenantRequest patch;
  patch.mutable_tenant()->set_id("acme");
  (*patch.mutable_tenant()->mutable_labels())["x"] = "y";
  patch.mutable_update_mask()->add_paths("labels.x");
  CHECK(f.write(&Registry::patch_tenant, patch).ok());

  // An HS256 secret file: too short, then good.
  const std::string secret = dir.file("acme.secret");
  write_file(secret, "short\n");
  v1::PatchTenantRequest to_hs;
  to_hs.mutable_tenant()->set_id("acme");
  *to_hs.mutable_tenant()->mutable_jwt() = f.registry.tenants().at("acme").jwt();
  to_hs.mutable_tenant()->mutable_jwt()->clear_jwks_file();
  to_hs.mutable_tenant()->mutable_jwt()->set_hs256_secret_file(secret);
  to_hs.mutable_update_mask()->add_paths("jwt");
  CHECK(f.write(&Registry::patch_tenant, to_hs).message ==
        "tenant.jwt: hs256_secret_file " + secret + ": the secret has 5 bytes; HS256 needs at least 32");
  write_file(secret, std::string(32, 's') + "\n");
  CHECK(f.write(&Registry::patch_tenant, to_hs).ok());

  // Apply: refused with the file and line.
  const Status applied = f.apply("tenants:\n  - id: globex\n    jwt: { issuer: https://g, audiences: [t], jwks_file: " +
                                     dir.file("none.jwks") + " }\n",
                                 "site.yaml");
  CHECK(applied.code == Code::invalid_argument);
  CHECK(applied.message.starts_with("site.yaml:2:"));
  CHECK(applied.message.find("cannot be read") != std::string::npos);
}

}  // namespace
}  // namespace tg::control
