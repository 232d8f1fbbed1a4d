// Tenant credentials end to end: the real tg-control, two real tg-proxy
// subscribed to it and a backend. A key made with tgctl authenticates on both
// proxies (the hash travels in the table), the backend sees the verified
// tenant whatever X-Tenant-ID the client sent, another tenant's key is 403,
// and a key revoked with tgctl stops working on both proxies within a second.
#include "control/support/control_process.hpp"
#include "control/support/subscribed_proxy.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend_process.hpp"
#include "support/http_client.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace std::chrono_literals;
using namespace tg::itest;

namespace {

ControlOptions control_options() {
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  return options;
}

// The secret `tgctl tenants credentials create` printed (its "tg_..." line).
std::string create_key(const ControlProcess& control, const std::string& tenant, const std::string& name) {
  const TgctlResult created =
      tgctl(control, {"tenants", "credentials", "create", tenant, name, "--kind", "api_key", "--take-ownership"});
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
  std::istringstream lines(created.out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("tg_")) return line;
  FAIL("no secret printed: " << created.out);
  return {};
}

// The status GET /whoami on secure.example answers with `key` (no key: "").
int status_with(const ProxyProcess& proxy, const std::string& key) {
  try {
    HttpClient client(proxy.port(), 5s);
    HeaderList headers{{"Host", "secure.example"}};
    if (!key.empty()) headers.add("X-Api-Key", key);
    return client.get("/whoami", headers).status;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

TEST_CASE("credentials end to end: a key made with tgctl works on two proxies, only for its tenant, and its "
          "revocation reaches both within a second",
          "[proxy][control][auth]") {
  BackendProcess backend("acme-1", 60s);
  ControlProcess control(control_options());
  const std::string yaml =
      "tenants:\n  - id: acme\n  - id: globex\n"
      "services:\n"
      "  - name: web\n    tenant: acme\n    instances:\n      - { id: acme-1, address: " + backend.address() + " }\n"
      "  - name: other\n    tenant: globex\n    instances:\n      - { id: globex-1, address: " + backend.address() + " }\n"
      "routes:\n"
      "  - { name: secure, match: { host: secure.example }, service: web, auth: required }\n"
      "  - { name: open, match: { host: open.example }, service: other }\n";
  const TgctlResult applied = tgctl(control, {"apply", "-f", control.write("auth.yaml", yaml).string()});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);
  TempDir state1("tg-itest-cred-p1"), state2("tg-itest-cred-p2");
  auto p1 = subscribed_proxy(control.grpc_address(), "p1", state1.path());
  auto p2 = subscribed_proxy(control.grpc_address(), "p2", state2.path());
  REQUIRE(poll_for(10s, [&] { return answer(*p1, "open.example") == "acme-1" && answer(*p2, "open.example") == "acme-1"; }));

  // No key: 401 with the bearer challenge, on both.
  for (const auto* proxy : {p1.get(), p2.get()}) {
    HttpClient client(proxy->port(), 5s);
    const HttpResponse refused = client.get("/whoami", {{"Host", "secure.example"}});
    CHECK(refused.status == 401);
    CHECK(refused.header("WWW-Authenticate").starts_with("Bearer realm=\"tenantgate\""));
    CHECK(parse_error(refused).error == "unauthenticated");
  }

  const std::string acme_key = create_key(control, "acme", "ci");
  const std::string globex_key = create_key(control, "globex", "ci");
  REQUIRE(poll_for(5s, [&] { return status_with(*p1, acme_key) == 200 && status_with(*p2, acme_key) == 200; }));

  // The backend sees the verified tenant, not the client's claim, and no key.
  {
    HttpClient client(p1->port(), 5s);
    const HttpResponse ok =
        client.get("/whoami", {{"Host", "secure.example"}, {"X-Api-Key", acme_key}, {"X-Tenant-ID", "globex"}});
    REQUIRE(ok.status == 200);
    const EchoedRequest seen = parse_echo(ok);
    CHECK(seen.headers.get_all("x-tenant-id") == std::vector<std::string>{"acme"});
    CHECK(seen.headers.get_all("x-api-key").empty());
  }
  // Another tenant's good key: 403 forbidden.
  {
    HttpClient client(p2->port(), 5s);
    const HttpResponse forbidden = client.get("/whoami", {{"Host", "secure.example"}, {"X-Api-Key", globex_key}});
    CHECK(forbidden.status == 403);
    CHECK(parse_error(forbidden).error == "forbidden");
  }

  // Revoked with tgctl: both proxies refuse the key within a second.
  const TgctlResult deleted = tgctl(control, {"tenants", "credentials", "delete", "acme", "ci"});
  INFO(deleted.describe());
  REQUIRE(deleted.exit_code == 0);
  const auto revoked_at = std::chrono::steady_clock::now();
  REQUIRE(poll_for(5s, [&] { return status_with(*p1, acme_key) == 401 && status_with(*p2, acme_key) == 401; }, 10ms));
  const auto took = std::chrono::steady_clock::now() - revoked_at;
  INFO("revocation reached both proxies after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 1s);
}
