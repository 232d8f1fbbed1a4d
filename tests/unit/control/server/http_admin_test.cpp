// POST /v1/admin/<Method> (server/http_admin): the status mapping, the
// request checks and JSON conversions, and the whole path in one process: an
// HttpServer on the owner loop, the Admin service behind an in-process
// channel, a MemoryStore.
#include "fake_clock.hpp"
#include "server/admin_service.hpp"
#include "server/http_admin.hpp"
#include "on_owner.hpp"
#include "store/memory_store.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

net::HttpRequest post(std::string path, std::string body, net::HttpHeaders headers = {}) {
  net::HttpRequest request;
  request.method = "POST";
  request.target = path;
  request.path = std::move(path);
  request.headers = std::move(headers);
  request.body = std::move(body);
  return request;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("http admin: gRPC codes map to HTTP statuses as grpc-gateway maps them", "[http-admin]") {
  using grpc::StatusCode;
  const std::vector<std::pair<StatusCode, unsigned>> expected = {
      {StatusCode::OK, 200},
      {StatusCode::CANCELLED, 499},
      {StatusCode::UNKNOWN, 500},
      {StatusCode::INVALID_ARGUMENT, 400},
      {StatusCode::DEADLINE_EXCEEDED, 504},
      {StatusCode::NOT_FOUND, 404},
      {StatusCode::ALREADY_EXISTS, 409},
      {StatusCode::PERMISSION_DENIED, 403},
      {StatusCode::RESOURCE_EXHAUSTED, 429},
      {StatusCode::FAILED_PRECONDITION, 400},
      {StatusCode::ABORTED, 409},
      {StatusCode::OUT_OF_RANGE, 400},
      {StatusCode::UNIMPLEMENTED, 501},
      {StatusCode::INTERNAL, 500},
      {StatusCode::UNAVAILABLE, 503},
      {StatusCode::DATA_LOSS, 500},
      {StatusCode::UNAUTHENTICATED, 401},
      {static_cast<StatusCode>(20), 500},  // no such code (within the enum's value range: -32..31)
  };
  for (const auto& [code, status] : expected) {
    INFO("code " << static_cast<int>(code));
    CHECK(http_status_for(code) == status);
  }
}

TEST_CASE("http admin: errors are JSON {code, message, details}", "[http-admin]") {
  const net::HttpResponse error = http_admin_error(grpc::StatusCode::INVALID_ARGUMENT, "route.match.host: \"bad\"\n");
  CHECK(error.status == 400);
  CHECK(error.content_type == "application/json");
  CHECK(error.body == "{\"code\":3,\"message\":\"route.match.host: \\\"bad\\\"\\n\",\"details\":[]}\n");
  CHECK(error.headers.empty());
  const net::HttpResponse unauthenticated = http_admin_error(grpc::StatusCode::UNAUTHENTICATED, "no token");
  CHECK(unauthenticated.status == 401);
  CHECK(unauthenticated.headers == net::HttpHeaders{{"WWW-Authenticate", "Bearer"}});
}

TEST_CASE("http admin: a request becomes the method's message, unknown methods, fields and bad JSON are refused",
          "[http-admin]") {
  SECTION("a known method, JSON with .proto or lowerCamelCase names, the Authorization header") {
    auto decoded = decode_http_admin(post("/v1/admin/DeleteTenant", R"({"id": "acme", "takeOwnership": true})",
                                          {{"Content-Type", "application/json; charset=utf-8"},
                                           {"Authorization", "Bearer s3cret"}}));
    REQUIRE(std::holds_alternative<HttpAdminCall>(decoded));
    const HttpAdminCall& call = std::get<HttpAdminCall>(decoded);
    CHECK(call.method->full_name() == "tenantgate.v1.Admin.DeleteTenant");
    CHECK(call.authorization == "Bearer s3cret");
    v1::DeleteTenantRequest request;
    REQUIRE(request.ParseFromString(call.request_bytes));
    CHECK(request.id() == "acme");
    CHECK(request.take_ownership());
  }
  SECTION("an empty body is the empty request; no Content-Type is fine") {
    auto decoded = decode_http_admin(post("/v1/admin/ListTenants", ""));
    REQUIRE(std::holds_alternative<HttpAdminCall>(decoded));
    CHECK(std::get<HttpAdminCall>(decoded).request_bytes.empty());
    CHECK(std::get<HttpAdminCall>(decoded).authorization.empty());
  }
  SECTION("an unknown method: 404 naming it, with a suggestion") {
    auto decoded = decode_http_admin(post("/v1/admin/ListTenant", "{}"));
    REQUIRE(std::holds_alternative<net::HttpResponse>(decoded));
    const auto& response = std::get<net::HttpResponse>(decoded);
    CHECK(response.status == 404);
    CHECK(contains(response.body, "\"code\":5"));
    CHECK(contains(response.body, R"(no Admin method \"ListTenant\" (did you mean \"ListTenants\"?))"));
    CHECK(http_admin_method("/v1/admin/ListTenants/") == nullptr);
    CHECK(http_admin_method("/v1/admin/") == nullptr);
  }
  SECTION("an unknown field: 400 naming it") {
    auto decoded = decode_http_admin(post("/v1/admin/CreateTenant", R"({"tenant": {"id": "acme", "lables": {}}})"));
    REQUIRE(std::holds_alternative<net::HttpResponse>(decoded));
    const auto& response = std::get<net::HttpResponse>(decoded);
    INFO(response.body);
    CHECK(response.status == 400);
    CHECK(contains(response.body, "\"code\":3"));
    CHECK(contains(response.body, "tenantgate.v1.CreateTenantRequest"));
    CHECK(contains(response.body, "lables"));
  }
  SECTION("a body that is not JSON: 400 naming the problem") {
    auto decoded = decode_http_admin(post("/v1/admin/CreateTenant", R"({"tenant": {"id": "acme")"));
    REQUIRE(std::holds_alternative<net::HttpResponse>(decoded));
    const auto& response = std::get<net::HttpResponse>(decoded);
    INFO(response.body);
    CHECK(response.status == 400);
    CHECK(contains(response.body, "\"code\":3"));
    CHECK(contains(response.body, "body: not a tenantgate.v1.CreateTenantRequest in proto3 JSON: "));
  }
  SECTION("a value of the wrong type: 400") {
    auto decoded = decode_http_admin(post("/v1/admin/DeleteTenant", R"({"id": 7})"));
    REQUIRE(std::holds_alternative<net::HttpResponse>(decoded));
    CHECK(std::get<net::HttpResponse>(decoded).status == 400);
  }
  SECTION("another Content-Type: 415") {
    auto decoded = decode_http_admin(
        post("/v1/admin/ListTenants", "{}", {{"Content-Type", "application/x-www-form-urlencoded"}}));
    REQUIRE(std::holds_alternative<net::HttpResponse>(decoded));
    CHECK(std::get<net::HttpResponse>(decoded).status == 415);
  }
  SECTION("an Authorization header with bytes gRPC metadata cannot carry: 401") {
    auto decoded = decode_http_admin(post("/v1/admin/ListTenants", "{}", {{"Authorization", "Bearer \x80"}}));
    REQUIRE(std::holds_alternative<net::HttpResponse>(decoded));
    CHECK(std::get<net::HttpResponse>(decoded).status == 401);
  }
}

TEST_CASE("http admin: responses print every field with the .proto names", "[http-admin]") {
  const auto* method = http_admin_method("/v1/admin/ListTenants");
  REQUIRE(method != nullptr);
  CHECK(encode_http_admin(*method, v1::ListTenantsResponse().SerializeAsString()).body == "{\"tenants\":[]}\n");
  v1::ListTenantsResponse listed;
  listed.add_tenants()->set_id("acme");
  const net::HttpResponse response = encode_http_admin(*method, listed.SerializeAsString());
  CHECK(response.status == 200);
  CHECK(response.content_type == "application/json");
  INFO(response.body);
  CHECK(contains(response.body, "\"id\":\"acme\""));
  CHECK(contains(response.body, "\"labels\":{}"));
  CHECK(encode_http_admin(*method, "\xff\xff garbage").status == 500);
}

// ---- in one process

struct Harness {
  explicit Harness(HttpAdminOptions options = {}) {
    tokens = TokenSet::parse("ops s3cret-ops admin\nro s3cret-ro viewer\n", "tokens");
    registry.load(store.load());
    core = std::make_unique<Core>(store, registry);
    admin = std::make_unique<AdminService>(*core, tokens);
    http_admin = std::make_unique<HttpAdmin>(core->io(), options, [this](const std::string& method, unsigned status) {
      core->metrics().record_http_admin(method, status);
    });
    net::HttpServerOptions server_options;
    server_options.server_name = "tg-test";
    http = std::make_unique<net::HttpServer>(core->io(), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                             server_options);
    http->handle(http_admin->route(), [this](net::HttpRequest request, net::HttpRespond respond) {
      http_admin->handle(std::move(request), std::move(respond));
    });
    grpc::ServerBuilder builder;  // no port: in-process calls only
    builder.RegisterService(admin.get());
    core->start();
    server = builder.BuildAndStart();
    http_admin->connect(server->InProcessChannel(grpc::ChannelArguments()));
  }
  ~Harness() {
    http_admin->stop(std::chrono::seconds(5));
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    asio::post(core->io(), [this] { http->stop(); });
    core->stop();
  }

  http::response<http::string_body> call(const std::string& method, const std::string& body,
                                         const std::string& token = {}, http::verb verb = http::verb::post) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(http->local_endpoint());
    http::request<http::string_body> request(verb, "/v1/admin/" + method, 11);
    request.set(http::field::host, "localhost");
    request.set(http::field::content_type, "application/json");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
  }
  std::uint64_t counted(const std::string& method, unsigned status) {
    return test::on_owner(*core, [&] { return core->metrics().http_admin(method, status); });
  }

  MemoryStore store;
  test::FakeClock clock;
  Registry registry{clock};
  TokenSet tokens;
  std::unique_ptr<Core> core;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<HttpAdmin> http_admin;
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<grpc::Server> server;
};

