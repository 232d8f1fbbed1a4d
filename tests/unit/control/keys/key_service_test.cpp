// The key service: JWT key files read and re-read, jwks_url fetched by the
// real JwksFetcher from a fake HTTP server on loopback, with a fake clock for
// the schedule: Cache-Control honoured, KeyRequest refetches at most once per
// 30 s per tenant, the last good set kept when the server answers 500, sends
// garbage or goes away.
#include "keys/key_service.hpp"

#include "fake_clock.hpp"
#include "fake_jwks_server.hpp"
#include "registry_fixture.hpp"
#include "temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

namespace tg::control::keys {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const std::string set_a = R"({"keys":[{"kty":"RSA","kid":"a","n":"nA","e":"AQAB"}]})";
const std::string set_b = R"({"keys":[{"kty":"RSA","kid":"b","n":"nB","e":"AQAB"}]})";

// A registry with tenants, the fetcher, and the owner loop the service posts
// fetch results to (run by the test thread in drive()).
struct KeysFixture {
  test::RegistryFixture r;
  asio::io_context owner{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{owner.get_executor()};
  auth::JwksFetcher fetcher{[] {
    auth::JwksFetcherOptions options;
    options.timeout = 2s;
    return options;
  }()};
  KeyService keys{owner, r.clock, [this](const auth::JwksUrl& url, auto done) { fetcher.fetch(url, std::move(done)); }};
  std::vector<std::string> changed;

  KeysFixture() {
    fetcher.start();
    keys.set_on_changed([this](const std::string& id) { changed.push_back(id); });
  }
  ~KeysFixture() { fetcher.stop(); }

  // Runs the owner loop until `done` holds (or 5 s pass).
  template <class Done>
  bool drive(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      owner.run_for(5ms);
    }
    return true;
  }
  // The fetches finished so far.
  std::uint64_t fetches() const {
    return keys.fetches_changed() + keys.fetches_unchanged() + keys.fetches_failed();
  }
  bool fetched(std::uint64_t count) {
    return drive([&] { return fetches() >= count; });
  }
  // Makes sure nothing else arrives: the loop runs a while, the count holds.
  void settle() {
    const auto until = std::chrono::steady_clock::now() + 100ms;
    while (std::chrono::steady_clock::now() < until) owner.run_for(5ms);
  }

