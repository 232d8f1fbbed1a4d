// --token-file: Admin calls need `authorization: Bearer <token>`, else
// UNAUTHENTICATED; the token's name is the actor in the audit log.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

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

  // a token without a name acts as "admin"
  const auto unnamed_token = control.write("unnamed.token", "s3cret-unnamed\n");
  TgctlOptions unnamed;
  unnamed.token_file = unnamed_token.string();
  CHECK(tgctl(control, {"tenants", "create", "initech"}, unnamed).exit_code == 0);
  const auto by_admin = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--actor", "admin", "-o", "json"}, ops));
  REQUIRE(by_admin.entries_size() == 1);
  CHECK(by_admin.entries(0).name() == "initech");
  REQUIRE(tgctl(control, {"tenants", "delete", "initech"}, ops).exit_code == 0);

  // nothing of the refused calls was done; the actors are the token names
  const auto tenants = json_as<v1::ListTenantsResponse>(tgctl(control, {"tenants", "list", "-o", "json"}, ops));
  CHECK(tenants.tenants_size() == 2);
  const auto audit = json_as<v1::ListAuditResponse>(
      tgctl(control, {"audit", "list", "--kind", "tenant", "--method", "CreateTenant", "-o", "json"}, ops));
  REQUIRE(audit.entries_size() == 3);
  CHECK(audit.entries(0).name() == "initech");
  CHECK(audit.entries(0).actor() == "admin");
  CHECK(audit.entries(1).name() == "globex");
  CHECK(audit.entries(1).actor() == "ci");
  CHECK(audit.entries(2).name() == "acme");
  CHECK(audit.entries(2).actor() == "ops");
  const auto by_ops = json_as<v1::ListAuditResponse>(tgctl(control, {"audit", "list", "--actor", "ops", "-o", "json"}, ops));
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
