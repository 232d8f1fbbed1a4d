// Inputs on which yaml-cpp 0.7's LoadAll never returns (found by
// fuzz_yaml_loader): the loader must answer at once.
#include "config/loader.hpp"

#include <catch2/catch.hpp>

TEST_CASE("inputs that hang YAML::LoadAll load at once", "[config][errors]") {
  for (std::string_view text : {",", ",\n", "tenants: []\n,\n"}) {
    INFO('"' << text << '"');
    const auto result = tg::config::load_string(text, "t.yaml");
    // Whatever the verdict, it comes back (and errors carry the file name).
    for (const auto& error : result.errors) CHECK(error.to_string().rfind("t.yaml", 0) == 0);
  }
}

TEST_CASE("a document after an explicit end marker is a second document", "[config][errors]") {
  const auto result = tg::config::load_string("tenants: []\n...\nservices: []\n", "t.yaml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].to_string().rfind("t.yaml:3:1: a second YAML document", 0) == 0);
}
