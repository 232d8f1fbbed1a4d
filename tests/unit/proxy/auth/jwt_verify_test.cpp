// JWT verification against a table's tenants (auth/auth_index.hpp): HS256,
// RS256 and ES256 accepted; every refusal with its reason.
#include "auth/auth_index.hpp"
#include "support/token_minter.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

namespace tg::proxy::auth {
namespace {

using itest::KeyPair;
using itest::mint;

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs";

config::Tenant jwt_tenant(std::string id, std::string issuer) {
  config::Tenant t;
  t.id = std::move(id);
  auto& jwt = t.jwt.emplace();
  jwt.issuer = std::move(issuer);
  jwt.audiences = {"tenantgate", "other-aud"};
  return t;
}

struct Fixture {
  KeyPair rsa = KeyPair::rsa();
  KeyPair ec = KeyPair::ec();
  config::Config config;
  std::shared_ptr<const AuthIndex> index;

  Fixture() {
    config::Tenant hs = jwt_tenant("hs", "https://hs.example");
    hs.jwt->hs256_secret_file = "hs.secret";
    hs.jwt->hs256_secret = kSecret;
    config::Tenant pk = jwt_tenant("pk", "https://pk.example");
    pk.jwt->jwks_file = "pk.jwks";
    pk.jwt->jwks_json = itest::jwks({rsa.jwk("r1", "RS256"), ec.jwk("e1")});
    config.tenants = {hs, pk};
    index = AuthIndex::build(config);
  }

