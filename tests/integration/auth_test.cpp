// Authentication on routes with `auth: required` (docs/configuration.md,
// credentials and jwt; docs/life-of-a-request.md, phase 4): two tenants with
// API keys and JWTs minted here, a standalone tg-proxy reading the key files.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/temp_dir.hpp"
#include "support/token_minter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

using namespace tg::itest;

namespace {

const std::string kKeyA = "tg_key-of-tenant-a";
const std::string kKeyB = "tg_key-of-tenant-b";
const std::string kSecretA = "hs256-secret-of-tenant-a-0123456789abcdef";

std::string sha256_hex(std::string_view text) {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string claims(std::string_view iss, std::int64_t exp, std::string_view aud = "tenantgate", std::string extra = "") {
  return "{\"iss\":\"" + std::string(iss) + "\",\"aud\":\"" + std::string(aud) + "\",\"exp\":" + std::to_string(exp) +
         extra + "}";
}

// Tenant a: an API key and HS256 tokens; tenant b: an API key and RS256 /
// ES256 tokens from a JWK Set. Each has a route requiring auth (/a/, /b/);
// /open/ has none; /fwd/ forwards the credential.
struct AuthSetup {
  TempDir keys{"tg-itest-auth-keys"};
  KeyPair rsa = KeyPair::rsa();
  KeyPair ec = KeyPair::ec();
  Backend backend_a{"a"};
  Backend backend_b{"b"};
  std::unique_ptr<ProxyProcess> proxy;

  explicit AuthSetup(int workers = 1, std::vector<std::string> extra_args = {}) {
    write_file(keys.file("a.secret"), kSecretA);
    write_file(keys.file("b.jwks"), jwks({rsa.jwk("rsa-1", "RS256"), ec.jwk("ec-1")}));
    proxy = std::make_unique<ProxyProcess>(config(), ProxyOptions{.workers = workers, .extra_args = std::move(extra_args)});
  }

  std::string config() const {
    return "tenants:\n"
           "  - id: a\n"
           "    credentials:\n"
           "      - { name: ci, kind: api_key, sha256: " + sha256_hex(kKeyA) + " }\n"
           "      - { name: pods, kind: ingest, sha256: " + sha256_hex("ingest-of-a") + " }\n"
           "    jwt: { issuer: https://a.example, audiences: [tenantgate], hs256_secret_file: " +
           keys.file("a.secret").string() + " }\n"
           "  - id: b\n"
           "    credentials:\n"
           "      - { name: ci, kind: api_key, sha256: " + sha256_hex(kKeyB) + " }\n"
           "    jwt: { issuer: https://b.example, audiences: [tenantgate, other], jwks_file: " +
           keys.file("b.jwks").string() + " }\n"
           "services:\n"
           "  - { name: svc-a, tenant: a, instances: [ { address: " + backend_a.address() + " } ] }\n"
           "  - { name: svc-b, tenant: b, instances: [ { address: " + backend_b.address() + " } ] }\n"
           "routes:\n"
           "  - { name: route-a, match: { path_prefix: /a/ }, service: svc-a, auth: required }\n"
           "  - { name: route-b, match: { path_prefix: /b/ }, service: svc-b, auth: required }\n"
           "  - { name: route-fwd, match: { path_prefix: /fwd/ }, service: svc-b, auth: required, auth_forward: true }\n"
           "  - { name: route-open, match: { path_prefix: /open/ }, service: svc-b }\n";
  }

  std::string hs_token(const std::string& body) const {
    return mint(R"({"alg":"HS256","typ":"JWT"})", body, [](std::string_view in) { return hs256(kSecretA, in); });
  }
  std::string rs_token(const std::string& body, std::string_view kid = "rsa-1") const {
    return mint("{\"alg\":\"RS256\",\"kid\":\"" + std::string(kid) + "\"}", body,
                [this](std::string_view in) { return rsa.sign(in); });
  }
  std::string es_token(const std::string& body) const {
    return mint(R"({"alg":"ES256","kid":"ec-1"})", body, [this](std::string_view in) { return ec.sign(in); });
  }

  double failures(std::string_view route, std::string_view reason) const {
    return proxy->metrics().sum("tg_auth_failures_total", {{"route", std::string(route)}, {"reason", std::string(reason)}});
  }
};

HeaderList bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// The status of GET `target` with `headers` (raw lines, each ending CRLF)
// sent from `source`, a loopback address other than 127.0.0.1, on a
// connection of its own; 0 when it fails.
int status_from(const char* source, std::uint16_t port, const std::string& target, const std::string& headers) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in local{}, peer{};
  local.sin_family = peer.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  ::inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr);
  peer.sin_port = htons(port);
  std::string response;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer) == 0) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n" + headers + "\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return response.rfind("HTTP/1.1 ", 0) == 0 && response.size() >= 12 ? std::atoi(response.substr(9, 3).c_str()) : 0;
}

