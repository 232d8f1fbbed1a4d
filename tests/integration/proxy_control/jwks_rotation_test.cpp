// JWT key rotation end to end through real processes: a loopback JWKS
// server (plain http is allowed on loopback), tg-control fetching a tenant's
// jwks_url, and real tg-proxy subscribed to it.
//   * the issuer rotates to a new key: the first token signed with it is 401
//     (unknown kid), the proxy's KeyRequest makes tg-control fetch again, the
//     next table carries the new key and its tokens pass; a burst of such
//     tokens on two proxies costs one fetch (--jwks-refetch-interval);
//   * the JWKS server down: the fetch fails and the last good keys stay.
#include "control/support/control_process.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"
#include "support/token_minter.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <ctime>
#include <thread>

using namespace std::chrono_literals;
using namespace tg::itest;

namespace {

constexpr auto kRefetchInterval = 3s;

// The JWKS server's answer: a key set, cacheable for an hour (so no fetch
// comes from its expiry while the test runs, only from KeyRequests).
Behaviour jwks_answer(const std::string& set) {
  Behaviour b = Behaviour::fixed(200, set);
  b.headers.add("Cache-Control", "max-age=3600");
  return b;
}

ControlOptions control_options() {
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms", "--jwks-refetch-interval",
                        std::to_string(std::chrono::seconds(kRefetchInterval).count()) + "s"};
  return options;
}

// Tenant acme whose JWT keys come from `jwks_url`, and a route requiring auth.
std::string world(const std::string& jwks_url, const std::string& backend) {
  return "tenants:\n"
         "  - id: acme\n"
         "    jwt: { issuer: https://auth.acme.example, audiences: [tenantgate], jwks_url: " + jwks_url + " }\n"
         "services:\n"
         "  - name: web\n    tenant: acme\n    instances:\n      - { id: acme-1, address: " + backend + " }\n"
         "routes:\n"
         "  - { name: secure, match: { host: secure.example }, service: web, auth: required }\n";
}

void apply_world(const ControlProcess& control, const std::string& yaml) {
  const TgctlResult applied = tgctl(control, {"apply", "-f", control.write("world.yaml", yaml).string()});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);
}

double control_metric(const ControlProcess& control, const std::string& name, const Labels& labels = {}) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body).sum(name, labels);
}

// An ES256 token of acme's issuer signed by `key` under `kid`.
std::string token(const KeyPair& key, const std::string& kid) {
  const std::int64_t exp = static_cast<std::int64_t>(std::time(nullptr)) + 600;
  return mint("{\"alg\":\"ES256\",\"kid\":\"" + kid + "\"}",
              R"({"iss":"https://auth.acme.example","aud":"tenantgate","exp":)" + std::to_string(exp) + "}",
              [&](std::string_view in) { return key.sign(in); });
}

int status_with(const ProxyProcess& proxy, const std::string& bearer) {
  try {
    HttpClient client(proxy.port(), 5s);
    return client.get("/", {{"Host", "secure.example"}, {"Authorization", "Bearer " + bearer}}).status;
  } catch (const std::exception&) {
    return 0;
  }
}

// The key ids /config lists for tenant acme.
std::vector<std::string> kids_on(const ProxyProcess& proxy) {
  std::vector<std::string> kids;
  const boost::json::value config = boost::json::parse(proxy.admin_get("/config").body);
  const auto* tenants = config.as_object().if_contains("tenants");
  if (!tenants) return kids;
  for (const auto& tenant : tenants->as_array()) {
    if (tenant.at("id").as_string() != "acme" || !tenant.as_object().contains("jwt")) continue;
    for (const auto& key : tenant.at("jwt").at("keys").as_array())
      kids.emplace_back(key.at("kid").as_string().c_str());
  }
  return kids;
}

// tg-control refuses KeyRequests within --jwks-refetch-interval of a fetch's
// start, the startup fetch included, and a proxy does not ask again for 30 s:
// a test that needs its KeyRequest to fetch waits that window out. `fetched`:
// a moment after the JWKS server had served that fetch.
void wait_out_refetch_interval(Clock::time_point fetched) {
  std::this_thread::sleep_until(fetched + kRefetchInterval + 200ms);
}

}  // namespace

