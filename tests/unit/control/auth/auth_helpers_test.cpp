// The pure helpers of tenant credentials and JWT keys: secrets and their
// digests, base64url, JWK Set checks, jwks_url parsing, key files.
#include "auth/jwk_set.hpp"
#include "auth/jwks_url.hpp"
#include "auth/key_files.hpp"
#include "auth/secret.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>

namespace tg::control::auth {
namespace {

std::string hex(const Sha256& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

TEST_CASE("auth: sha256 and base64url", "[auth]") {
  CHECK(hex(sha256("test")) == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  const unsigned char bytes[] = {0xfb, 0xff, 0xbf, 0x00};
  CHECK(base64url(bytes, 3) == "-_-_");
  CHECK(base64url(bytes, 4) == "-_-_AA");
  CHECK(base64url(bytes, 1) == "-w");
  CHECK(base64url(bytes, 0).empty());
}

TEST_CASE("auth: new secrets are random, prefixed and hashed as sent", "[auth]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    NewSecret secret = new_secret();
    CHECK(secret.text.starts_with("tg_"));
    CHECK(secret.text.size() == 46);
    CHECK(secret.digest == sha256(secret.text));
    CHECK(seen.insert(secret.text).second);
  }
}

TEST_CASE("auth: JWK Set checks", "[auth][jwks]") {
  CHECK(check_jwk_set(R"({"keys":[{"kty":"RSA","n":"abc","e":"AQAB","kid":"1"}]})").problem.empty());
  CHECK(check_jwk_set(R"({"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"},{"kty":"oct","k":"x"}]})").usable == 1);
  CHECK(check_jwk_set("{").problem.starts_with("not JSON"));
  CHECK(check_jwk_set("[]").problem == "not a JWK Set: expected an object with a \"keys\" array");
  CHECK(check_jwk_set(R"({"keys":{}})").problem == "not a JWK Set: expected an object with a \"keys\" array");
  CHECK(check_jwk_set(R"({"keys":[]})").problem == "holds no RSA or EC (P-256) key");
  CHECK(check_jwk_set(R"({"keys":[{"kty":"EC","crv":"P-384","x":"a","y":"b"}]})").problem ==
        "holds no RSA or EC (P-256) key");
  CHECK(check_jwk_set(R"({"keys":[{"kty":"RSA","e":"AQAB"}]})").problem == "keys[0]: an RSA key needs \"n\"");
  CHECK(check_jwk_set(R"({"keys":[1]})").problem == "keys[0]: not an object");
  CHECK(check_jwk_set(R"({"keys":[{"n":"x"}]})").problem == "keys[0]: needs \"kty\"");
  std::string many = R"({"keys":[)";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + R"({"kty":"RSA","n":"a","e":"b"})";
  CHECK(check_jwk_set(many + "]}").problem == "101 keys; at most 100");
}

TEST_CASE("auth: jwks_url parsing", "[auth][jwks]") {
  JwksUrl url;
  REQUIRE(parse_jwks_url("https://auth.example.com/.well-known/jwks.json?x=1", url).empty());
  CHECK(url.tls);
  CHECK(url.host == "auth.example.com");
  CHECK(url.port == 443);
  CHECK(url.target == "/.well-known/jwks.json?x=1");
  REQUIRE(parse_jwks_url("http://127.0.0.1:8081", url).empty());
  CHECK_FALSE(url.tls);
  CHECK(url.port == 8081);
  CHECK(url.target == "/");
  REQUIRE(parse_jwks_url("http://[::1]:9/k", url).empty());
  CHECK(url.host == "::1");
  CHECK(url.port == 9);
  REQUIRE(parse_jwks_url("https://[2001:db8::1]/k", url).empty());
  CHECK(url.host == "2001:db8::1");
  CHECK(parse_jwks_url("http://localhost/k", url) ==
        "http:// is allowed only for a loopback address (127.0.0.1, [::1]); use https://");
  CHECK(parse_jwks_url("http://10.0.0.1/k", url).starts_with("http:// is allowed only"));
  CHECK(parse_jwks_url("https://u:p@auth.example/k", url) == "must not carry user info (user@host)");
  CHECK(parse_jwks_url("https://auth.example/k#x", url) == "must not have a fragment (#...)");
  CHECK(parse_jwks_url("https://auth.example:99999/k", url) == "bad port \"99999\"");
  CHECK(parse_jwks_url("https:///k", url) == "needs a host");
  CHECK(parse_jwks_url("https://a b/k", url) == "must not contain spaces or control characters");
  CHECK(parse_jwks_url("file:///etc/passwd", url).starts_with("must be an https:// URL"));
}

TEST_CASE("auth: key files", "[auth][keys]") {
  test::TempDir dir;
  tenantgate::v1::Jwt jwt;
  jwt.set_hs256_secret_file(dir.file("secret"));
  std::ofstream(dir.file("secret"), std::ios::binary) << std::string(40, 'k') << "\r\n";
  KeyMaterial material = read_key_files(jwt);
  CHECK(material.problem.empty());
  CHECK(material.hs256_secret == std::string(40, 'k'));
  CHECK(secret_from_file_content("abc\n\n") == "abc\n");
  jwt.clear_hs256_secret_file();
  jwt.set_jwks_file(dir.file("big.jwks"));
  std::ofstream(dir.file("big.jwks"), std::ios::binary) << std::string(max_jwk_set_bytes + 1, ' ');
  CHECK(read_key_files(jwt).problem == "jwks_file " + dir.file("big.jwks") + ": larger than 1048576 bytes");
  jwt.clear_jwks_file();
  jwt.set_jwks_url("https://x/jwks");
  CHECK(read_key_files(jwt).problem.empty());  // fetched, not read
}

}  // namespace
}  // namespace tg::control::auth
