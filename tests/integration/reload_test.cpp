// SIGHUP reload (contract "Signals"): a good file swaps the table under live
// connections, a bad one is rejected and the old table keeps serving.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"

#include <signal.h>

#include <filesystem>

using namespace tg::itest;

namespace {

std::string one_route(const Backend& old_backend) {
  return ConfigYaml()
      .service("old", {old_backend.address()})
      .route("old-route", "{ path_prefix: /old/ }", "old")
      .str();
}

std::string two_routes(const Backend& old_backend, const Backend& new_backend) {
  return ConfigYaml()
      .service("old", {old_backend.address()})
      .service("new", {new_backend.address()})
      .route("old-route", "{ path_prefix: /old/ }", "old")
      .route("new-route", "{ path_prefix: /new/ }", "new")
      .str();
}

// The reload counter moves once the main thread has the new table; each
// worker installs it a moment later (a posted task). So the first requests
// after reload() may still see the old table: poll, on `client`, until
// `target` is answered by `backend_name` (or, with "404", by no route).
bool answers_soon(HttpClient& client, const std::string& target, const std::string& backend_name) {
  return poll_for(2s, [&] {
    const HttpResponse response = client.get(target);
    if (backend_name == "404") return response.status == 404;
    return response.status == 200 && response.header("x-backend-name") == backend_name;
  }, 10ms);
}

}  // namespace

TEST_CASE("SIGHUP with a good file: the new route answers", "[proxy][reload]") {
  Backend old_backend("old");
  Backend new_backend("new");
  ProxyProcess proxy(one_route(old_backend));
  HttpClient client(proxy.port());
  check_error_response(client.get("/new/x"), 404, "no_route");

  proxy.write_config(two_routes(old_backend, new_backend));
  REQUIRE(proxy.reload());
  HttpClient fresh(proxy.port());
  CHECK(answers_soon(fresh, "/new/x", "new"));
  CHECK(fresh.get("/old/x").header("x-backend-name") == "old");

  SECTION("a route removed by a reload stops answering") {
    proxy.write_config(one_route(old_backend));
    REQUIRE(proxy.reload());
    HttpClient after(proxy.port());
    CHECK(answers_soon(after, "/new/x", "404"));
    check_error_response(after.get("/new/x"), 404, "no_route");
  }
}

TEST_CASE("SIGHUP with a bad file: rejected, the old table keeps serving", "[proxy][reload]") {
  Backend old_backend("old");
  ProxyProcess proxy(one_route(old_backend));
  const std::string before_log = proxy.process().read_log();

  SECTION("YAML syntax error") { proxy.write_config("services:\n  - name: [unclosed\n"); }
  SECTION("valid YAML, invalid config (dangling service reference)") {
    proxy.write_config(ConfigYaml()
                           .service("old", {old_backend.address()})
                           .route("old-route", "{ path_prefix: /old/ }", "no-such-service")
                           .str());
  }
  SECTION("missing file") { std::filesystem::remove(proxy.config_path()); }

  CHECK_FALSE(proxy.reload());
  HttpClient client(proxy.port());
  CHECK(client.get("/old/x").header("x-backend-name") == "old");
  CHECK(proxy.process().running());
  // The reason is logged.
  CHECK(proxy.process().read_log().size() > before_log.size());
}

TEST_CASE("an idle keep-alive connection opened before a reload still works after it", "[proxy][reload]") {
  Backend old_backend("old");
  Backend new_backend("new");
  ProxyProcess proxy(one_route(old_backend));
  HttpClient client(proxy.port());
  REQUIRE(client.get("/old/x").status == 200);

  proxy.write_config(two_routes(old_backend, new_backend));
  REQUIRE(proxy.reload());
  // Same connection: still open, and its next request sees the new table.
  const HttpResponse old_route = client.get("/old/y");
  CHECK(old_route.status == 200);
  CHECK(old_route.header("x-backend-name") == "old");
  CHECK(answers_soon(client, "/new/y", "new"));
}

TEST_CASE("a request in flight during a reload completes", "[proxy][reload]") {
  Backend old_backend("old");
  old_backend.on_path("/old/slow", Behaviour::fixed(200, "slow answer").with_delay(700ms));
  Backend new_backend("new");
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(one_route(old_backend), options);

  HttpClient client(proxy.port());
  HttpRequest slow;
  slow.target = "/old/slow";
  client.send_request(slow);
  REQUIRE(poll_for(2s, [&] { return old_backend.requests() == 1; }));

  // A reload that removes the in-flight request's route and service.
  proxy.write_config(ConfigYaml()
                         .service("new", {new_backend.address()})
                         .route("new-route", "{ path_prefix: /new/ }", "new")
                         .str());
  REQUIRE(proxy.reload());
  const HttpResponse response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "slow answer");
  // And the connection goes on with the new table.
  CHECK(answers_soon(client, "/new/x", "new"));
  check_error_response(client.get("/old/x"), 404, "no_route");
}

TEST_CASE("reloads under steady traffic lose no request", "[proxy][reload]") {
  Backend a("a");
  Backend b("b");
  const std::string config_a = single_service_config({a.address()});
  const std::string config_b = single_service_config({b.address()});
  ProxyOptions options;
  options.workers = 2;
  ProxyProcess proxy(config_a, options);
  HttpClient client(proxy.port());
  for (int round = 0; round < 6; ++round) {
    proxy.write_config(round % 2 == 0 ? config_b : config_a);
    proxy.send_signal(SIGHUP);
    // Requests keep flowing while the swap happens.
    for (int i = 0; i < 30; ++i) REQUIRE(client.get("/x").status == 200);
    REQUIRE(poll_for(5s, [&] {
      return proxy.metrics().sum("tg_config_reloads_total", {{"result", "ok"}}) == round + 1;
    }));
  }
  CHECK(a.requests() + b.requests() == 180);
  CHECK(answers_soon(client, "/x", "a"));
}
