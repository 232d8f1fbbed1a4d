#include "server/auth.hpp"

#include <catch2/catch.hpp>

namespace tg::control {
namespace {

std::optional<std::string> actor_of(const TokenSet& tokens, std::string_view header) {
  const auto principal = tokens.authenticate(header);
  if (!principal) return std::nullopt;
  return principal->actor;
}

TEST_CASE("auth: token file format and actors", "[auth]") {
  const TokenSet tokens = TokenSet::parse("# admins\n\nalice  tok-alice\r\n\ttok-lone\nbob\ttok-bob\n", "t");
  CHECK(tokens.enabled());
  CHECK(tokens.size() == 3);
  CHECK(actor_of(tokens, "Bearer tok-alice") == std::optional<std::string>("alice/admin"));
  CHECK(actor_of(tokens, "Bearer tok-lone") == std::optional<std::string>("admin/admin"));
  CHECK(actor_of(tokens, "Bearer tok-bob") == std::optional<std::string>("bob/admin"));
  CHECK(tokens.authenticate("Bearer tok-bob")->name == "bob");
  CHECK_FALSE(tokens.authenticate("Bearer tok-alic"));
  CHECK_FALSE(tokens.authenticate("Bearer tok-alicee"));
  CHECK_FALSE(tokens.authenticate("bearer tok-alice"));
  CHECK_FALSE(tokens.authenticate("tok-alice"));
  CHECK_FALSE(tokens.authenticate("Bearer "));
  CHECK_FALSE(tokens.authenticate(std::nullopt));
}

TEST_CASE("auth: NAME TOKEN ROLE lines give each token its role, 2-field lines stay admin", "[auth]") {
  const TokenSet tokens =
      TokenSet::parse("ops tok-ops\nroot tok-root admin\nedge tok-edge proxy\nro\ttok-ro\tviewer\n", "t");
  CHECK(tokens.size() == 4);
  CHECK(tokens.authenticate("Bearer tok-ops")->role == Role::admin);
  CHECK(tokens.authenticate("Bearer tok-root")->role == Role::admin);
  CHECK(tokens.authenticate("Bearer tok-edge")->role == Role::proxy);
  CHECK(tokens.authenticate("Bearer tok-ro")->role == Role::viewer);
  CHECK(actor_of(tokens, "Bearer tok-edge") == std::optional<std::string>("edge/proxy"));
  CHECK(actor_of(tokens, "Bearer tok-ro") == std::optional<std::string>("ro/viewer"));
}

TEST_CASE("auth: without a token file everyone is anonymous with role admin", "[auth]") {
  const TokenSet none;
  CHECK_FALSE(none.enabled());
  const auto anonymous = none.authenticate(std::nullopt);
  REQUIRE(anonymous);
  CHECK(anonymous->actor == "anonymous");
  CHECK(anonymous->role == Role::admin);
}

TEST_CASE("auth: bad token files are refused with a line number", "[auth]") {
  CHECK_THROWS_WITH(TokenSet::parse("a b c d\n", "t.txt"), Catch::StartsWith("t.txt:1: expected"));
  CHECK_THROWS_WITH(TokenSet::parse("x\n# c\nname x\n", "t.txt"), Catch::StartsWith("t.txt:3: this token is listed twice"));
  CHECK_THROWS_WITH(TokenSet::parse("# nothing\n", "t.txt"), Catch::Contains("no tokens"));
  CHECK_THROWS(TokenSet::load_file("/nonexistent/tokens"));
}

TEST_CASE("auth: an unknown role is a startup error naming FILE:LINE and the role", "[auth]") {
  CHECK_THROWS_WITH(TokenSet::parse("ops tok-ops\n\nedge tok-edge Proxy\n", "tokens.txt"),
                    Catch::StartsWith("tokens.txt:3: unknown role \"Proxy\" (one of: admin, proxy, viewer)"));
  CHECK_THROWS_WITH(TokenSet::parse("edge tok-edge root\n", "t"), Catch::Contains("unknown role \"root\""));
}

TEST_CASE("auth: TOKEN ROLE on a 2-field line is refused, not read as an admin named TOKEN", "[auth]") {
  CHECK_THROWS_WITH(TokenSet::parse("tok-edge proxy\n", "t"),
                    Catch::StartsWith("t:1: 2 fields are NAME TOKEN, but the token \"proxy\" is a role name"));
}

TEST_CASE("auth: roles allow what their calls need", "[auth]") {
  const Principal admin{"ops", Role::admin, "ops/admin"};
  const Principal viewer{"ro", Role::viewer, "ro/viewer"};
  const Principal proxy{"edge", Role::proxy, "edge/proxy"};
  for (Access access : {Access::read, Access::write, Access::stream}) CHECK(authorize(admin, access, "X").ok());
  CHECK(authorize(viewer, Access::read, "ListTenants").ok());
  CHECK(authorize(proxy, Access::stream, "Discovery.StreamTable").ok());

  const Status viewer_write = authorize(viewer, Access::write, "CreateTenant");
  CHECK(viewer_write.code == Code::permission_denied);
  CHECK(viewer_write.message == "token 'ro' has role viewer: CreateTenant may change the registry and needs role admin");
  const Status viewer_stream = authorize(viewer, Access::stream, "Discovery.StreamTable");
  CHECK(viewer_stream.code == Code::permission_denied);
  CHECK(viewer_stream.message == "token 'ro' has role viewer: Discovery.StreamTable needs role proxy or admin");
  const Status proxy_read = authorize(proxy, Access::read, "ListTenants");
  CHECK(proxy_read.code == Code::permission_denied);
  CHECK(proxy_read.message ==
        "token 'edge' has role proxy: Admin calls need admin (writes) or viewer (reads); ListTenants needs viewer or "
        "admin");
  CHECK(authorize(proxy, Access::write, "CreateTenant").code == Code::permission_denied);
}

TEST_CASE("auth: constant-time comparison is still a comparison", "[auth]") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK_FALSE(constant_time_equal("", "a"));
}

}  // namespace
}  // namespace tg::control
