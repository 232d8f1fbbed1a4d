// YAML-level problems: syntax, documents, duplicate keys, the error format
// (common/config/yaml_errors.cpp, model.cpp).
#include "load_helpers.hpp"

#include <string>

using tg::config::ConfigError;
using tg::config::LoadResult;
using tg::config::SourceLocation;
using tg::config::test::errors_of;
using tg::config::test::load;
using tg::config::test::load_ok;
using tg::config::test::single_error;
using Strings = std::vector<std::string>;

TEST_CASE("error format is FILE:LINE:COLUMN: message", "[config][errors]") {
  CHECK(ConfigError{SourceLocation{"a.yaml", 3, 7}, "bad"}.to_string() == "a.yaml:3:7: bad");
  CHECK(ConfigError{SourceLocation{"a.yaml", 0, 0}, "cannot read"}.to_string() == "a.yaml: cannot read");

  LoadResult result;
  CHECK(result.error_text().empty());
  result.errors.push_back(ConfigError{SourceLocation{"a.yaml", 1, 2}, "one"});
  result.errors.push_back(ConfigError{SourceLocation{"a.yaml", 3, 4}, "two"});
  CHECK(result.error_text() == "a.yaml:1:2: one\na.yaml:3:4: two");
  CHECK_FALSE(result.ok());
}

TEST_CASE("YAML syntax errors point at the 1-based position", "[config][errors]") {
  CHECK(single_error("services:\n  - name: a\n   bad: 1\n") == "t.yaml:3:4: YAML syntax error: end of sequence not found");
  CHECK(single_error("tenants: x: y\n") == "t.yaml:1:11: YAML syntax error: illegal map value");
  CHECK(single_error("a: [1,\nb: 2\n") == "t.yaml:3:1: YAML syntax error: end of sequence flow not found");
  CHECK(single_error("services:\n  - name: a\n\tlb: {}\n") ==
        "t.yaml:3:1: YAML syntax error: illegal tab when looking for indentation");
  CHECK(single_error("tenants: &x []\nroutes: *y\n") ==
        "t.yaml:2:9: YAML syntax error: the referenced anchor is not defined");
  // yaml-cpp marks the character after the bad escape.
  CHECK(single_error("tenants: [{ id: \"\\q\" }]\n") == "t.yaml:1:20: YAML syntax error: unknown escape character: q");
}

TEST_CASE("a file holds one YAML document", "[config][errors]") {
  CHECK(single_error("tenants: []\n---\nservices: []\n") ==
        "t.yaml:3:1: a second YAML document (after \"---\") is not supported; "
        "put the whole configuration in one document");
  // Empty documents around the real one are harmless.
  load_ok("---\ntenants: []\n---\n");
}

TEST_CASE("empty files are an empty configuration", "[config][errors]") {
  for (std::string_view text : {"", "\n", "# only a comment\n", "---\n", "~\n"}) {
    INFO('"' << text << '"');
    const auto config = load_ok(text);
    CHECK(config.tenants.empty());
    CHECK(config.services.empty());
    CHECK(config.routes.empty());
  }
}

TEST_CASE("the top level must be a mapping", "[config][errors]") {
  CHECK(single_error("- a\n- b\n") ==
        "t.yaml:1:1: the top level must be a mapping with the keys tenants, services and routes; got a list");
  CHECK(single_error("hello\n") ==
        "t.yaml:1:1: the top level must be a mapping with the keys tenants, services and routes; got \"hello\"");
}