TEST_CASE("jwks rotation end to end: a new kid is 401 until the proxy's KeyRequest brings the new set, and a burst "
          "of such tokens on two proxies costs one fetch",
          "[proxy][control][auth][jwt]") {
  const KeyPair key_a = KeyPair::ec(), key_b = KeyPair::ec();
  Backend jwks_server("jwks", jwks_answer(jwks({key_a.jwk("a", "ES256")})));
  Backend backend("acme-1");
  ControlProcess control(control_options());
  apply_world(control, world("http://" + jwks_server.address() + "/jwks", backend.address()));
  REQUIRE(poll_for(10s, [&] { return jwks_server.requests() >= 1; }));
  const auto first_fetch_seen = Clock::now();

  TempDir state1("tg-itest-jwks-p1"), state2("tg-itest-jwks-p2");
  auto p1 = subscribed_proxy(control.grpc_address(), "p1", state1.path());
  auto p2 = subscribed_proxy(control.grpc_address(), "p2", state2.path());
  const std::string token_a = token(key_a, "a");
  REQUIRE(poll_for(10s, [&] { return status_with(*p1, token_a) == 200 && status_with(*p2, token_a) == 200; }, 20ms));
  CHECK(kids_on(*p1) == std::vector<std::string>{"a"});
  CHECK(jwks_server.requests() == 1);

  // The issuer rotates: its set now holds key B only.
  wait_out_refetch_interval(first_fetch_seen);
  jwks_server.set_behaviour(jwks_answer(jwks({key_b.jwk("b", "ES256")})));
  const std::string token_b = token(key_b, "b");
  // Nothing asked for B yet: the first B token is refused as an unknown kid.
  CHECK(status_with(*p1, token_b) == 401);
  // A burst on both proxies while the new set is on its way.
  for (int i = 0; i < 10; ++i) {
    status_with(*p1, token_b);
    status_with(*p2, token_b);
  }
  REQUIRE(poll_for(10s, [&] { return status_with(*p1, token_b) == 200 && status_with(*p2, token_b) == 200; }, 20ms));
  CHECK(kids_on(*p1) == std::vector<std::string>{"b"});
  CHECK(kids_on(*p2) == std::vector<std::string>{"b"});
  // The old key is gone with the old set.
  CHECK(status_with(*p1, token_a) == 401);

  // Each proxy asked at most once (per worker, every 30 s); tg-control
  // fetched once for all of them and limited the rest.
  const double asked = p1->metrics().sum("tg_auth_key_requests_total") + p2->metrics().sum("tg_auth_key_requests_total");
  CHECK(p1->metrics().sum("tg_auth_key_requests_total") == 1);
  CHECK(asked <= 2);
  REQUIRE(poll_for(5s, [&] {
    return control_metric(control, "tg_control_jwks_key_requests_total", {{"result", "fetched"}}) +
               control_metric(control, "tg_control_jwks_key_requests_total", {{"result", "limited"}}) ==
           asked;
  }, 20ms));
  CHECK(control_metric(control, "tg_control_jwks_key_requests_total", {{"result", "fetched"}}) == 1);
  CHECK(control_metric(control, "tg_control_jwks_fetches_total", {{"result", "changed"}}) == 2);
  CHECK(jwks_server.requests() == 2);
  // The refusals are counted for the route's tenant.
  CHECK(p1->metrics().sum("tg_auth_failures_total",
                          {{"tenant", "acme"}, {"route", "secure"}, {"reason", "unknown_kid"}}) >= 2);
}

TEST_CASE("jwks rotation end to end: with the JWKS server down the fetch fails and the last good set stays",
          "[proxy][control][auth][jwt]") {
  const KeyPair key_a = KeyPair::ec(), stranger = KeyPair::ec();
  Backend jwks_server("jwks", jwks_answer(jwks({key_a.jwk("a", "ES256")})));
  Backend backend("acme-1");
  ControlProcess control(control_options());
  apply_world(control, world("http://" + jwks_server.address() + "/jwks", backend.address()));
  REQUIRE(poll_for(10s, [&] { return jwks_server.requests() >= 1; }));
  const auto first_fetch_seen = Clock::now();
  TempDir state("tg-itest-jwks-down");
  auto proxy = subscribed_proxy(control.grpc_address(), "p1", state.path());
  const std::string token_a = token(key_a, "a");
  REQUIRE(poll_for(10s, [&] { return status_with(*proxy, token_a) == 200; }, 20ms));

  jwks_server.stop();
  wait_out_refetch_interval(first_fetch_seen);
  // A token under a kid nobody has: the proxy asks, tg-control's fetch fails.
  CHECK(status_with(*proxy, token(stranger, "x")) == 401);
  REQUIRE(poll_for(10s, [&] {
    return control_metric(control, "tg_control_jwks_fetches_total", {{"result", "failed"}}) >= 1;
  }, 20ms));
  CHECK(control_metric(control, "tg_control_jwks_key_requests_total", {{"result", "fetched"}}) == 1);
  CHECK(control.log().find("the last good keys stay in force") != std::string::npos);
  CHECK(status_with(*proxy, token_a) == 200);

  // A later table (any change of the tenant) still carries key A.
  const auto version = proxy->metrics().sum("tg_config_version");
  const TgctlResult patched = tgctl(control, {"tenants", "patch", "acme", "--label", "tier=gold"});
  INFO(patched.describe());
  REQUIRE(patched.exit_code == 0);
  REQUIRE(poll_for(5s, [&] { return proxy->metrics().sum("tg_config_version") > version; }, 20ms));
  CHECK(kids_on(*proxy) == std::vector<std::string>{"a"});
  CHECK(status_with(*proxy, token_a) == 200);
}
