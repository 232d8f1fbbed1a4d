// Route matching (docs/configuration.md routes; docs/life-of-a-request.md phase 3): host exact or "*.suffix", longest
// path prefix, exact path, method, header equality; strip_prefix; 404.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/proxy_process.hpp"

#include <map>
#include <memory>

using namespace tg::itest;

namespace {

// One echo backend per service, named like the service.
struct RoutingFixture {
  std::map<std::string, std::unique_ptr<Backend>> backends;

  std::string config() {
    ConfigYaml yaml;
    for (const char* name : {"host", "wild", "short", "long", "exact", "method", "header", "strip"}) {
      backends[name] = std::make_unique<Backend>(name);
      yaml.service(name, {backends[name]->address()});
    }
    yaml.route("r-host", "{ host: api.example.com, path_prefix: / }", "host")
        .route("r-wild", "{ host: \"*.tenant.test\", path_prefix: / }", "wild")
        .route("r-short", "{ path_prefix: /app/ }", "short")
        .route("r-long", "{ path_prefix: /app/admin/ }", "long")
        .route("r-exact", "{ path: /exact }", "exact")
        .route("r-method", "{ method: DELETE, path_prefix: /m/ }", "method")
        .route("r-header", "{ header: { name: X-Tenant-ID, value: acme }, path_prefix: /h/ }", "header")
        .route("r-strip", "{ path_prefix: /api/ }", "strip", {"rewrite: { strip_prefix: /api }"});
    return yaml.str();
  }
};

HttpResponse send(HttpClient& client, const std::string& method, const std::string& target,
                  const std::string& host, HeaderList headers = {}) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers = std::move(headers);
  request.headers.add("Host", host);
  return client.request(request);
}

// Which backend answered, or "404:<error kind>".
std::string routed_to(HttpClient& client, const std::string& method, const std::string& target,
                      const std::string& host, HeaderList headers = {}) {
  const HttpResponse response = send(client, method, target, host, std::move(headers));
  if (response.status == 404) return "404:" + parse_error(response).error;
  if (response.status != 200) return "status " + std::to_string(response.status) + ": " + response.body;
  return response.header("x-backend-name");
}

}  // namespace

TEST_CASE("routes match host, path, method and header", "[proxy][routing]") {
  RoutingFixture fixture;
  ProxyProcess proxy(fixture.config());
  HttpClient client(proxy.port());

  SECTION("exact host") {
    CHECK(routed_to(client, "GET", "/anything", "api.example.com") == "host");
    CHECK(routed_to(client, "GET", "/", "api.example.com") == "host");
    CHECK(routed_to(client, "GET", "/x", "other.example.com") == "404:no_route");
    CHECK(routed_to(client, "GET", "/x", "example.com") == "404:no_route");
  }
  SECTION("host matching ignores case and the port") {
    CHECK(routed_to(client, "GET", "/x", "API.Example.COM") == "host");
    CHECK(routed_to(client, "GET", "/x", "api.example.com:8080") == "host");
  }
  SECTION("wildcard host *.suffix") {
    CHECK(routed_to(client, "GET", "/x", "a.tenant.test") == "wild");
    CHECK(routed_to(client, "GET", "/x", "deep.sub.tenant.test") == "wild");
    CHECK(routed_to(client, "GET", "/x", "tenant.test") == "404:no_route");
    CHECK(routed_to(client, "GET", "/x", "atenant.test") == "404:no_route");
  }
  SECTION("longest path prefix wins") {
    CHECK(routed_to(client, "GET", "/app/admin/users", "any.test") == "long");
    CHECK(routed_to(client, "GET", "/app/admin/", "any.test") == "long");
    CHECK(routed_to(client, "GET", "/app/users", "any.test") == "short");
    CHECK(routed_to(client, "GET", "/app/adminx", "any.test") == "short");
    CHECK(routed_to(client, "GET", "/app/", "any.test") == "short");
    CHECK(routed_to(client, "GET", "/app", "any.test") == "404:no_route");
  }
  SECTION("a query string does not take part in path matching") {
    CHECK(routed_to(client, "GET", "/app/admin/?x=/y", "any.test") == "long");
    CHECK(routed_to(client, "GET", "/exact?q=1", "any.test") == "exact");
  }
  SECTION("exact path") {
    CHECK(routed_to(client, "GET", "/exact", "any.test") == "exact");
    CHECK(routed_to(client, "GET", "/exact/", "any.test") == "404:no_route");
    CHECK(routed_to(client, "GET", "/exactly", "any.test") == "404:no_route");
  }
  SECTION("method") {
    CHECK(routed_to(client, "DELETE", "/m/1", "any.test") == "method");
    CHECK(routed_to(client, "GET", "/m/1", "any.test") == "404:no_route");
    CHECK(routed_to(client, "POST", "/m/1", "any.test") == "404:no_route");
  }
  SECTION("header equality: name case-insensitive, value exact") {
    CHECK(routed_to(client, "GET", "/h/1", "any.test", {{"X-Tenant-ID", "acme"}}) == "header");
    CHECK(routed_to(client, "GET", "/h/1", "any.test", {{"x-tenant-id", "acme"}}) == "header");
    CHECK(routed_to(client, "GET", "/h/1", "any.test", {{"X-Tenant-ID", "ACME"}}) == "404:no_route");
    CHECK(routed_to(client, "GET", "/h/1", "any.test", {{"X-Tenant-ID", "globex"}}) == "404:no_route");
    CHECK(routed_to(client, "GET", "/h/1", "any.test") == "404:no_route");
  }
  SECTION("the host route does not catch other hosts' paths") {
    CHECK(routed_to(client, "GET", "/app/users", "any.test") == "short");
    CHECK(fixture.backends["host"]->requests() == 0);
  }
}

