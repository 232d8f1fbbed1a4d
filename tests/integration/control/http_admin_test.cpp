// POST /v1/admin/<Method> on tg-control's HTTP port (docs/api.md): the Admin
// calls in proto3 JSON, answered by the same handlers as gRPC (token check,
// roles, audit actor), gRPC statuses mapped to HTTP as grpc-gateway maps
// them, errors as {"code", "message", "details"}, requests counted by method
// and status on /metrics.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

// One request on a fresh connection.
HttpResponse admin_post(const ControlProcess& control, const std::string& method, const std::string& body,
                        const std::string& token = {}) {
  HttpClient client(control.http_port());
  HeaderList headers{{"Content-Type", "application/json"}, {"Connection", "close"}};
  if (!token.empty()) headers.add("Authorization", "Bearer " + token);
  return client.post("/v1/admin/" + method, body, headers);
}

template <class T>
T json_body(const HttpResponse& response) {
  T message;
  const auto status = google::protobuf::util::JsonStringToMessage(response.body, &message);
  if (!status.ok())
    throw std::runtime_error("not a " + message.GetDescriptor()->name() + ": " + std::string(status.message()) +
                             "\n" + response.describe());
  return message;
}

// The error body: {"code": N, "message": "...", "details": []}.
struct ErrorBody {
  int code = -1;
  std::string message;
  bool has_details = false;
};

ErrorBody error_body(const HttpResponse& response) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(response.body, &object).ok())
    throw std::runtime_error("the error body is not JSON:\n" + response.describe());
  ErrorBody error;
  const auto& fields = object.fields();
  if (auto it = fields.find("code"); it != fields.end()) error.code = static_cast<int>(it->second.number_value());
  if (auto it = fields.find("message"); it != fields.end()) error.message = it->second.string_value();
  if (auto it = fields.find("details"); it != fields.end())
    error.has_details = it->second.has_list_value() && it->second.list_value().values_size() == 0;
  return error;
}

double http_admin_count(const ControlProcess& control, const std::string& method, const std::string& code) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body)
      .sum("tg_control_http_admin_requests_total", {{"method", method}, {"code", code}});
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("HTTP JSON Admin: create a tenant, list and get it, then a service, a route and an instance, and discover",
          "[control][http][http-admin]") {
  ControlProcess control;
  const HttpResponse created = admin_post(control, "CreateTenant", R"({"tenant": {"id": "acme", "labels": {"tier": "gold"}}})");
  INFO(created.describe());
  REQUIRE(created.status == 200);
  CHECK(created.header("Content-Type") == "application/json");
  CHECK(json_body<v1::Tenant>(created).id() == "acme");
  CHECK(contains(created.body, "\"labels\":{\"tier\":\"gold\"}"));

  const auto listed = json_body<v1::ListTenantsResponse>(admin_post(control, "ListTenants", "{}"));
  REQUIRE(listed.tenants_size() == 1);
  CHECK(listed.tenants(0).labels().at("tier") == "gold");
  const auto got = json_body<v1::Tenant>(admin_post(control, "GetTenant", R"({"id": "acme"})"));
  CHECK(got.id() == "acme");
  CHECK(got.meta().source().kind() == v1::Source::KIND_API);
  // An empty body is the empty request.
  CHECK(json_body<v1::ListTenantsResponse>(admin_post(control, "ListTenants", "")).tenants_size() == 1);
  // Nothing listed: the list is there, empty.
  CHECK(contains(admin_post(control, "ListRoutes", "{}").body, "{\"routes\":[]}"));

  REQUIRE(admin_post(control, "CreateService", R"({"service": {"name": "acme-web", "tenant": "acme"}})").status == 200);
  REQUIRE(admin_post(control, "CreateRoute",
                     R"({"route": {"name": "acme", "match": {"host": "acme.example.com"}, "service": "acme-web"}})")
              .status == 200);
  REQUIRE(admin_post(control, "RegisterInstance",
                     R"({"instance": {"service": "acme-web", "address": "127.0.0.1:9001"}, "heartbeat_ttl_ms": 30000})")
              .status == 200);
  const auto discovered =
      json_body<v1::DiscoverInstancesResponse>(admin_post(control, "DiscoverInstances", R"({"service": "acme-web"})"));
  REQUIRE(discovered.instances_size() == 1);
  CHECK(discovered.instances(0).id() == "acme-web/127.0.0.1:9001");
  // Objects made over HTTP are the registry's: tgctl sees them.
  CHECK(json_as<v1::ListRoutesResponse>(tgctl(control, {"routes", "list", "-o", "json"})).routes_size() == 1);

  const HttpResponse missing = admin_post(control, "GetTenant", R"({"id": "nobody"})");
  CHECK(missing.status == 404);
  CHECK(error_body(missing).code == 5);
  const HttpResponse exists = admin_post(control, "CreateTenant", R"({"tenant": {"id": "acme"}})");
  CHECK(exists.status == 409);
  CHECK(error_body(exists).code == 6);
  // FAILED_PRECONDITION (services belong to it): 400, as grpc-gateway maps it.
  const HttpResponse in_use = admin_post(control, "DeleteTenant", R"({"id": "acme"})");
  CHECK(in_use.status == 400);
  CHECK(error_body(in_use).code == 9);

  CHECK(http_admin_count(control, "CreateTenant", "200") == 1);
  CHECK(http_admin_count(control, "CreateTenant", "409") == 1);
  CHECK(http_admin_count(control, "GetTenant", "404") == 1);
}