TEST_CASE("duplicate keys are reported in every mapping", "[config][errors][duplicates]") {
  SECTION("top level") {
    CHECK(single_error("tenants: []\nroutes: []\ntenants: []\n") ==
          "t.yaml:3:1: duplicate key \"tenants\" (first at line 1, column 1)");
  }
  SECTION("inside a list item") {
    const char* yaml =
        "tenants:\n"
        "  - id: a\n"
        "    id: b\n";
    CHECK(single_error(yaml) == "t.yaml:3:5: tenants[0]: duplicate key \"id\" (first at line 2, column 5)");
  }
  SECTION("inside a flow mapping, nested") {
    const char* yaml =
        "tenants: [{id: a}]\n"
        "services:\n"
        "  - name: s\n"
        "    retry: { attempts: 2, attempts: 3 }\n";
    CHECK(single_error(yaml) ==
          "t.yaml:4:27: services[0].retry: duplicate key \"attempts\" (first at line 4, column 14)");
  }
  SECTION("in labels") {
    const char* yaml =
        "tenants:\n"
        "  - id: a\n"
        "    labels: { team: x, team: y }\n";
    CHECK(single_error(yaml) == "t.yaml:3:24: tenants[0].labels: duplicate key \"team\" (first at line 3, column 15)");
  }
  SECTION("in the control-only sections the proxy otherwise ignores") {
    const char* yaml =
        "alert_rules:\n"
        "  - name: x\n"
        "    name: y\n";
    CHECK(single_error(yaml) == "t.yaml:3:5: alert_rules[0]: duplicate key \"name\" (first at line 2, column 5)");
  }
  SECTION("quoted and plain spellings of a key are the same key") {
    CHECK(single_error("tenants: []\n\"tenants\": []\n") ==
          "t.yaml:2:1: duplicate key \"tenants\" (first at line 1, column 1)");
  }
  SECTION("a key repeated three times is reported twice") {
    CHECK(errors_of("routes: []\nroutes: []\nroutes: []\n") ==
          Strings{"t.yaml:2:1: duplicate key \"routes\" (first at line 1, column 1)",
                  "t.yaml:3:1: duplicate key \"routes\" (first at line 1, column 1)"});
  }
}

TEST_CASE("mapping keys must be plain strings", "[config][errors]") {
  CHECK(single_error("[a, b]: 1\n") == "t.yaml:1:1: mapping keys must be plain strings");
}

TEST_CASE("anchors and aliases work, merge keys are not supported", "[config][errors]") {
  const auto config = load_ok(
      "services:\n"
      "  - name: a\n"
      "    timeouts: &fast { connect: 100ms }\n"
      "  - name: b\n"
      "    timeouts: *fast\n");
  CHECK(config.services[1].timeouts.connect == std::chrono::milliseconds(100));
  CHECK(single_error("tenants: [{ id: a }]\n<<: { routes: [] }\n") ==
        "t.yaml:2:1: unknown top-level key \"<<\"; allowed keys: tenants, services, routes, alert_rules, notifiers, retention");
}

TEST_CASE("self-referencing aliases do not hang the loader", "[config][errors]") {
  const auto errors = errors_of("alert_rules: &loop [ *loop ]\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors.front().ends_with(": the document nests more than 64 levels deep"));
}

TEST_CASE("alias bombs are cut off", "[config][errors]") {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 7; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 0; j < 9; ++j) yaml += ", " + prev;
    yaml += "]\n";
  }
  const auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 1);
  CHECK(errors.front().ends_with(": the document expands (through aliases) into more than 1000000 nodes"));
}

TEST_CASE("errors come sorted by position, with file name", "[config][errors]") {
  const char* yaml =
      "routes:\n"
      "  - name: r\n"
      "    service: missing\n"
      "tenants:\n"
      "  - id: a\n"
      "    color: red\n";
  CHECK(errors_of(yaml) ==
        Strings{"t.yaml:3:14: routes[0].service: unknown service \"missing\"; no services are declared",
                "t.yaml:6:5: tenants[0]: unknown key \"color\"; allowed keys: id, labels, credentials, jwt, limits"});
  const auto result = tg::config::load_string(yaml, "/etc/tenantgate/gw.yaml");
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].location.file == "/etc/tenantgate/gw.yaml");
  CHECK(result.errors[0].location.line == 3);
  CHECK(result.errors[0].location.column == 14);
  CHECK_FALSE(result.config.has_value());
}