TEST_CASE("paths are normalised before matching", "[proxy][routing]") {
  // docs/http-conformance.md, Normalised: dot-segments and percent-encoding of unreserved
  // characters are normalised before the route is matched.
  RoutingFixture fixture;
  ProxyProcess proxy(fixture.config());
  HttpClient client(proxy.port());
  CHECK(routed_to(client, "GET", "/app/admin/../users", "any.test") == "short");
  CHECK(routed_to(client, "GET", "/app/./admin/x", "any.test") == "long");
  CHECK(routed_to(client, "GET", "/%61pp/admin/x", "any.test") == "long");
  CHECK(routed_to(client, "GET", "/app/x/../../exact", "any.test") == "exact");
  // A ".." above the root is dropped (RFC 3986 remove_dot_segments; "never
  // climbs above the root"): the request is matched and forwarded as
  // /app/admin/x.
  const HttpResponse above_root = send(client, "GET", "/../app/admin/x", "any.test");
  INFO(above_root.describe());
  REQUIRE(above_root.status == 200);
  CHECK(above_root.header("x-backend-name") == "long");
  CHECK(parse_echo(above_root).target == "/app/admin/x");
}

TEST_CASE("strip_prefix rewrites the path the backend sees", "[proxy][routing]") {
  RoutingFixture fixture;
  ProxyProcess proxy(fixture.config());
  HttpClient client(proxy.port());

  const HttpResponse response = send(client, "GET", "/api/v1/items?q=1", "any.test");
  REQUIRE(response.status == 200);
  CHECK(response.header("x-backend-name") == "strip");
  CHECK(parse_echo(response).target == "/v1/items?q=1");

  // Stripping the whole path leaves "/".
  const HttpResponse root = send(client, "GET", "/api/", "any.test");
  REQUIRE(root.status == 200);
  CHECK(parse_echo(root).target == "/");

  // Routes without a rewrite forward the path untouched.
  CHECK(parse_echo(send(client, "GET", "/app/admin/x?y=1", "any.test")).target == "/app/admin/x?y=1");
}

TEST_CASE("no matching route answers 404 no_route as JSON", "[proxy][routing]") {
  RoutingFixture fixture;
  ProxyOptions options;
  options.extra_args = {"--trust-request-id"};  // the client's id is kept (the test client is on loopback)
  ProxyProcess proxy(fixture.config(), options);
  HttpClient client(proxy.port());

  const HttpResponse response = send(client, "GET", "/nowhere", "any.test");
  check_error_response(response, 404, "no_route");
  CHECK(is_valid_request_id(response.header("x-request-id")));

  // The client's valid X-Request-Id is the one in the error body.
  const HttpResponse with_id = send(client, "GET", "/nowhere", "any.test", {{"X-Request-Id", "abc-123"}});
  check_error_response(with_id, 404, "no_route");
  CHECK(parse_error(with_id).request_id == "abc-123");

  // A 404 keeps the connection usable.
  CHECK(routed_to(client, "GET", "/exact", "any.test") == "exact");
  std::uint64_t backend_requests = 0;
  for (const auto& [name, backend] : fixture.backends) backend_requests += backend->requests();
  CHECK(backend_requests == 1);
}
