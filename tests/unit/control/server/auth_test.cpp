#include "server/auth.hpp"

#include <catch2/catch.hpp>

namespace tg::control {
namespace {

TEST_CASE("auth: token file format and actors", "[auth]") {
  const TokenSet tokens = TokenSet::parse("# admins\n\nalice  tok-alice\r\n\ttok-lone\nbob\ttok-bob\n", "t");
  CHECK(tokens.enabled());
  CHECK(tokens.size() == 3);
  CHECK(tokens.authenticate("Bearer tok-alice") == std::optional<std::string>("alice"));
  CHECK(tokens.authenticate("Bearer tok-lone") == std::optional<std::string>("admin"));
  CHECK(tokens.authenticate("Bearer tok-bob") == std::optional<std::string>("bob"));
  CHECK_FALSE(tokens.authenticate("Bearer tok-alic"));
  CHECK_FALSE(tokens.authenticate("Bearer tok-alicee"));
  CHECK_FALSE(tokens.authenticate("bearer tok-alice"));
  CHECK_FALSE(tokens.authenticate("tok-alice"));
  CHECK_FALSE(tokens.authenticate("Bearer "));
  CHECK_FALSE(tokens.authenticate(std::nullopt));
}

TEST_CASE("auth: without a token file everyone is anonymous", "[auth]") {
  const TokenSet none;
  CHECK_FALSE(none.enabled());
  CHECK(none.authenticate(std::nullopt) == std::optional<std::string>("anonymous"));
}

TEST_CASE("auth: bad token files are refused with a line number", "[auth]") {
  CHECK_THROWS_WITH(TokenSet::parse("a b c\n", "t.txt"), Catch::StartsWith("t.txt:1: expected"));
  CHECK_THROWS_WITH(TokenSet::parse("x\n# c\nname x\n", "t.txt"), Catch::StartsWith("t.txt:3: this token is listed twice"));
  CHECK_THROWS_WITH(TokenSet::parse("# nothing\n", "t.txt"), Catch::Contains("no tokens"));
  CHECK_THROWS(TokenSet::load_file("/nonexistent/tokens"));
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
