// The admission keys (common/config/admission_section.cpp): a tenant's
// credentials, jwt and limits; a route's auth, auth_forward and rate_limit.
#include "load_helpers.hpp"

#include <string>

using namespace std::chrono_literals;
using namespace tg::config;
using tg::config::test::errors_of;
using tg::config::test::load_ok;
using tg::config::test::single_error;

namespace {

// SHA-256 of "test".
constexpr std::string_view test_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

std::string with_tenant(std::string_view tenant_keys, std::string_view route_keys = "") {
  std::string yaml = "tenants:\n  - id: acme\n";
  yaml += tenant_keys;
  yaml +=
      "services:\n  - name: web\n    tenant: acme\n    instances: [{ address: 127.0.0.1:9001 }]\n"
      "routes:\n  - name: r\n    service: web\n";
  yaml += route_keys;
  return yaml;
}

}  // namespace

TEST_CASE("credentials, jwt and limits of a tenant load", "[config][admission]") {
  const Config config = load_ok(with_tenant(
      "    credentials:\n"
      "      - { name: ci, kind: api_key, sha256: " + std::string(test_sha256) + " }\n"
      "      - { name: pods, kind: ingest, sha256: " + std::string(test_sha256) + " }\n"
      "    jwt: { issuer: https://auth.acme.example, audiences: [tenantgate], jwks_file: /etc/acme.jwks.json }\n"
      "    limits: { rate: 600/m, burst: 200, max_concurrent: 500 }\n"));
  const Tenant& tenant = config.tenants.at(0);
  REQUIRE(tenant.credentials.size() == 2);
  CHECK(tenant.credentials[0].name == "ci");
  CHECK(tenant.credentials[0].kind == Credential::Kind::api_key);
  CHECK(tenant.credentials[0].sha256[0] == 0x9f);
  CHECK(tenant.credentials[0].sha256[31] == 0x08);
  CHECK(tenant.credentials[1].kind == Credential::Kind::ingest);
  REQUIRE(tenant.jwt.has_value());
  CHECK(tenant.jwt->issuer == "https://auth.acme.example");
  CHECK(tenant.jwt->audiences == std::vector<std::string>{"tenantgate"});
  CHECK(tenant.jwt->jwks_file == "/etc/acme.jwks.json");
  REQUIRE(tenant.limits.rate.has_value());
  CHECK(tenant.limits.rate->count == 600);
  CHECK(tenant.limits.rate->period == 60s);
  CHECK(tenant.limits.burst == 200);
  CHECK(tenant.limits.max_concurrent == 500);
}

TEST_CASE("auth, auth_forward and rate_limit of a route load", "[config][admission]") {
  const Config config = load_ok(with_tenant("",
                                            "    auth: required\n"
                                            "    auth_forward: true\n"
                                            "    rate_limit: { rate: 100/s, burst: 20, by: header:X-User-ID, shadow: true }\n"));
  const Route& route = config.routes.at(0);
  CHECK(route.auth == RouteAuth::required);
  CHECK(route.auth_forward);
  REQUIRE(route.rate_limit.has_value());
  CHECK(route.rate_limit->rate.count == 100);
  CHECK(route.rate_limit->rate.period == 1s);
  CHECK(route.rate_limit->burst == 20);
  CHECK(route.rate_limit->by == RouteRateLimit::By::header);
  CHECK(route.rate_limit->header == "x-user-id");
  CHECK(route.rate_limit->shadow);

  const Config plain = load_ok(with_tenant(""));
  CHECK(plain.routes.at(0).auth == RouteAuth::none);
  CHECK_FALSE(plain.routes.at(0).auth_forward);
  CHECK_FALSE(plain.routes.at(0).rate_limit.has_value());
  CHECK_FALSE(plain.tenants.at(0).jwt.has_value());
  CHECK_FALSE(plain.tenants.at(0).limits.rate.has_value());
}

TEST_CASE("bad admission keys are located errors", "[config][admission]") {
  CHECK(single_error(with_tenant("    limits: { rate: 100/h }\n")) ==
        "t.yaml:3:21: tenants[0].limits.rate: bad rate \"100/h\": expected <count>/s or <count>/m, e.g. 100/s");
  CHECK(single_error(with_tenant("    limits: { rate: 0/s }\n")).find("the count must be") != std::string::npos);
  CHECK(single_error(with_tenant("    credentials: [{ name: ci, kind: api_key, sha256: abc }]\n"))
            .find("64 hex digits") != std::string::npos);
  CHECK(single_error(with_tenant("    credentials: [{ name: ci, kind: password, sha256: " + std::string(test_sha256) +
                                 " }]\n"))
            .find("must be api_key or ingest") != std::string::npos);
  CHECK(single_error(with_tenant("    credentials:\n      - { name: ci, kind: api_key, sha256: " +
                                 std::string(test_sha256) + " }\n      - { name: ci, kind: ingest, sha256: " +
                                 std::string(test_sha256) + " }\n"))
            .find("duplicate credential name \"ci\"") != std::string::npos);
  CHECK(single_error(with_tenant("    credentials: [{ name: CI, kind: api_key, sha256: " + std::string(test_sha256) +
                                 " }]\n"))
            .find("bad credential name \"CI\"") != std::string::npos);
  CHECK(single_error(with_tenant("    jwt: { issuer: x, audiences: [a] }\n")).find("needs one key source") !=
        std::string::npos);
  CHECK(single_error(with_tenant("    jwt: { issuer: x, audiences: [a], jwks_file: /a, hs256_secret_file: /b }\n"))
            .find("not several") != std::string::npos);
  CHECK(single_error(with_tenant("", "    auth: maybe\n")).find("must be none or required") != std::string::npos);
  CHECK(single_error(with_tenant("", "    rate_limit: { rate: 10/s, by: cookie }\n"))
            .find("must be tenant, client_ip, route or header:NAME") != std::string::npos);
  CHECK(single_error(with_tenant("", "    rate_limit: { burst: 5 }\n")).find("rate") != std::string::npos);
}

TEST_CASE("a jwt issuer belongs to one tenant", "[config][admission]") {
  const std::string yaml =
      "tenants:\n"
      "  - { id: a, jwt: { issuer: https://i, audiences: [x], jwks_file: /a } }\n"
      "  - { id: b, jwt: { issuer: https://i, audiences: [x], jwks_file: /b } }\n";
  CHECK(single_error(yaml).find("duplicate jwt issuer \"https://i\"") != std::string::npos);
}

TEST_CASE("auth: required on a service without a tenant is refused", "[config][admission]") {
  const std::string yaml =
      "services:\n  - name: web\n    instances: [{ address: 127.0.0.1:9001 }]\n"
      "routes:\n  - { name: r, service: web, auth: required }\n";
  CHECK(single_error(yaml) ==
        "t.yaml:5:25: routes[0].service: route \"r\" has auth: required, but its service \"web\" has no tenant");
  // The control plane resolves services against its registry instead.
  CHECK(errors_of(yaml, Reader::control).empty());
}
