// --token-file: Admin calls need `authorization: Bearer <token>`, else
// UNAUTHENTICATED; the token's role decides which calls it may make
// (PERMISSION_DENIED otherwise); NAME/ROLE is the actor in the audit log.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

TEST_CASE("unauthenticated calls are refused, the right token is accepted", "[control][auth]") {
  ControlOptions options;
  options.tokens = "# operators\nops s3cret-ops\nci s3cret-ci\ns3cret-unnamed\n";
  ControlProcess control(options);
  const auto ops_token = control.write("ops.token", "s3cret-ops\n");
  const auto ci_token = control.write("ci.token", "ci s3cret-ci\n");  // a line copied from the server's file
  const auto wrong_token = control.write("wrong.token", "s3cret-nope\n");

  const TgctlResult none = tgctl(control, {"tenants", "create", "acme"});
  INFO(none.describe());
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("tenants create: UNAUTHENTICATED") != std::string::npos);

  TgctlOptions wrong;
  wrong.token_file = wrong_token.string();
  const TgctlResult refused = tgctl(control, {"tenants", "list"}, wrong);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("UNAUTHENTICATED") != std::string::npos);

  TgctlOptions ops;
  ops.token_file = ops_token.string();
  const TgctlResult created = tgctl(control, {"tenants", "create", "acme"}, ops);
  INFO(created.describe());
  CHECK(created.exit_code == 0);

  // TG_TOKEN_FILE works as --token-file does
  TgctlOptions ci_env;
  ci_env.env = {"TG_TOKEN_FILE=" + ci_token.string()};
  CHECK(tgctl(control, {"tenants", "create", "globex"}, ci_env).exit_code == 0);

  // a token without a name is named "admin" and has role admin
  const auto unnamed_token = control.write("unnamed.token", "s3cret-unnamed\n");
  TgctlOptions unnamed;
  unnamed.token_file = unnamed_token.string();
  CHECK(tgctl(control, {"tenants", "create", "initech"}, unnamed).exit_code == 0);
  const auto by_admin = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--actor", "admin/admin", "-o", "json"}, ops));
  REQUIRE(by_admin.entries_size() == 1);
  CHECK(by_admin.entries(0).name() == "initech");
  REQUIRE(tgctl(control, {"tenants", "delete", "initech"}, ops).exit_code == 0);

  // nothing of the refused calls was done; the actors are the token names and roles
  const auto tenants = json_as<v1::ListTenantsResponse>(tgctl(control, {"tenants", "list", "-o", "json"}, ops));
  CHECK(tenants.tenants_size() == 2);
  const auto audit = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--kind", "tenant", "--method", "CreateTenant", "-o", "json"}, ops));
  REQUIRE(audit.entries_size() == 3);
  CHECK(audit.entries(0).name() == "initech");
  CHECK(audit.entries(0).actor() == "admin/admin");
  CHECK(audit.entries(1).name() == "globex");
  CHECK(audit.entries(1).actor() == "ci/admin");
  CHECK(audit.entries(2).name() == "acme");
  CHECK(audit.entries(2).actor() == "ops/admin");
  const auto by_ops = json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "--actor", "ops/admin", "-o", "json"}, ops));
  REQUIRE(by_ops.entries_size() == 2);
  CHECK(by_ops.entries(0).method() == "DeleteTenant");
  CHECK(by_ops.entries(1).name() == "acme");
}

TEST_CASE("without --token-file every call is allowed and the actor is anonymous", "[control][auth]") {
  ControlProcess control;
  const auto token = control.write("any.token", "whatever\n");
  TgctlOptions with_token;
  with_token.token_file = token.string();
  CHECK(tgctl(control, {"tenants", "create", "acme"}, with_token).exit_code == 0);
  const auto audit = json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "-o", "json"}));
  REQUIRE(audit.entries_size() == 1);
  CHECK(audit.entries(0).actor() == "anonymous");
}