  std::string payload(std::string_view iss, std::string extra = "", std::int64_t exp = kNow + 300) const {
    return "{\"iss\":\"" + std::string(iss) + "\",\"aud\":\"tenantgate\",\"exp\":" + std::to_string(exp) + extra + "}";
  }
  std::string hs_token(const std::string& body) const {
    return mint(R"({"alg":"HS256","typ":"JWT"})", body, [](std::string_view in) { return itest::hs256(kSecret, in); });
  }
  std::string rs_token(const std::string& body, std::string_view kid = "r1") const {
    return mint("{\"alg\":\"RS256\",\"kid\":\"" + std::string(kid) + "\"}", body,
                [this](std::string_view in) { return rsa.sign(in); });
  }
  std::string es_token(const std::string& body) const {
    return mint(R"({"alg":"ES256","kid":"e1"})", body, [this](std::string_view in) { return ec.sign(in); });
  }
  AuthFailure check(std::string_view token, JwtIdentity* out = nullptr, std::int64_t now = kNow) const {
    JwtIdentity identity;
    const AuthFailure f = index->check_jwt(token, now, identity);
    if (out) *out = identity;
    return f;
  }
};

TEST_CASE("jwt: valid HS256, RS256 and ES256 tokens name their issuer's tenant", "[auth][jwt]") {
  Fixture f;
  JwtIdentity id;
  CHECK(f.check(f.hs_token(f.payload("https://hs.example")), &id) == AuthFailure::none);
  CHECK(f.index->tenants()[id.tenant].id == "hs");
  CHECK(id.valid_until == kNow + 300 + kClockSkewSeconds);
  CHECK(f.check(f.rs_token(f.payload("https://pk.example")), &id) == AuthFailure::none);
  CHECK(f.index->tenants()[id.tenant].id == "pk");
  CHECK(f.check(f.es_token(f.payload("https://pk.example")), &id) == AuthFailure::none);
  CHECK(f.index->tenants()[id.tenant].id == "pk");
  // aud as an array naming one of the tenant's audiences.
  const std::string array_aud =
      "{\"iss\":\"https://pk.example\",\"aud\":[\"x\",\"other-aud\"],\"exp\":" + std::to_string(kNow + 60) + "}";
  CHECK(f.check(f.es_token(array_aud)) == AuthFailure::none);
}

TEST_CASE("jwt: exp and nbf are checked with 60 s of skew", "[auth][jwt]") {
  Fixture f;
  CHECK(f.check(f.hs_token(f.payload("https://hs.example", "", kNow - 30))) == AuthFailure::none);
  CHECK(f.check(f.hs_token(f.payload("https://hs.example", "", kNow - 61))) == AuthFailure::expired);
  CHECK(f.check(f.hs_token(f.payload("https://hs.example", ",\"nbf\":" + std::to_string(kNow + 30)))) ==
        AuthFailure::none);
  CHECK(f.check(f.hs_token(f.payload("https://hs.example", ",\"nbf\":" + std::to_string(kNow + 120)))) ==
        AuthFailure::not_yet_valid);
  // No exp at all: refused (it would never expire).
  CHECK(f.check(f.hs_token(R"({"iss":"https://hs.example","aud":"tenantgate"})")) == AuthFailure::bad_token);
}

TEST_CASE("jwt: a wrong audience or an unknown issuer is refused", "[auth][jwt]") {
  Fixture f;
  const std::string wrong_aud =
      "{\"iss\":\"https://hs.example\",\"aud\":\"someone-else\",\"exp\":" + std::to_string(kNow + 60) + "}";
  CHECK(f.check(f.hs_token(wrong_aud)) == AuthFailure::wrong_audience);
  const std::string no_aud = "{\"iss\":\"https://hs.example\",\"exp\":" + std::to_string(kNow + 60) + "}";
  CHECK(f.check(f.hs_token(no_aud)) == AuthFailure::wrong_audience);
  CHECK(f.check(f.hs_token(f.payload("https://nobody.example"))) == AuthFailure::unknown_issuer);
}

TEST_CASE("jwt: alg none and algorithm confusion are refused", "[auth][jwt]") {
  Fixture f;
  // alg none, with and without a signature part.
  const std::string body = f.payload("https://pk.example");
  const std::string none = itest::base64url(R"({"alg":"none"})") + "." + itest::base64url(body) + ".";
  CHECK(f.check(none) == AuthFailure::bad_token);
  const std::string none_hs = itest::base64url(R"({"alg":"none"})") + "." + itest::base64url(f.payload("https://hs.example")) + ".";
  CHECK(f.check(none_hs) == AuthFailure::bad_token);
  // HS256 signed with the RSA public key's PEM as the secret, against the
  // tenant with that RSA key: the key's type fixes RS256.
  const std::string pem = f.rsa.public_pem();
  const std::string confused = mint(R"({"alg":"HS256","kid":"r1"})", body,
                                    [&](std::string_view in) { return itest::hs256(pem, in); });
  CHECK(f.check(confused) == AuthFailure::bad_token);
  const std::string confused_no_kid = mint(R"({"alg":"HS256"})", body,
                                           [&](std::string_view in) { return itest::hs256(pem, in); });
  CHECK(f.check(confused_no_kid) == AuthFailure::bad_token);
  // An RS256 token for the HS256 tenant.
  CHECK(f.check(mint(R"({"alg":"RS256"})", f.payload("https://hs.example"),
                     [&](std::string_view in) { return f.rsa.sign(in); })) == AuthFailure::bad_token);
  // ES256 header on the RSA key's kid.
  CHECK(f.check(mint(R"({"alg":"ES256","kid":"r1"})", body, [&](std::string_view in) { return f.ec.sign(in); })) ==
        AuthFailure::bad_token);
  // crit extensions are not understood.
  CHECK(f.check(mint(R"({"alg":"RS256","kid":"r1","crit":["x"],"x":1})", body,
                     [&](std::string_view in) { return f.rsa.sign(in); })) == AuthFailure::bad_token);
}

TEST_CASE("jwt: a tampered payload or signature is refused", "[auth][jwt]") {
  Fixture f;
  for (const std::string& token : {f.hs_token(f.payload("https://hs.example")), f.rs_token(f.payload("https://pk.example")),
                                   f.es_token(f.payload("https://pk.example"))}) {
    const auto dot1 = token.find('.');
    const auto dot2 = token.find('.', dot1 + 1);
    // Another payload under the original signature.
    const std::string other = token.substr(0, dot1 + 1) +
                              itest::base64url(f.payload(token.find("eyJhbGciOiJIUzI1Ni") == 0 ? "https://hs.example"
                                                                                                 : "https://pk.example",
                                                        "", kNow + 9999)) +
                              token.substr(dot2);
    CHECK(f.check(other) == AuthFailure::bad_token);
    std::string flipped = token;
    flipped[dot2 + 5] = flipped[dot2 + 5] == 'A' ? 'B' : 'A';
    CHECK(f.check(flipped) == AuthFailure::bad_token);
  }
}

TEST_CASE("jwt: an ES256 signature must be exactly 64 bytes", "[auth][jwt]") {
  Fixture f;
  const std::string body = f.payload("https://pk.example");
  const std::string good = f.es_token(body);
  CHECK(f.check(good) == AuthFailure::none);
  const std::string input = good.substr(0, good.rfind('.'));
  const std::string sig = f.ec.sign(input);
  // DER as OpenSSL makes it, r||s with a byte more or less.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, f.ec.key.get());
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string der(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &length,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  der.resize(length);
  EVP_MD_CTX_free(ctx);
  CHECK(f.check(input + "." + itest::base64url(der)) == AuthFailure::bad_token);
  CHECK(f.check(input + "." + itest::base64url(sig + std::string(1, '\0'))) == AuthFailure::bad_token);
  CHECK(f.check(input + "." + itest::base64url(std::string(1, '\x00') + sig.substr(0, 63))) == AuthFailure::bad_token);
}

TEST_CASE("jwt: an unknown kid is reported with its tenant and kid", "[auth][jwt]") {
  Fixture f;
  JwtIdentity id;
  CHECK(f.check(f.rs_token(f.payload("https://pk.example"), "rotated"), &id) == AuthFailure::unknown_kid);
  CHECK(f.index->tenants()[id.tenant].id == "pk");
  CHECK(id.kid == "rotated");
}

TEST_CASE("jwt: malformed tokens are bad_token", "[auth][jwt]") {
  Fixture f;
  for (std::string_view token : {"a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.AA", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AA"})
    CHECK(f.check(token) == AuthFailure::bad_token);
  CHECK(f.check(std::string(kMaxTokenBytes + 1, 'a')) == AuthFailure::bad_token);
}

TEST_CASE("jwks: keys that cannot verify are left out with a reason", "[auth][jwt]") {
  const KeyPair rsa = KeyPair::rsa();
  const KeyPair small = KeyPair::rsa(1024);
  const KeyPair ec = KeyPair::ec();
  std::vector<std::string> problems;
  const auto keys = parse_jwks(itest::jwks({rsa.jwk("ok", "RS256"), rsa.jwk("wrong-alg", "HS256"), small.jwk("small"),
                                           ec.jwk("ec-as-rs", "RS256"), R"({"kty":"oct","k":"c2VjcmV0","kid":"oct"})",
                                           R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"bad-point"})"}),
                               problems);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].kid == "ok");
  CHECK(keys[0].algorithm == Algorithm::rs256);
  REQUIRE(problems.size() == 5);
  CHECK(problems[0].find("kid wrong-alg") != std::string::npos);
  CHECK(problems[1].find("2048") != std::string::npos);
  std::vector<std::string> more;
  CHECK(parse_jwks("not json", more).empty());
  CHECK(more.size() == 1);
}

TEST_CASE("auth index: api keys by SHA-256, ingest credentials do not authenticate requests", "[auth][api_key]") {
  config::Config config;
  auto credential = [](std::string name, config::Credential::Kind kind, std::string_view secret) {
    config::Credential c;
    c.name = std::move(name);
    c.kind = kind;
    unsigned int length = 0;
    EVP_Digest(secret.data(), secret.size(), c.sha256.data(), &length, EVP_sha256(), nullptr);
    return c;
  };
  config::Tenant a;
  a.id = "a";
  a.credentials = {credential("ci", config::Credential::Kind::api_key, "key-a"),
                   credential("pods", config::Credential::Kind::ingest, "ingest-a")};
  config::Tenant b;
  b.id = "b";
  for (int i = 0; i < 50; ++i)
    b.credentials.push_back(credential("k" + std::to_string(i), config::Credential::Kind::api_key, "key-b-" + std::to_string(i)));
  config.tenants = {a, b};
  const auto index = AuthIndex::build(config);
  CHECK(index->tenant_of_api_key("key-a") == 0);
  for (int i = 0; i < 50; ++i) CHECK(index->tenant_of_api_key("key-b-" + std::to_string(i)) == 1);
  CHECK(index->tenant_of_api_key("key-c") == -1);
  CHECK(index->tenant_of_api_key("") == -1);
  CHECK(index->tenant_of_api_key("ingest-a") == -1);
  CHECK(index->tenant_index("b") == 1);
  CHECK(index->tenant_index("c") == -1);
  // /config shows names and kinds, never hashes.
  const std::string described = boost::json::serialize(index->describe());
  CHECK(described.find("\"ci\"") != std::string::npos);
  CHECK(described.find("sha256") == std::string::npos);
}

TEST_CASE("auth index: unchanged jwt keys are carried over to the next build", "[auth][jwt]") {
  Fixture f;
  const auto next = AuthIndex::build(f.config, f.index.get());
  CHECK(next->tenants()[1].jwt == f.index->tenants()[1].jwt);
  CHECK(next->generation() != f.index->generation());
  config::Config changed = f.config;
  changed.tenants[1].jwt->jwks_json = itest::jwks({f.ec.jwk("e1")});
  const auto rotated = AuthIndex::build(changed, f.index.get());
  CHECK(rotated->tenants()[1].jwt != f.index->tenants()[1].jwt);
  CHECK(rotated->tenants()[1].jwt->keys.size() == 1);
  // The secret stays out of /config.
  CHECK(boost::json::serialize(f.index->describe()).find(kSecret) == std::string::npos);
}

}  // namespace
}  // namespace tg::proxy::auth