void check_unauthenticated(const HttpResponse& response, bool credential_sent) {
  check_error_response(response, 401, "unauthenticated");
  CHECK(response.header("www-authenticate") ==
        (credential_sent ? R"(Bearer realm="tenantgate", error="invalid_token")" : R"(Bearer realm="tenantgate")"));
}

}  // namespace

TEST_CASE("auth: a tenant's credential on another tenant's route is 403 and never reaches it", "[proxy][auth]") {
  AuthSetup s;
  HttpClient client(s.proxy->port());
  for (const HeaderList& credential :
       {HeaderList{{"X-Api-Key", kKeyA}}, bearer(kKeyA), bearer(s.hs_token(claims("https://a.example", now() + 300)))}) {
    check_error_response(client.get("/b/x", credential), 403, "forbidden");
    // The same credential with X-Tenant-ID: b changes nothing.
    HeaderList claiming = credential;
    claiming.add("X-Tenant-ID", "b");
    check_error_response(client.get("/b/x", claiming), 403, "forbidden");
  }
  CHECK(s.backend_b.requests() == 0);
  CHECK(s.failures("route-b", "forbidden") == 6);
  // B's own key passes.
  CHECK(client.get("/b/x", {{"X-Api-Key", kKeyB}}).status == 200);
  CHECK(s.backend_b.requests() == 1);
}

TEST_CASE("auth: the verified tenant replaces the client's X-Tenant-ID upstream", "[proxy][auth]") {
  AuthSetup s;
  HttpClient client(s.proxy->port());
  const EchoedRequest spoofed = parse_echo(client.get("/a/x", {{"X-Api-Key", kKeyA}, {"X-Tenant-ID", "b"}, {"x-tenant-id", "c"}}));
  CHECK(spoofed.headers.get_all("x-tenant-id") == std::vector<std::string>{"a"});
  const EchoedRequest added = parse_echo(client.get("/a/x", {{"X-Api-Key", kKeyA}}));
  CHECK(added.headers.get_all("x-tenant-id") == std::vector<std::string>{"a"});
  // B's backend sees b, from b's credentials only (API key, RS256, ES256).
  const std::string body = claims("https://b.example", now() + 300);
  for (const HeaderList& credential : {HeaderList{{"X-Api-Key", kKeyB}}, bearer(s.rs_token(body)), bearer(s.es_token(body))}) {
    HeaderList claiming = credential;
    claiming.add("X-Tenant-ID", "a");
    const HttpResponse response = client.get("/b/x", claiming);
    INFO(response.describe());
    REQUIRE(response.status == 200);
    CHECK(parse_echo(response).headers.get_all("x-tenant-id") == std::vector<std::string>{"b"});
  }
  // A route without auth passes the client's header as it is.
  CHECK(parse_echo(client.get("/open/x", {{"X-Tenant-ID", "a"}})).headers.get_all("x-tenant-id") ==
        std::vector<std::string>{"a"});
}

