// Inputs on which yaml-cpp 0.7's LoadAll never returns (found by
// fuzz_yaml_loader): the loader must answer at once.
#include "config/loader.hpp"

#include <catch2/catch.hpp>

#include <string_view>
#include <utility>

TEST_CASE("inputs that hang YAML::LoadAll load at once", "[config][errors]") {
  // Not YAML: each is a syntax error, reported alone with the file name
  // (docs/configuration.md: only an empty file, comments or "---" load as an
  // empty configuration).
  const std::pair<std::string_view, std::string_view> cases[] = {
      {",", "t.yaml:1:1: YAML syntax error: unexpected ','"},
      {",\n", "t.yaml:1:1: YAML syntax error: unexpected ','"},
      {"--- ,\n", "t.yaml:1:5: YAML syntax error: unexpected ','"},
      {"tenants: []\n,\n", "t.yaml:2:1: YAML syntax error: end of map not found"},
  };
  for (const auto& [text, error] : cases) {
    INFO('"' << text << '"');
    const auto result = tg::config::load_string(text, "t.yaml");
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].to_string() == error);
    CHECK_FALSE(result.config.has_value());
  }
}

TEST_CASE("a null document is an empty configuration", "[config][errors]") {
  for (std::string_view text : {"", "# only a comment\n", "---\n", "~\n"}) {
    INFO('"' << text << '"');
    const auto result = tg::config::load_string(text, "t.yaml");
    CHECK(result.errors.empty());
    REQUIRE(result.config.has_value());
    CHECK(result.config->services.empty());
  }
}

TEST_CASE("a document after an explicit end marker is a second document", "[config][errors]") {
  const auto result = tg::config::load_string("tenants: []\n...\nservices: []\n", "t.yaml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].to_string().rfind("t.yaml:3:1: a second YAML document", 0) == 0);
}