  void tenant(const std::string& id, const std::function<void(v1::Jwt&)>& source) {
    v1::CreateTenantRequest request;
    request.mutable_tenant()->set_id(id);
    auto* jwt = request.mutable_tenant()->mutable_jwt();
    jwt->set_issuer("https://" + id + ".example");
    jwt->add_audiences("tenantgate");
    source(*jwt);
    REQUIRE(r.write(&Registry::create_tenant, request).ok());
  }
  std::string jwks_of(const std::string& id) const {
    v1::Tenant tenant = r.registry.tenants().at(id);
    keys.fill(tenant);
    return tenant.jwt().jwks_json();
  }
};

TEST_CASE("key service: cache lifetimes from Cache-Control", "[keys]") {
  const auto fallback = 300s, min = 30s, max = 86400s;
  CHECK(cache_lifetime("", fallback, min, max) == 300s);
  CHECK(cache_lifetime("public, max-age=120", fallback, min, max) == 120s);
  CHECK(cache_lifetime("max-age=\"600\"", fallback, min, max) == 600s);
  CHECK(cache_lifetime("max-age=5", fallback, min, max) == 30s);
  CHECK(cache_lifetime("max-age=99999999", fallback, min, max) == 86400s);
  CHECK(cache_lifetime("max-age=99999999999999999999999", fallback, min, max) == 86400s);
  CHECK(cache_lifetime("no-store", fallback, min, max) == 30s);
  CHECK(cache_lifetime("max-age=600, no-cache", fallback, min, max) == 30s);
  CHECK(cache_lifetime("s-maxage=60, max-age=600", fallback, min, max) == 60s);
  CHECK(cache_lifetime("Max-Age=45", fallback, min, max) == 45s);
  CHECK(cache_lifetime("max-age=bogus", fallback, min, max) == 300s);
}

TEST_CASE("key service: a jwks_url is fetched at start and again when its max-age passes", "[keys][fetch]") {
  test::FakeJwksServer server;
  server.reply(200, set_a, "public, max-age=120");
  KeysFixture f;
  f.tenant("acme", [&](v1::Jwt& jwt) { jwt.set_jwks_url(server.url()); });
  f.keys.load(f.r.registry);
  CHECK(f.jwks_of("acme").empty());  // nothing before the first fetch
  f.keys.tick();
  REQUIRE(f.fetched(1));
  CHECK(f.keys.fetches_changed() == 1);
  CHECK(f.jwks_of("acme") == set_a);
  CHECK(f.changed == std::vector<std::string>{"acme"});
  CHECK(server.last_request().starts_with("GET /jwks HTTP/1.1\r\n"));
  // The registry never holds the keys.
  CHECK(f.r.registry.tenants().at("acme").jwt().jwks_json().empty());

  server.reply(200, set_b, "max-age=120");
  f.r.clock.advance(119s);
  f.keys.tick();
  f.settle();
  CHECK(server.requests() == 1);  // still fresh
  f.r.clock.advance(2s);
  f.keys.tick();
  REQUIRE(f.fetched(2));
  CHECK(server.requests() == 2);
  CHECK(f.jwks_of("acme") == set_b);
  CHECK(f.changed == std::vector<std::string>{"acme", "acme"});

  // The same set again: counted unchanged, nothing to push.
  f.r.clock.advance(121s);
  f.keys.tick();
  REQUIRE(f.fetched(3));
  CHECK(f.keys.fetches_unchanged() == 1);
  CHECK(f.changed.size() == 2);
  const std::string metrics = f.keys.render_metrics();
  CHECK(metrics.find("tg_control_jwks_fetches_total{result=\"changed\"} 2") != std::string::npos);
  CHECK(metrics.find("tg_control_jwks_fetches_total{result=\"unchanged\"} 1") != std::string::npos);
  CHECK(metrics.find("tg_control_jwt_keys{tenant=\"acme\"} 1") != std::string::npos);
  CHECK(metrics.find("tg_control_jwt_keys_age_seconds{tenant=\"acme\"} 0.000") != std::string::npos);
}

TEST_CASE("key service: a KeyRequest refetches at most once per 30 s per tenant", "[keys][fetch]") {
  test::FakeJwksServer server;
  server.reply(200, set_a, "max-age=3600");
  KeysFixture f;
  f.tenant("acme", [&](v1::Jwt& jwt) { jwt.set_jwks_url(server.url()); });
  f.tenant("files", [&](v1::Jwt& jwt) { jwt.set_jwks_file("/nonexistent.jwks"); });
  f.keys.load(f.r.registry);
  f.keys.tick();
  REQUIRE(f.fetched(1));

  // The key rotated at the issuer; a proxy saw a token with kid "b".
  server.reply(200, set_b, "max-age=3600");
  f.keys.key_request("acme", "b");  // within 30 s of the start fetch
  f.settle();
  CHECK(server.requests() == 1);
  CHECK(f.keys.key_requests_limited() == 1);
  f.r.clock.advance(31s);
  f.keys.key_request("acme", "b");
  REQUIRE(f.fetched(2));
  CHECK(server.requests() == 2);
  CHECK(f.jwks_of("acme") == set_b);
  // A flood of requests for an unknown kid: still one fetch per 30 s.
  for (int i = 0; i < 20; ++i) {
    f.r.clock.advance(1s);
    f.keys.key_request("acme", "zzz");
  }
  f.settle();
  CHECK(server.requests() == 2);
  f.r.clock.advance(11s);  // 31 s after the last fetch
  f.keys.key_request("acme", "zzz");
  REQUIRE(f.fetched(3));
  CHECK(server.requests() == 3);
  // Tenants without a jwks_url, and unknown ones, are ignored.
  f.keys.key_request("files", "x");
  f.keys.key_request("nobody", "x");
  f.settle();
  CHECK(server.requests() == 3);
}

TEST_CASE("key service: the last good set stays when the server fails or goes away", "[keys][fetch]") {
  test::FakeJwksServer server;
  server.reply(200, set_a, "max-age=60");
  KeysFixture f;
  f.tenant("acme", [&](v1::Jwt& jwt) { jwt.set_jwks_url(server.url()); });
  f.keys.load(f.r.registry);
  f.keys.tick();
  REQUIRE(f.fetched(1));
  REQUIRE(f.jwks_of("acme") == set_a);

  server.reply(500, "oops");
  f.r.clock.advance(61s);
  f.keys.tick();
  REQUIRE(f.fetched(2));
  CHECK(f.keys.fetches_failed() == 1);
  CHECK(f.jwks_of("acme") == set_a);
  CHECK(f.keys.keys("acme")->problem == "http 500");

  server.reply(200, "<html>maintenance</html>");
  f.r.clock.advance(31s);  // the retry interval
  f.keys.tick();
  REQUIRE(f.fetched(3));
  CHECK(f.keys.fetches_failed() == 2);
  CHECK(f.jwks_of("acme") == set_a);
  CHECK(f.keys.keys("acme")->problem.starts_with("not JSON"));

  server.stop();
  f.r.clock.advance(31s);
  f.keys.tick();
  REQUIRE(f.fetched(4));
  CHECK(f.keys.fetches_failed() == 3);
  CHECK(f.jwks_of("acme") == set_a);
  CHECK(f.keys.keys("acme")->problem.starts_with("connect: "));
  CHECK(f.changed.size() == 1);
}

TEST_CASE("key service: key files are read at load, at each tenant change and on reload", "[keys][files]") {
  test::TempDir dir;
  const std::string path = dir.file("acme.jwks");
  std::ofstream(path) << set_a;
  KeysFixture f;
  f.tenant("acme", [&](v1::Jwt& jwt) { jwt.set_jwks_file(path); });
  f.keys.load(f.r.registry);
  CHECK(f.jwks_of("acme") == set_a);

  // Rotated in the file: SIGHUP reads it again and tells the table.
  std::ofstream(path, std::ios::trunc) << set_b;
  f.keys.reload_files();
  CHECK(f.jwks_of("acme") == set_b);
  CHECK(f.changed == std::vector<std::string>{"acme"});
  f.keys.reload_files();
  CHECK(f.changed.size() == 1);  // nothing changed

  // Broken: the tenant has no keys (its tokens fail), counted.
  std::ofstream(path, std::ios::trunc) << "{";
  f.keys.reload_files();
  CHECK(f.jwks_of("acme").empty());
  CHECK(f.keys.load_failures() == 1);
  CHECK(f.keys.render_metrics().find("tg_control_jwt_keys{tenant=\"acme\"} 0") != std::string::npos);

  // Fixed, then any change of the tenant reads it again (no SIGHUP).
  std::ofstream(path, std::ios::trunc) << set_a;
  v1::PatchTenantRequest patch;
  patch.mutable_tenant()->set_id("acme");
  (*patch.mutable_tenant()->mutable_labels())["x"] = "y";
  patch.mutable_update_mask()->add_paths("labels.x");
  v1::Tenant out;
  CommitBatch batch;
  REQUIRE(f.r.registry.patch_tenant(patch, f.r.context, &out, &batch).ok());
  f.keys.on_commit(batch);
  CHECK(f.jwks_of("acme") == set_a);

  // An HS256 secret.
  const std::string secret = dir.file("globex.secret");
  std::ofstream(secret) << std::string(32, 'z') << "\n";
  f.tenant("globex", [&](v1::Jwt& jwt) { jwt.set_hs256_secret_file(secret); });
  f.keys.load(f.r.registry);
  v1::Tenant globex = f.r.registry.tenants().at("globex");
  f.keys.fill(globex);
  CHECK(globex.jwt().hs256_secret() == std::string(32, 'z'));
  CHECK(globex.jwt().jwks_json().empty());
}

TEST_CASE("key service: a tenant moved to another jwks_url drops the old keys and fetches the new", "[keys][fetch]") {
  test::FakeJwksServer old_server, new_server;
  old_server.reply(200, set_a);
  new_server.reply(200, set_b);
  KeysFixture f;
  f.tenant("acme", [&](v1::Jwt& jwt) { jwt.set_jwks_url(old_server.url()); });
  f.keys.load(f.r.registry);
  f.keys.start();
  REQUIRE(f.fetched(1));
  REQUIRE(f.jwks_of("acme") == set_a);

  v1::PatchTenantRequest patch;
  patch.mutable_tenant()->set_id("acme");
  *patch.mutable_tenant()->mutable_jwt() = f.r.registry.tenants().at("acme").jwt();
  patch.mutable_tenant()->mutable_jwt()->set_jwks_url(new_server.url());
  patch.mutable_update_mask()->add_paths("jwt");
  v1::Tenant out;
  CommitBatch batch;
  REQUIRE(f.r.registry.patch_tenant(patch, f.r.context, &out, &batch).ok());
  f.keys.on_commit(batch);
  CHECK(f.jwks_of("acme").empty());
  REQUIRE(f.fetched(2));
  CHECK(f.jwks_of("acme") == set_b);
  CHECK(new_server.requests() == 1);
  f.keys.stop();

  // Deleted: nothing kept.
  v1::DeleteTenantRequest remove;
  remove.set_id("acme");
  v1::DeleteResponse deleted;
  CommitBatch gone;
  REQUIRE(f.r.registry.delete_tenant(remove, f.r.context, &deleted, &gone).ok());
  f.keys.on_commit(gone);
  CHECK(f.keys.keys("acme") == nullptr);
}

}  // namespace
}  // namespace tg::control::keys