TEST_CASE("http admin in one process: the Admin handlers answer, with the token's actor and role", "[http-admin]") {
  Harness h;
  const auto created = h.call("CreateTenant", R"({"tenant": {"id": "acme"}})", "s3cret-ops");
  INFO(created.body());
  REQUIRE(created.result_int() == 200);
  v1::Tenant tenant;
  REQUIRE(google::protobuf::util::JsonStringToMessage(created.body(), &tenant).ok());
  CHECK(tenant.id() == "acme");
  CHECK(h.store.list_audit({}).at(0).record.actor == "ops/admin");

  const auto unauthenticated = h.call("ListTenants", "{}");
  CHECK(unauthenticated.result_int() == 401);
  CHECK(unauthenticated[http::field::www_authenticate] == "Bearer");
  CHECK(contains(unauthenticated.body(), "\"code\":16"));
  const auto by_viewer = h.call("CreateTenant", R"({"tenant": {"id": "globex"}})", "s3cret-ro");
  CHECK(by_viewer.result_int() == 403);
  CHECK(contains(by_viewer.body(), "\"code\":7"));
  const auto exists = h.call("CreateTenant", R"({"tenant": {"id": "acme"}})", "s3cret-ops");
  CHECK(exists.result_int() == 409);
  const auto get = h.call("ListTenants", "{}", "s3cret-ops", http::verb::get);
  CHECK(get.result_int() == 405);
  CHECK(get[http::field::allow] == "POST");
  CHECK(contains(get.body(), "\"code\":12"));

  CHECK(h.counted("CreateTenant", 200) == 1);
  CHECK(h.counted("CreateTenant", 403) == 1);
  CHECK(h.counted("CreateTenant", 409) == 1);
  CHECK(h.counted("ListTenants", 401) == 1);
  CHECK(h.counted("unknown", 404) == 0);
  CHECK(h.call("Nope", "{}", "s3cret-ops").result_int() == 404);
  CHECK(h.counted("unknown", 404) == 1);
  // The gRPC side counted the same calls.
  CHECK(test::on_owner(*h.core, [&] { return h.core->metrics().calls("CreateTenant", Code::permission_denied); }) == 1);
}

TEST_CASE("http admin in one process: beyond max_in_flight 429, after stop 503", "[http-admin]") {
  HttpAdminOptions options;
  options.max_in_flight = 0;
  Harness busy(options);
  const auto refused = busy.call("ListTenants", "{}", "s3cret-ops");
  CHECK(refused.result_int() == 429);
  CHECK(contains(refused.body(), "\"code\":8"));

  Harness h;
  REQUIRE(h.call("ListTenants", "{}", "s3cret-ops").result_int() == 200);
  h.http_admin->stop(std::chrono::seconds(5));
  const auto stopped = h.call("ListTenants", "{}", "s3cret-ops");
  CHECK(stopped.result_int() == 503);
  CHECK(contains(stopped.body(), "\"code\":14"));
}

}  // namespace
}  // namespace tg::control