TEST_CASE("token roles: a viewer lists but cannot create, a proxy token cannot list, an admin can", "[control][auth]") {
  ControlOptions options;
  options.tokens = "ops s3cret-ops admin\nro s3cret-ro viewer\nedge s3cret-edge proxy\n";
  ControlProcess control(options);
  TgctlOptions ops, ro, edge;
  ops.token_file = control.write("ops.token", "s3cret-ops\n").string();
  ro.token_file = control.write("ro.token", "ro s3cret-ro viewer\n").string();  // a line copied from the server's file
  edge.token_file = control.write("edge.token", "s3cret-edge\n").string();

  const TgctlResult by_viewer = tgctl(control, {"tenants", "create", "acme"}, ro);
  INFO(by_viewer.describe());
  CHECK(by_viewer.exit_code == 1);  // a refusal (docs/tgctl.md)
  CHECK(by_viewer.err == "tgctl: tenants create: PERMISSION_DENIED: token 'ro' has role viewer: CreateTenant may "
                         "change the registry and needs role admin; use a token of that role (the token in " +
                             ro.token_file + " lacks it)\n");
  const TgctlResult by_admin = tgctl(control, {"tenants", "create", "acme"}, ops);
  INFO(by_admin.describe());
  REQUIRE(by_admin.exit_code == 0);

  const auto listed = json_as<v1::ListTenantsResponse>(tgctl(control, {"tenants", "list", "-o", "json"}, ro));
  REQUIRE(listed.tenants_size() == 1);
  CHECK(listed.tenants(0).id() == "acme");
  CHECK(tgctl(control, {"tenants", "list"}, ops).exit_code == 0);
  CHECK(tgctl(control, {"proxies", "list"}, ro).exit_code == 0);

  const TgctlResult by_proxy = tgctl(control, {"tenants", "list"}, edge);
  INFO(by_proxy.describe());
  CHECK(by_proxy.exit_code == 1);
  CHECK(by_proxy.err.find("tenants list: PERMISSION_DENIED: token 'edge' has role proxy: Admin calls need admin "
                          "(writes) or viewer (reads); ListTenants needs viewer or admin") != std::string::npos);

  // the audit shows who did it and with which role
  const auto audit = json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "-o", "json"}, ro));
  REQUIRE(audit.entries_size() == 1);
  CHECK(audit.entries(0).actor() == "ops/admin");
  CHECK(audit.entries(0).method() == "CreateTenant");

  // a viewer token may not open the table stream
  {
    auto stub = v1::Discovery::NewStub(grpc::CreateChannel(control.grpc_address(), grpc::InsecureChannelCredentials()));
    auto context = admin_context("s3cret-ro");
    auto stream = stub->StreamTable(context.get());
    v1::StreamTableResponse update;
    CHECK_FALSE(stream->Read(&update));
    const grpc::Status status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(status.error_message() == "token 'ro' has role viewer: Discovery.StreamTable needs role proxy or admin");
  }

  // refusals are counted by method and code, refused streams by reason
  const HttpResponse response = http_get(control.http_port(), "/metrics", {{"Connection", "close"}});
  REQUIRE(response.status == 200);
  const PrometheusText text = PrometheusText::parse(response.body);
  INFO(text.describe("tg_control_admin_calls_total"));
  CHECK(text.sum("tg_control_admin_calls_total", {{"method", "CreateTenant"}, {"code", "PERMISSION_DENIED"}}) == 1);
  CHECK(text.sum("tg_control_admin_calls_total", {{"method", "ListTenants"}, {"code", "PERMISSION_DENIED"}}) == 1);
  CHECK(text.sum("tg_control_table_streams_refused_total", {{"reason", "permission_denied"}}) == 1);
}

TEST_CASE("token roles: an unknown role stops tg-control at start naming FILE:LINE", "[control][auth]") {
  ControlOptions options;
  options.tokens = "ops s3cret-ops\nedge s3cret-edge proxies\n";
  ControlProcess control(options, false);
  const auto status = control.start_expecting_exit();
  INFO(control.log());
  REQUIRE(status.has_value());
  CHECK_FALSE(status->success());
  CHECK(control.log().find(control.token_file().string() + ":2: unknown role \"proxies\" (one of: admin, proxy, viewer)") !=
        std::string::npos);
}