TEST_CASE("HTTP JSON Admin: bad requests get 400, 404, 405, 413 with the JSON error body", "[control][http][http-admin]") {
  ControlProcess control;
  REQUIRE(admin_post(control, "CreateService", R"({"service": {"name": "web"}})").status == 200);

  SECTION("a route with a bad value: 400, code 3, the field named") {
    const HttpResponse bad = admin_post(
        control, "CreateRoute", R"({"route": {"name": "r", "match": {"host": "bad host!"}, "service": "web"}})");
    INFO(bad.describe());
    CHECK(bad.status == 400);
    const ErrorBody error = error_body(bad);
    CHECK(error.code == 3);
    CHECK(error.message.rfind("route.match.host: ", 0) == 0);
    CHECK(error.has_details);
  }
  SECTION("a route with an unknown field: 400, code 3, the field named") {
    const HttpResponse bad =
        admin_post(control, "CreateRoute", R"({"route": {"name": "r", "servce": "web"}})");
    INFO(bad.describe());
    CHECK(bad.status == 400);
    const ErrorBody error = error_body(bad);
    CHECK(error.code == 3);
    CHECK(contains(error.message, "servce"));
  }
  SECTION("a body that is not JSON: 400, code 3") {
    const HttpResponse bad = admin_post(control, "CreateRoute", R"({"route": {"name": "r",)");
    INFO(bad.describe());
    CHECK(bad.status == 400);
    const ErrorBody error = error_body(bad);
    CHECK(error.code == 3);
    CHECK(contains(error.message, "body: not a tenantgate.v1.CreateRouteRequest in proto3 JSON"));
  }
  SECTION("an unknown method: 404, code 5, a suggestion") {
    const HttpResponse unknown = admin_post(control, "CreateRoutes", "{}");
    CHECK(unknown.status == 404);
    const ErrorBody error = error_body(unknown);
    CHECK(error.code == 5);
    CHECK(contains(error.message, "did you mean \"CreateRoute\"?"));
    CHECK(http_admin_count(control, "unknown", "404") == 1);
  }
  SECTION("GET: 405, code 12, Allow: POST") {
    const HttpResponse get = http_get(control.http_port(), "/v1/admin/ListTenants", {{"Connection", "close"}});
    CHECK(get.status == 405);
    CHECK(get.header("Allow") == "POST");
    CHECK(error_body(get).code == 12);
  }
  SECTION("a body over 1 MiB: 413, and the connection closes") {
    const std::string yaml(1024 * 1024, '#');
    HttpClient client(control.http_port());
    const HttpResponse large = client.post("/v1/admin/Apply", R"({"yaml": ")" + yaml + R"("})",
                                           {{"Content-Type", "application/json"}});
    INFO(large.describe());
    CHECK(large.status == 413);
    CHECK(error_body(large).code == 8);
    CHECK(client.wait_for_close(5s));
  }
  // The server-wide paths are as they were.
  CHECK(http_get(control.http_port(), "/healthz", {{"Connection", "close"}}).status == 200);
}

TEST_CASE("HTTP JSON Admin: the bearer token and its role, and the audit actor", "[control][http][http-admin][auth]") {
  ControlOptions options;
  options.tokens = "ops s3cret-ops admin\nro s3cret-ro viewer\n";
  ControlProcess control(options);

  const HttpResponse anonymous = admin_post(control, "ListTenants", "{}");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("WWW-Authenticate") == "Bearer");
  CHECK(error_body(anonymous).code == 16);
  CHECK(admin_post(control, "ListTenants", "{}", "wrong").status == 401);

  const HttpResponse by_viewer = admin_post(control, "CreateTenant", R"({"tenant": {"id": "acme"}})", "s3cret-ro");
  CHECK(by_viewer.status == 403);
  CHECK(error_body(by_viewer).code == 7);
  CHECK(contains(error_body(by_viewer).message, "token 'ro' has role viewer"));
  CHECK(admin_post(control, "ListTenants", "{}", "s3cret-ro").status == 200);

  const HttpResponse by_admin = admin_post(control, "CreateTenant", R"({"tenant": {"id": "acme"}})", "s3cret-ops");
  INFO(by_admin.describe());
  REQUIRE(by_admin.status == 200);
  // The write's audit row names the token's actor, as a gRPC call's would.
  const auto audit = json_body<v1::ListAuditResponse>(
      admin_post(control, "ListAudit", R"({"kind": "tenant", "name": "acme"})", "s3cret-ro"));
  REQUIRE(audit.entries_size() == 1);
  CHECK(audit.entries(0).actor() == "ops/admin");
  CHECK(audit.entries(0).method() == "CreateTenant");

  // The gRPC side counted the refusals too (the same handlers).
  const PrometheusText metrics = PrometheusText::parse(http_get(control.http_port(), "/metrics").body);
  CHECK(metrics.sum("tg_control_admin_calls_total", {{"method", "ListTenants"}, {"code", "UNAUTHENTICATED"}}) == 2);
  CHECK(metrics.sum("tg_control_admin_calls_total", {{"method", "CreateTenant"}, {"code", "PERMISSION_DENIED"}}) == 1);
  CHECK(metrics.sum("tg_control_http_admin_requests_total", {{"method", "ListTenants"}, {"code", "401"}}) == 2);
}