TEST_CASE("auth: no credential is 401 with a challenge, a bad one 401 invalid_token", "[proxy][auth]") {
  AuthSetup s;
  HttpClient client(s.proxy->port());
  check_unauthenticated(client.get("/a/x"), false);
  check_unauthenticated(client.get("/a/x", {{"Authorization", "Basic dXNlcjpwYXNz"}}), false);
  check_unauthenticated(client.get("/a/x", {{"X-Api-Key", "tg_not-a-key"}}), true);
  check_unauthenticated(client.get("/a/x", bearer("tg_not-a-key")), true);
  // An ingest credential is tg-control's, not a request key.
  check_unauthenticated(client.get("/a/x", {{"X-Api-Key", "ingest-of-a"}}), true);
  // Two keys: ambiguous.
  check_unauthenticated(client.get("/a/x", {{"X-Api-Key", kKeyA}, {"X-Api-Key", kKeyA}}), true);
  CHECK(s.backend_a.requests() == 0);
  CHECK(s.failures("route-a", "missing") == 2);
  CHECK(s.failures("route-a", "unknown_key") == 3);
  CHECK(s.proxy->metrics().sum("tg_request_fates_total", {{"route", "route-a"}, {"fate", "auth_failed"}}) == 6);
}

TEST_CASE("auth: credential headers are stripped unless the route has auth_forward", "[proxy][auth]") {
  AuthSetup s;
  HttpClient client(s.proxy->port());
  const std::string token = s.es_token(claims("https://b.example", now() + 300));
  EchoedRequest stripped = parse_echo(client.get("/b/x", {{"X-Api-Key", kKeyB}, {"Authorization", "Bearer " + token}}));
  CHECK(stripped.headers.get_all("x-api-key").empty());
  CHECK(stripped.headers.get_all("authorization").empty());
  EchoedRequest forwarded = parse_echo(client.get("/fwd/x", bearer(token)));
  CHECK(forwarded.headers.get_all("authorization") == std::vector<std::string>{"Bearer " + token});
  CHECK(forwarded.headers.get_all("x-tenant-id") == std::vector<std::string>{"b"});
  CHECK(parse_echo(client.get("/open/x", bearer("anything"))).headers.get_all("authorization") ==
        std::vector<std::string>{"Bearer anything"});
}

