// A standalone proxy reads its tenants' JWT key files (auth/key_files.hpp).
#include "auth/key_files.hpp"
#include "auth/base64url.hpp"
#include "support/token_minter.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tg::proxy::auth {
namespace {

struct Dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("tg-key-files-" + std::to_string(::getpid()));
  Dir() { std::filesystem::create_directories(path); }
  ~Dir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

config::Config with_jwt(config::Jwt jwt) {
  config::Config config;
  config::Tenant t;
  t.id = "acme";
  jwt.issuer = "https://acme.example";
  jwt.audiences = {"tg"};
  jwt.location = {"/etc/tg.yaml", 4, 5};
  t.jwt = jwt;
  config.tenants.push_back(t);
  return config;
}

TEST_CASE("key files: the jwks and secret files are read, relative to the config file", "[auth][key_files]") {
  Dir dir;
  const auto key = itest::KeyPair::ec();
  dir.write("acme.jwks", itest::jwks({key.jwk("k1")}));
  dir.write("acme.secret", std::string(40, 's') + "\n");  // one trailing newline is not part of the secret
  std::string error;
  config::Jwt jwks;
  jwks.jwks_file = "acme.jwks";
  auto config = with_jwt(jwks);
  REQUIRE(read_key_files(config, (dir.path / "tg.yaml").string(), error));
  CHECK(config.tenants[0].jwt->jwks_json.find("\"k1\"") != std::string::npos);
  config::Jwt secret;
  secret.hs256_secret_file = (dir.path / "acme.secret").string();
  config = with_jwt(secret);
  REQUIRE(read_key_files(config, "elsewhere/tg.yaml", error));
  CHECK(config.tenants[0].jwt->hs256_secret == std::string(40, 's'));
}

TEST_CASE("key files: jwks_url, unreadable, unusable or short key material is refused", "[auth][key_files]") {
  Dir dir;
  const std::string yaml = (dir.path / "tg.yaml").string();
  std::string error;
  config::Jwt url;
  url.jwks_url = "https://acme.example/jwks";
  auto config = with_jwt(url);
  CHECK_FALSE(read_key_files(config, yaml, error));
  CHECK(error.rfind("/etc/tg.yaml:4:5: tenant acme: jwt.jwks_url: a standalone tg-proxy does not fetch", 0) == 0);

  error.clear();
  config::Jwt missing;
  missing.jwks_file = "nope.jwks";
  config = with_jwt(missing);
  CHECK_FALSE(read_key_files(config, yaml, error));
  CHECK(error.find("cannot read") != std::string::npos);

  error.clear();
  dir.write("bad.jwks", R"({"keys":[{"kty":"oct","k":"AAAA"}]})");
  config::Jwt bad;
  bad.jwks_file = "bad.jwks";
  config = with_jwt(bad);
  CHECK_FALSE(read_key_files(config, yaml, error));
  CHECK(error.find("key 1") != std::string::npos);

  error.clear();
  dir.write("short.secret", "too short");
  config::Jwt short_secret;
  short_secret.hs256_secret_file = "short.secret";
  config = with_jwt(short_secret);
  CHECK_FALSE(read_key_files(config, yaml, error));
  CHECK(error.find("at least 32") != std::string::npos);
}

TEST_CASE("base64url: decodes without padding, refuses other alphabets", "[auth][base64url]") {
  std::string out;
  CHECK(base64url_decode("aGVsbG8", out));
  CHECK(out == "hello");
  CHECK(base64url_decode("", out));
  CHECK(out.empty());
  CHECK(base64url_decode("-_8", out));
  CHECK(out == "\xfb\xff");
  CHECK_FALSE(base64url_decode("aGVsbG8=", out));
  CHECK_FALSE(base64url_decode("a+/a", out));
  CHECK_FALSE(base64url_decode("aGVsb", out));  // 4n+1 characters
  for (const std::string& text : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\x00\xff\xfe", 3)})
    CHECK((base64url_decode(itest::base64url(text), out) && out == text));
}

}  // namespace
}  // namespace tg::proxy::auth