TEST_CASE("auth: valid HS256, RS256 and ES256 tokens pass, bad ones are 401, each with its reason", "[proxy][auth]") {
  AuthSetup s;
  HttpClient client(s.proxy->port());
  const std::int64_t t = now();
  CHECK(client.get("/a/x", bearer(s.hs_token(claims("https://a.example", t + 300)))).status == 200);
  CHECK(client.get("/b/x", bearer(s.rs_token(claims("https://b.example", t + 300, "other")))).status == 200);
  CHECK(client.get("/b/x", bearer(s.es_token(claims("https://b.example", t + 300)))).status == 200);

  struct Case {
    std::string name, route, path, token, reason;
  };
  const std::string good_b = s.rs_token(claims("https://b.example", t + 300));
  std::string tampered = good_b;
  {
    const auto dot1 = tampered.find('.'), dot2 = tampered.find('.', dot1 + 1);
    tampered = tampered.substr(0, dot1 + 1) + base64url(claims("https://b.example", t + 99999)) + tampered.substr(dot2);
  }
  const std::string pem = s.rsa.public_pem();
  const std::vector<Case> cases = {
      {"expired", "route-a", "/a/x", s.hs_token(claims("https://a.example", t - 120)), "expired"},
      {"nbf in the future", "route-a", "/a/x",
       s.hs_token(claims("https://a.example", t + 900, "tenantgate", ",\"nbf\":" + std::to_string(t + 600))),
       "not_yet_valid"},
      {"wrong audience", "route-a", "/a/x", s.hs_token(claims("https://a.example", t + 300, "elsewhere")),
       "wrong_audience"},
      {"unknown issuer", "route-a", "/a/x", s.hs_token(claims("https://c.example", t + 300)), "unknown_issuer"},
      {"alg none", "route-b", "/b/x",
       base64url(R"({"alg":"none"})") + "." + base64url(claims("https://b.example", t + 300)) + ".", "bad_token"},
      {"HS256 with the RSA public key as secret", "route-b", "/b/x",
       mint(R"({"alg":"HS256","kid":"rsa-1"})", claims("https://b.example", t + 300),
            [&](std::string_view in) { return hs256(pem, in); }),
       "bad_token"},
      {"tampered payload", "route-b", "/b/x", tampered, "bad_token"},
      {"unknown kid", "route-b", "/b/x", s.rs_token(claims("https://b.example", t + 300), "rsa-2"), "unknown_kid"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    check_unauthenticated(client.get(c.path, bearer(c.token)), true);
    CHECK(s.failures(c.route, c.reason) >= 1);
  }
  CHECK(s.backend_a.requests() == 1);
  CHECK(s.backend_b.requests() == 2);
}

TEST_CASE("auth: an address failing too often is refused unchecked, cached tokens still pass", "[proxy][auth]") {
  AuthSetup s;
  HttpClient client(s.proxy->port());
  const std::string good = s.es_token(claims("https://b.example", now() + 300));
  CHECK(client.get("/b/x", bearer(good)).status == 200);  // verified, cached
  const auto checks_before = s.proxy->metrics().sum("tg_auth_checks_total");
  for (int i = 0; i < 40; ++i) check_unauthenticated(client.get("/b/x", bearer(s.es_token(claims("https://b.example", now() - 600)))), true);
  const auto checks = s.proxy->metrics().sum("tg_auth_checks_total") - checks_before;
  // The limiter's burst (20 failures) was checked, the rest refused unread.
  CHECK(checks <= 23);  // plus what refilled meanwhile (1 a second)
  CHECK(s.failures("route-b", "throttled") >= 17);
  CHECK(client.get("/b/x", bearer(good)).status == 200);
  CHECK(s.proxy->metrics().sum("tg_auth_token_cache_hits_total") >= 1);
}

TEST_CASE("auth: --auth-max-failing-addresses bounds the addresses a worker's failure limiter tracks",
          "[proxy][auth][flags]") {
  AuthSetup s(1, {"--auth-max-failing-addresses", "4"});
  // Eight addresses fail once each; four ways of one set hold four of them.
  for (int i = 2; i < 10; ++i) {
    const std::string source = "127.0.0." + std::to_string(i);
    CHECK(status_from(source.c_str(), s.proxy->port(), "/a/x", "X-Api-Key: tg_wrong\r\n") == 401);
  }
  CHECK(s.failures("route-a", "unknown_key") == 8);
  CHECK(s.proxy->metrics().sum("tg_auth_failing_addresses") == 4);
}

TEST_CASE("auth: --auth-max-cached-tokens bounds a worker's verified JWTs", "[proxy][auth][flags]") {
  AuthSetup s(1, {"--auth-max-cached-tokens", "4"});
  HttpClient client(s.proxy->port());
  for (int i = 0; i < 10; ++i)
    REQUIRE(client.get("/a/x", bearer(s.hs_token(claims("https://a.example", now() + 300 + i)))).status == 200);
  CHECK(s.proxy->metrics().sum("tg_auth_token_cache_entries") == 4);
  CHECK(s.proxy->metrics().sum("tg_auth_checks_total") == 10);
}

TEST_CASE("auth: /config shows credential names and jwt issuers, never hashes or secrets", "[proxy][auth]") {
  AuthSetup s;
  const HttpResponse config = s.proxy->admin_get("/config");
  REQUIRE(config.status == 200);
  CHECK(config.body.find("\"ci\"") != std::string::npos);
  CHECK(config.body.find("https://b.example") != std::string::npos);
  CHECK(config.body.find("\"auth\":\"required\"") != std::string::npos);
  CHECK(config.body.find(sha256_hex(kKeyA)) == std::string::npos);
  CHECK(config.body.find(sha256_hex(kKeyB)) == std::string::npos);
  CHECK(config.body.find(kSecretA) == std::string::npos);
}

TEST_CASE("auth: a standalone proxy refuses jwks_url and unusable key files", "[proxy][auth]") {
  AuthSetup s;
  std::string config = s.config();
  const std::string file = "jwks_file: " + s.keys.file("b.jwks").string();
  config.replace(config.find(file), file.size(), "jwks_url: https://b.example/jwks");
  s.proxy->write_config(config);
  CHECK_FALSE(s.proxy->reload());
  write_file(s.keys.file("a.secret"), "short");
  s.proxy->write_config(s.config());
  CHECK_FALSE(s.proxy->reload());
  // Still serving the table it had.
  HttpClient client(s.proxy->port());
  CHECK(client.get("/a/x", {{"X-Api-Key", kKeyA}}).status == 200);
}
